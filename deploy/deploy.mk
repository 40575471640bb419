# deploy/deploy.mk — included by the top-level Makefile (owned by deploy/).
#
# deploy-test: dashboard + manifest tests (deploy/tools), image tests
# (deploy/image), helm lint, helm template and kustomize build; the rendered
# manifests land in $(DEPLOY_OUT) for the e2e suite to apply.
# image: dist/ebb-image.tar, an OCI image built offline (no Docker daemon).

# helm and kustomize come from the tools module hack/tools (their versions are
# its go.mod's), built there beside the cluster's components on the same
# k8s.io modules (v0.36.3), so a cold build compiles those once.
TOOLS_MOD         := $(CURDIR)/hack/tools
HELM_VERSION      := $(shell awk '$$1 == "helm.sh/helm/v3" && $$2 ~ /^v/ {print $$2}' $(TOOLS_MOD)/go.mod)
HELM_K8S_MINOR    ?= 36# helm template and lint assume Kubernetes 1.36, the cluster's
KUSTOMIZE_VERSION := $(shell awk '$$1 == "sigs.k8s.io/kustomize/kustomize/v5" && $$2 ~ /^v/ {print $$2}' $(TOOLS_MOD)/go.mod)
DEPLOY_TOOLS      ?= $(CURDIR)/.cache/tools
DEPLOY_OUT        ?= $(CURDIR)/.cache/deploy
DEPLOY_NAMESPACE  ?= e2e
HELM              := $(DEPLOY_TOOLS)/helm-$(HELM_VERSION)/helm
KUSTOMIZE         := $(DEPLOY_TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
IMAGE_TAR         ?= $(CURDIR)/dist/ebb-image.tar
IMAGE_REF         ?= ghcr.io/ebb-autoscaler/ebb:$(VERSION)

.PHONY: deploy-test deploy-render deploy-go-test deploy-apply-check helm kustomize image

test: deploy-test

## helm: build helm $(HELM_VERSION) (hack/tools) into $(DEPLOY_TOOLS)
helm: $(HELM)
$(HELM):
	@mkdir -p $(@D)
	@s=$$(date +%s); cd $(TOOLS_MOD) && $(GO) build -trimpath -o $(abspath $@) \
	  -ldflags '-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)' \
	  helm.sh/helm/v3/cmd/helm && echo "helm $(HELM_VERSION) built in $$(( $$(date +%s) - s ))s"

## kustomize: build kustomize $(KUSTOMIZE_VERSION) (hack/tools; the one in kubectl v1.36) into $(DEPLOY_TOOLS)
kustomize: $(KUSTOMIZE)
$(KUSTOMIZE):
	@mkdir -p $(@D)
	@s=$$(date +%s); cd $(TOOLS_MOD) && $(GO) build -trimpath -ldflags '-s -w' -o $(abspath $@) \
	  sigs.k8s.io/kustomize/kustomize/v5 && echo "kustomize $(KUSTOMIZE_VERSION) built in $$(( $$(date +%s) - s ))s"

## deploy-render: kustomize build + helm lint/template into $(DEPLOY_OUT)
deploy-render: $(HELM) $(KUSTOMIZE)
	@mkdir -p $(DEPLOY_OUT)
	$(KUSTOMIZE) build deploy/kustomize > $(DEPLOY_OUT)/kustomize.yaml
	$(KUSTOMIZE) build deploy/overlays/monitoring > $(DEPLOY_OUT)/kustomize-monitoring.yaml
	$(KUSTOMIZE) build deploy/overlays/read-only > $(DEPLOY_OUT)/kustomize-readonly.yaml
	$(HELM) lint --strict deploy/helm/ebb
	$(HELM) lint --strict deploy/helm/ebb --set serviceMonitor.enabled=true,podMonitor.enabled=true,dashboards.enabled=true,prometheus.url= --set-json 'rbac.extraRules=[{"apiGroups":["argoproj.io"],"resources":["rollouts/scale"],"verbs":["get","update","patch"]}]'
	@for bad in replicaCount=0 replicaCount=two image.pullPolicy=Sometimes prometheus.timeout=10 metrics.port=70000 'policy.targets[0].mode=apply' readOnly=yes; do \
	  if $(HELM) template ebb deploy/helm/ebb --set "$$bad" >/dev/null 2>&1; then \
	    echo "deploy/helm/ebb/values.schema.json accepts $$bad"; exit 1; fi; \
	done; echo "helm: values.schema.json rejects 7 bad values"
	$(HELM) template ebb deploy/helm/ebb --namespace $(DEPLOY_NAMESPACE) --set dashboards.enabled=true > $(DEPLOY_OUT)/helm.yaml
	$(HELM) template ebb deploy/helm/ebb --namespace $(DEPLOY_NAMESPACE) --set dashboards.enabled=true,serviceMonitor.enabled=true,podMonitor.enabled=true > $(DEPLOY_OUT)/helm-monitoring.yaml
	$(HELM) lint --strict deploy/helm/ebb --set readOnly=true
	$(HELM) template ebb deploy/helm/ebb --namespace $(DEPLOY_NAMESPACE) --set readOnly=true > $(DEPLOY_OUT)/helm-readonly.yaml

## deploy-go-test: the Go tests of deploy/tools (dashboards, rendered manifests) and deploy/image
deploy-go-test: deploy-render
	cd deploy/tools && DEPLOY_OUT=$(DEPLOY_OUT) $(GO) test -count=1 ./...
	cd deploy/image && $(GO) test -count=1 ./...

deploy-test: deploy-go-test
	@echo "deploy-test: ok (rendered manifests in $(DEPLOY_OUT))"

## deploy-apply-check: start a local API server (e2e/cluster) and apply the
## rendered kustomize base and Helm chart as a namespace admin (not in `make
## test`: the e2e suite applies them too; this is the standalone check)
deploy-apply-check: deploy-render cluster-binaries
	deploy/apply-check.sh "$$(e2e/cluster/build.sh kubectl)" $(HELM) $(DEPLOY_OUT)/kustomize.yaml deploy/helm/ebb $(CURDIR)/.cache/deploy-apply

## image: an OCI image tarball of a static ebb at $(IMAGE_TAR), built offline
image:
	@mkdir -p $(dir $(IMAGE_TAR)) $(CURDIR)/.cache/image
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(CURDIR)/.cache/image/ebb ./cmd/ebb
	cd deploy/image && $(GO) run . -binary $(CURDIR)/.cache/image/ebb -out $(IMAGE_TAR) -ref $(IMAGE_REF) -version $(VERSION)
