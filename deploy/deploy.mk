# deploy/deploy.mk — included by the top-level Makefile (owned by deploy/).
#
# deploy-test: dashboard + manifest tests (deploy/tools), image tests
# (deploy/image), helm lint, helm template and kustomize build; the rendered
# manifests land in $(DEPLOY_OUT) for the e2e suite to apply.
# image: dist/ebb-image.tar, an OCI image built offline (no Docker daemon).

HELM_VERSION      ?= v3.22.0
HELM_K8S_MINOR    ?= 37# helm v3.22 is built on client-go v0.37: helm template assumes Kubernetes 1.37
KUSTOMIZE_VERSION ?= v5.8.1
DEPLOY_TOOLS      ?= $(CURDIR)/.cache/tools
DEPLOY_OUT        ?= $(CURDIR)/.cache/deploy
DEPLOY_NAMESPACE  ?= e2e
HELM              := $(DEPLOY_TOOLS)/helm-$(HELM_VERSION)/helm
KUSTOMIZE         := $(DEPLOY_TOOLS)/kustomize-$(KUSTOMIZE_VERSION)/kustomize
IMAGE_TAR         ?= $(CURDIR)/dist/ebb-image.tar
IMAGE_REF         ?= ghcr.io/ebb-autoscaler/ebb:$(VERSION)

.PHONY: deploy-test deploy-render deploy-go-test deploy-apply-check helm kustomize image

test: deploy-test

## helm: build helm $(HELM_VERSION) from the module proxy into $(DEPLOY_TOOLS)
helm: $(HELM)
$(HELM):
	@mkdir -p $(@D)
	@s=$$(date +%s); GOBIN=$(@D) $(GO) install -trimpath \
	  -ldflags '-s -w -X helm.sh/helm/v3/internal/version.version=$(HELM_VERSION) -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$(HELM_K8S_MINOR) -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=1 -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$(HELM_K8S_MINOR)' \
	  helm.sh/helm/v3/cmd/helm@$(HELM_VERSION) && echo "helm $(HELM_VERSION) built in $$(( $$(date +%s) - s ))s"

## kustomize: build kustomize $(KUSTOMIZE_VERSION) (the one in kubectl v1.36) into $(DEPLOY_TOOLS)
kustomize: $(KUSTOMIZE)
$(KUSTOMIZE):
	@mkdir -p $(@D)
	@s=$$(date +%s); GOBIN=$(@D) $(GO) install -trimpath -ldflags '-s -w' \
	  sigs.k8s.io/kustomize/kustomize/v5@$(KUSTOMIZE_VERSION) && echo "kustomize $(KUSTOMIZE_VERSION) built in $$(( $$(date +%s) - s ))s"

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
	deploy/apply-check.sh "$$(e2e/cluster/build.sh path)/kubectl" $(HELM) $(DEPLOY_OUT)/kustomize.yaml deploy/helm/ebb $(CURDIR)/.cache/deploy-apply

## image: an OCI image tarball of a static ebb at $(IMAGE_TAR), built offline
image:
	@mkdir -p $(dir $(IMAGE_TAR)) $(CURDIR)/.cache/image
	CGO_ENABLED=0 GOOS=linux GOARCH=amd64 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(CURDIR)/.cache/image/ebb ./cmd/ebb
	cd deploy/image && $(GO) run . -binary $(CURDIR)/.cache/image/ebb -out $(IMAGE_TAR) -ref $(IMAGE_REF) -version $(VERSION)
