# e2e/e2e.mk — the local cluster, the e2e suite and the demo (included by the
# top-level Makefile; owned by e2e/).
#
#   make cluster-binaries   build/cache kube-apiserver, kcm, scheduler, etcd, kwok,
#                           metrics-server, prometheus-adapter (keyed cache in $(EBB_CACHE)/bin)
#                           + Debian prometheus
#   make e2e                build ebb, start one cluster, run go test -tags e2e ./e2e/...
#   make demo               cluster up (or reuse), sample workload + load, ebb dry-run,
#                           `ebb report` every 5 s for DEMO_DURATION
#   make demo-down          stop everything the demo started (by PID)
#   make bench-cluster      ebb against kcm's HPA controller on BENCH_TARGETS Deployments
#                           (default 500, ~15 min on 2 cores; 2000 for the large run), tables into
#                           docs/performance.md (not part of make test)

EBB_CLUSTER   := $(BIN)/ebb-cluster
DEMO_DIR      ?= $(CURDIR)/e2e/.run/demo
DEMO_DURATION ?= 3m
E2E_TIMEOUT   ?= 40m
E2E_RUN       ?= .
E2E_PARALLEL  ?= 8

.PHONY: cluster-binaries cluster-prefetch e2e e2e-build ebb-cluster demo demo-down bench-cluster

# make test = unit tests (top-level Makefile), then the e2e suite.
test: e2e

## cluster-binaries: build and cache the e2e cluster's binaries (no-op when cached)
cluster-binaries:
	@e2e/cluster/build.sh >/dev/null

## cluster-prefetch: start `build.sh all` in the background (log: $(EBB_CACHE)/prefetch.log);
## cluster-binaries later waits for it (build.sh runs take turns) and finds the binaries built
cluster-prefetch: prometheus
	@mkdir -p $(EBB_CACHE); (e2e/cluster/build.sh all > $(EBB_CACHE)/prefetch.log 2>&1 &)

## ebb-cluster: the cluster/demo command in bin/
ebb-cluster:
	$(GO) build -o $(EBB_CLUSTER) ./e2e/cmd/ebb-cluster

## e2e-build: build ebb (as `make build` does) and record how long it took
e2e-build:
	@mkdir -p $(BIN); t0=$$(date +%s); \
	  $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ebb ./cmd/ebb || exit 1; \
	  echo $$(( $$(date +%s) - t0 )) > $(BIN)/.ebb-build-seconds

## e2e: build ebb, then run the e2e suite against one shared local cluster,
## E2E_PARALLEL tests at a time (e2e/doc.go).
## Clusters left by a killed run (e2e/.run/test-<pid> whose test process is gone)
## are stopped by PID afterwards; a concurrent run's cluster is left alone.
## (No $(MAKE) in the recipe, so `make -n e2e` stays a dry run. Only ./e2e, not
## ./e2e/...: go test buffers -v output when it tests several packages, and
## the subpackages' unit tests already run in `make unit`.)
e2e: cluster-binaries chromium ebb-cluster e2e-build
	@EBB_BIN=$(BIN)/ebb EBB_E2E_BUILD_SECONDS=$$(cat $(BIN)/.ebb-build-seconds 2>/dev/null) E2E_PARALLEL=$(E2E_PARALLEL) EBB_REQUIRE_CHROMIUM=1 \
	    $(GO) test -tags e2e -count=1 -timeout $(E2E_TIMEOUT) -run '$(E2E_RUN)' -v ./e2e; rc=$$?; \
	  for d in e2e/.run/test-*; do \
	    pid=$${d##*test-}; \
	    if [ -f "$$d/state.json" ] && ! kill -0 "$$pid" 2>/dev/null; then \
	      echo "e2e: stopping leftover cluster $$d"; $(EBB_CLUSTER) down --dir "$$d"; fi; \
	  done; exit $$rc

## demo: see ebb's recommendations move on a local cluster (Ctrl-C to stop early)
## The cluster is stopped at the end (also on Ctrl-C) unless DEMO_KEEP=1, which
## leaves it up for a look around (bin/ebb-cluster env --dir $(DEMO_DIR); make demo-down).
DEMO_KEEP ?= 0
demo: cluster-binaries prometheus ebb-cluster build
	@trap ':' INT TERM; \
	  $(EBB_CLUSTER) demo --dir $(DEMO_DIR) --ebb $(BIN)/ebb --duration $(DEMO_DURATION); rc=$$?; \
	  if [ "$(DEMO_KEEP)" = 1 ]; then echo "demo: cluster kept (DEMO_KEEP=1); make demo-down stops it"; \
	  else echo "demo: stopping the cluster"; $(EBB_CLUSTER) down --dir $(DEMO_DIR); fi; exit $$rc

## demo-down: stop the demo cluster and ebb, by the PIDs it recorded
demo-down: ebb-cluster
	$(EBB_CLUSTER) down --dir $(DEMO_DIR)

## bench-cluster: ebb against kube-controller-manager's HPA controller on the
## same BENCH_TARGETS Deployments of BENCH_PODS kwok pods, BENCH_PHASE each
## (e2e/bench); prints the tables and writes them to docs/performance.md
BENCH_TARGETS ?= 500
BENCH_PODS    ?= 10
BENCH_PHASE   ?= 4m
BENCH_ARGS    ?=
bench-cluster: cluster-binaries build
	$(GO) build -o $(BIN)/ebb-bench ./e2e/cmd/ebb-bench
	$(BIN)/ebb-bench --targets $(BENCH_TARGETS) --pods $(BENCH_PODS) --phase $(BENCH_PHASE) \
	  --bin-dir "$$(e2e/cluster/build.sh path)" --ebb $(BIN)/ebb --dir e2e/.run/bench $(BENCH_ARGS)
