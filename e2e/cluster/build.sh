#!/usr/bin/env bash
# build.sh builds and caches every binary the local e2e cluster runs:
# kube-apiserver, kube-controller-manager, kube-scheduler, kubectl (k8s.io/kubernetes,
# consumed through a helper module that replaces each staging module with its v0.X.Y
# release), etcd, kwok, metrics-server and prometheus-adapter. Binaries land in
# $EBB_CACHE/bin/<key>/, where <key> names every version; a second run with the same
# versions does nothing. prometheus-adapter has its own key directory
# (bin/prometheus-adapter-<version>/, so adding or bumping it rebuilds nothing else) and is
# hard-linked into <key>/ beside the others.
# Debian's prometheus is installed with apt-get when /usr/bin/prometheus is missing.
set -euo pipefail

K8S_VERSION=${K8S_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.7}
KWOK_VERSION=${KWOK_VERSION:-v0.8.0}
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.9.0}
ADAPTER_VERSION=${ADAPTER_VERSION:-v0.12.0}

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
cache=${EBB_CACHE:-$root/.cache/e2e}
key="k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}_ms-${METRICS_SERVER_VERSION}"
bin="$cache/bin/$key"
mkdir -p "$bin"
export GOFLAGS=-buildvcs=false

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timed() { local name=$1; shift; local s=$SECONDS; "$@"; log "$name built in $((SECONDS - s))s"; }

staging_minor=${K8S_VERSION#v1.}            # 36.3
staging="v0.${staging_minor}"               # v0.36.3

build_kube() {
  local mod="$cache/mod/kubernetes-$K8S_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/go.sum" ] || [ ! -f "$mod/.ok" ]; then
    go mod download -json "k8s.io/kubernetes@$K8S_VERSION" >/dev/null
    local kdir
    kdir=$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
    {
      echo "module ebb.local/e2e-kube"
      echo
      echo "go 1.26"
      echo
      echo "require k8s.io/kubernetes $K8S_VERSION"
      echo
      echo "replace ("
      grep -E '^\s*k8s.io/[a-z0-9-]+ => ./staging/' "$kdir/go.mod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
      echo ")"
    } >"$mod/go.mod"
    cat >"$mod/tools.go" <<'GO'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
GO
    (cd "$mod" && go mod tidy -e >/dev/null 2>&1 || true; cd "$mod" && go mod download all >/dev/null 2>&1 || true)
    touch "$mod/.ok"
  fi
  local ld="-s -w -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${staging_minor%%.*} -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION"
  for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
    [ -x "$bin/$c" ] && continue
    timed "$c" bash -c "cd '$mod' && go build -trimpath -ldflags '$ld' -o '$bin/$c.tmp' k8s.io/kubernetes/cmd/$c && mv '$bin/$c.tmp' '$bin/$c'"
  done
}

build_etcd() {
  [ -x "$bin/etcd" ] && return
  local mod="$cache/mod/etcd-$ETCD_VERSION"
  mkdir -p "$mod"
  if [ ! -f "$mod/.ok" ]; then
    printf 'module ebb.local/e2e-etcd\n\ngo 1.26\n\nrequire go.etcd.io/etcd/server/v3 %s\n' "$ETCD_VERSION" >"$mod/go.mod"
    printf '//go:build tools\n\npackage tools\n\nimport _ "go.etcd.io/etcd/server/v3"\n' >"$mod/tools.go"
    (cd "$mod" && go mod tidy >/dev/null)
    touch "$mod/.ok"
  fi
  timed etcd bash -c "cd '$mod' && go build -trimpath -ldflags '-s -w' -o '$bin/etcd.tmp' go.etcd.io/etcd/server/v3 && mv '$bin/etcd.tmp' '$bin/etcd'"
}

build_install() { # name pkg@version
  local name=$1 pkg=$2
  [ -x "$bin/$name" ] && return
  timed "$name" env GOBIN="$bin/.gobin-$name" go install -trimpath -ldflags '-s -w' "$pkg"
  mv "$bin/.gobin-$name/$name" "$bin/$name" && rmdir "$bin/.gobin-$name"
}

# build_adapter builds sigs.k8s.io/prometheus-adapter (cmd/adapter) into its own
# version-keyed directory and links it into $bin as prometheus-adapter. It uses its own
# k8s.io versions (no reuse of the Kubernetes build). A consumer module as for etcd: the
# proxy serves the version but no version list, which `go install pkg@version` asks for.
build_adapter() {
  local dir="$cache/bin/prometheus-adapter-$ADAPTER_VERSION"
  if [ ! -x "$dir/prometheus-adapter" ]; then
    local mod="$cache/mod/prometheus-adapter-$ADAPTER_VERSION"
    mkdir -p "$dir" "$mod"
    if [ ! -f "$mod/.ok" ]; then
      printf 'module ebb.local/e2e-adapter\n\ngo 1.26\n\nrequire sigs.k8s.io/prometheus-adapter %s\n' "$ADAPTER_VERSION" >"$mod/go.mod"
      printf '//go:build tools\n\npackage tools\n\nimport _ "sigs.k8s.io/prometheus-adapter/cmd/adapter"\n' >"$mod/tools.go"
      (cd "$mod" && go mod tidy >/dev/null)
      touch "$mod/.ok"
    fi
    timed prometheus-adapter bash -c "cd '$mod' && go build -trimpath -ldflags '-s -w' -o '$dir/prometheus-adapter.tmp' sigs.k8s.io/prometheus-adapter/cmd/adapter && mv '$dir/prometheus-adapter.tmp' '$dir/prometheus-adapter'"
  fi
  [ "$dir/prometheus-adapter" -ef "$bin/prometheus-adapter" ] ||
    ln -f "$dir/prometheus-adapter" "$bin/prometheus-adapter" 2>/dev/null ||
    cp -f "$dir/prometheus-adapter" "$bin/prometheus-adapter"
}

install_prometheus() {
  [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && return
  log "installing Debian's prometheus (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  # the package's postinst may try to start the service; policy-rc.d denies it where present.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

case "${1:-all}" in
  prometheus) install_prometheus ;;
  adapter) build_adapter ;;
  path) echo "$bin" ;;
  all)
    start=$SECONDS
    install_prometheus
    build_kube
    build_etcd
    build_install kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
    build_install metrics-server "sigs.k8s.io/metrics-server/cmd/metrics-server@$METRICS_SERVER_VERSION"
    build_adapter
    log "all binaries ready in $bin ($((SECONDS - start))s)"
    echo "$bin"
    ;;
  *) echo "usage: $0 [all|prometheus|adapter|path]" >&2; exit 2 ;;
esac
