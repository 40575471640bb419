#!/usr/bin/env bash
# apply-check.sh applies ebb's rendered kustomize base and Helm chart to a real
# local API server (e2e/cluster) as a *namespace admin*: a ServiceAccount bound
# in its namespace to the built-in `admin` ClusterRole, with no cluster-scoped
# right. The API server validates every object and RBAC's escalation check
# proves the namespace admin may grant ebb's Role. Two grants a stock cluster
# may lack are set up first, as documented in docs/install.md:
#   - system:aggregated-metrics-reader (metrics-server's manifests ship it;
#     it aggregates metrics.k8s.io read into `admin`)
#   - ebb:aggregated-custom-metrics-reader (docs/install.md: aggregates read
#     of custom.metrics.k8s.io and external.metrics.k8s.io into `admin`)
#   - pods/resize patch for the namespace admin (not in `admin` as of 1.36)
# Then it checks what ebb's ServiceAccount may and may not do. The cluster is
# started in its own directory and stopped on exit.
#
# usage: deploy/apply-check.sh <kubectl> <helm> <kustomize.yaml> <chart dir> <work dir>
set -euo pipefail

kubectl=$1 helm=$2 kustomized=$3 chart=$4 work=$5
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$work"
log() { printf '[apply-check %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }

go build -o "$work/ebb-cluster" "$root/e2e/cmd/ebb-cluster"
cluster="$work/cluster"
trap '"$work/ebb-cluster" down --dir "$cluster" >/dev/null 2>&1 || true' EXIT
s=$SECONDS
(cd "$root" && "$work/ebb-cluster" up --dir "$cluster" >/dev/null)
log "cluster up in $((SECONDS - s))s"
export KUBECONFIG="$cluster/admin.kubeconfig"
server=$("$kubectl" config view --minify -o jsonpath='{.clusters[0].cluster.server}')
ca=$("$kubectl" config view --minify --raw -o jsonpath='{.clusters[0].cluster.certificate-authority}')

"$kubectl" apply -f - >/dev/null <<'YAML'
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: system:aggregated-metrics-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-view: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
  - apiGroups: ["metrics.k8s.io"]
    resources: ["pods", "nodes"]
    verbs: ["get", "list", "watch"]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: ebb:aggregated-custom-metrics-reader
  labels:
    rbac.authorization.k8s.io/aggregate-to-view: "true"
    rbac.authorization.k8s.io/aggregate-to-edit: "true"
    rbac.authorization.k8s.io/aggregate-to-admin: "true"
rules:
  - apiGroups: ["custom.metrics.k8s.io", "external.metrics.k8s.io"]
    resources: ["*"]
    verbs: ["get", "list"]
YAML

# namespace_admin NS: prints a token of a namespace admin of NS.
namespace_admin() {
  local ns=$1
  "$kubectl" create namespace "$ns" >/dev/null
  "$kubectl" -n "$ns" create serviceaccount nsadmin >/dev/null
  "$kubectl" -n "$ns" create rolebinding nsadmin --clusterrole=admin --serviceaccount="$ns:nsadmin" >/dev/null
  "$kubectl" -n "$ns" create role pod-resizer --verb=patch --resource=pods/resize >/dev/null
  "$kubectl" -n "$ns" create rolebinding nsadmin-resize --role=pod-resizer --serviceaccount="$ns:nsadmin" >/dev/null
  "$kubectl" -n "$ns" create token nsadmin
}

# check NS FILE: apply FILE as NS's namespace admin, then check ebb's rights.
check() {
  local ns=$1 file=$2 token
  token=$(namespace_admin "$ns")
  local as_admin=("$kubectl" --kubeconfig=/dev/null --server="$server" --certificate-authority="$ca" --token="$token" -n "$ns")
  # RBAC's authorizer sees new bindings, and kube-controller-manager fills
  # the aggregated `admin` ClusterRole, asynchronously: wait for both
  local i
  for i in $(seq 150); do
    [ "$("${as_admin[@]}" auth can-i patch pods --subresource=resize || true)" = yes ] &&
      [ "$("${as_admin[@]}" auth can-i patch deployments.apps || true)" = yes ] &&
      [ "$("${as_admin[@]}" auth can-i list pods.metrics.k8s.io || true)" = yes ] &&
      [ "$("${as_admin[@]}" auth can-i list queue.external.metrics.k8s.io || true)" = yes ] && break
    sleep 0.2
  done
  log "namespace admin of $ns ready after $i polls"
  if [ "$("${as_admin[@]}" auth can-i create clusterroles || true)" != no ]; then
    log "FAIL: the namespace admin of $ns can create ClusterRoles"; return 1
  fi
  "${as_admin[@]}" apply --server-side --field-manager=apply-check -f "$file" >&2
  local sa="system:serviceaccount:$ns:ebb" want got
  while read -r want verb resource sub; do
    got=$("$kubectl" -n "$ns" auth can-i "$verb" "$resource" ${sub:+--subresource="$sub"} --as="$sa" || true)
    if [ "$got" != "$want" ]; then
      log "FAIL: $sa can-i $verb $resource ${sub:+(subresource $sub)} = $got, want $want"; return 1
    fi
  done <<'CASES'
yes list pods
yes patch deployments.apps scale
yes update statefulsets.apps scale
yes patch pods resize
no patch replicasets.apps
no delete deployments.apps scale
yes list pods.metrics.k8s.io
yes get pods.custom.metrics.k8s.io http_requests
yes list queue_depth.external.metrics.k8s.io
no create pods.custom.metrics.k8s.io http_requests
yes update leases.coordination.k8s.io
yes create events.events.k8s.io
yes watch horizontalpodautoscalers.autoscaling
yes create configmaps
no get secrets
no delete pods
no delete deployments.apps
no create roles.rbac.authorization.k8s.io
CASES
  "$kubectl" -n "$ns" rollout status deployment/ebb --timeout=60s >&2
  log "ok: $file applied by the namespace admin of $ns; ebb's rights as expected; 2 pods ready (kwok)"
}

check ebb-kustomize "$kustomized"
"$helm" template ebb "$chart" --namespace ebb-helm --set dashboards.enabled=true >"$work/helm-ebb-helm.yaml"
check ebb-helm "$work/helm-ebb-helm.yaml"
log "done in $((SECONDS - s))s"
