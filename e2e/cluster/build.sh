#!/usr/bin/env bash
# build.sh builds and caches every binary the local e2e cluster runs: kube-apiserver,
# kube-controller-manager, kube-scheduler, etcd and kwok from the tools module hack/tools
# (one module, so they share one build of their common dependencies; k8s.io/kubernetes's
# staging modules are replaced there by their v0.X.Y releases), metrics-server and
# prometheus-adapter each from a module of its own (they are built on older k8s.io modules).
# Binaries land in $EBB_CACHE/bin/<key>/, where <key> is a hash of hack/tools/go.mod (comments
# aside) and go.sum: a second run with the same versions does nothing. prometheus-adapter has its own
# key directory (bin/prometheus-adapter-<version>/), as has metrics-server; both are
# hard-linked into <key>/.
# kubectl is built only when asked for (`build.sh kubectl`: deploy-apply-check).
# Debian's prometheus is installed with apt-get when /usr/bin/prometheus is missing.
# Runs of build.sh take turns (flock), so a background run (`build.sh all &`, the
# Makefile's prefetch) and a foreground one build each binary once.
set -euo pipefail

ADAPTER_VERSION=${ADAPTER_VERSION:-v0.12.0}
METRICS_SERVER_VERSION=${METRICS_SERVER_VERSION:-v0.8.0}
K8S_VERSION=v1.36.3 # the tools module's k8s.io/kubernetes (version strings of its binaries)

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
tools="$root/hack/tools"
cache=${EBB_CACHE:-$root/.cache/e2e}
key="tools-$(grep -hv '^[[:space:]]*//' "$tools/go.mod" "$tools/go.sum" | sha256sum | cut -c1-12)"
bin="$cache/bin/$key"
export GOFLAGS=-buildvcs=false

log() { printf '[build %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
timed() { local name=$1; shift; local s=$SECONDS; "$@"; log "$name built in $((SECONDS - s))s"; }

grep -q "^\s*k8s.io/kubernetes $K8S_VERSION " "$tools/go.mod" ||
  { echo "build.sh: K8S_VERSION=$K8S_VERSION is not hack/tools/go.mod's k8s.io/kubernetes" >&2; exit 1; }

# build_tool name pkg: go build pkg of the tools module into $bin/name.
build_tool() {
  local name=$1 pkg=$2 ld="-s -w"
  [ -x "$bin/$name" ] && return
  case $pkg in
    k8s.io/kubernetes/*)
      local minor=${K8S_VERSION#v1.}
      ld="$ld -X k8s.io/component-base/version.gitVersion=$K8S_VERSION -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor%%.*} -X k8s.io/client-go/pkg/version.gitVersion=$K8S_VERSION" ;;
  esac
  timed "$name" bash -c "cd '$tools' && go build -trimpath -ldflags '$ld' -o '$bin/$name.tmp' '$pkg' && mv '$bin/$name.tmp' '$bin/$name'"
}

# build_separate name module version pkg: a program built in a module of its own (its own
# k8s.io versions: it does not build against the tools module's), cached in its own key
# directory bin/<name>-<version>/ and linked into $bin. A consumer module, as the proxy
# serves these versions but no version list, which `go install pkg@version` asks for.
build_separate() {
  local name=$1 module=$2 version=$3 pkg=$4
  local dir="$cache/bin/$name-$version"
  if [ ! -x "$dir/$name" ]; then
    local mod="$cache/mod/$name-$version"
    mkdir -p "$dir" "$mod"
    if [ ! -f "$mod/.ok" ]; then
      printf 'module ebb.local/e2e-%s\n\ngo 1.26\n\nrequire %s %s\n' "$name" "$module" "$version" >"$mod/go.mod"
      printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$mod/tools.go"
      (cd "$mod" && go mod tidy >/dev/null)
      touch "$mod/.ok"
    fi
    timed "$name" bash -c "cd '$mod' && go build -trimpath -ldflags '-s -w' -o '$dir/$name.tmp' '$pkg' && mv '$dir/$name.tmp' '$dir/$name'"
  fi
  [ "$dir/$name" -ef "$bin/$name" ] ||
    ln -f "$dir/$name" "$bin/$name" 2>/dev/null ||
    cp -f "$dir/$name" "$bin/$name"
}

# prometheus-adapter v0.12.0 is built on k8s.io v0.30; metrics-server v0.8.0 on v0.33 (built on
# v0.36 its OpenAPI models do not match: it panics at start; v0.9.0, built on v0.36, is served
# but not an approved release).
build_adapter() { build_separate prometheus-adapter sigs.k8s.io/prometheus-adapter "$ADAPTER_VERSION" sigs.k8s.io/prometheus-adapter/cmd/adapter; }
build_metrics_server() { build_separate metrics-server sigs.k8s.io/metrics-server "$METRICS_SERVER_VERSION" sigs.k8s.io/metrics-server/cmd/metrics-server; }

install_prometheus() {
  [ -x /usr/bin/prometheus ] && [ -x /usr/bin/promtool ] && return
  log "installing Debian's prometheus (apt-get)"
  if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
  $SUDO apt-get update -qq
  # the package's postinst may try to start the service; policy-rc.d denies it where present.
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends prometheus >/dev/null
}

# lock: builds take turns (a background `build.sh all` and a foreground one).
lock() { mkdir -p "$bin"; exec 9>"$cache/bin/.build.lock"; flock 9; }

case "${1:-all}" in
  prometheus) install_prometheus ;;
  adapter) lock; build_adapter ;;
  kubectl) lock; build_tool kubectl k8s.io/kubernetes/cmd/kubectl; echo "$bin/kubectl" ;;
  path) echo "$bin" ;;
  all)
    lock
    start=$SECONDS
    install_prometheus
    build_tool kube-apiserver k8s.io/kubernetes/cmd/kube-apiserver
    build_tool kube-controller-manager k8s.io/kubernetes/cmd/kube-controller-manager
    build_tool kube-scheduler k8s.io/kubernetes/cmd/kube-scheduler
    build_tool etcd go.etcd.io/etcd/server/v3
    build_tool kwok sigs.k8s.io/kwok/cmd/kwok
    build_metrics_server
    build_adapter
    log "all binaries ready in $bin ($((SECONDS - start))s)"
    echo "$bin"
    ;;
  *) echo "usage: $0 [all|prometheus|adapter|kubectl|path]" >&2; exit 2 ;;
esac
