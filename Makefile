# ebb — make targets. Every install step lives here or in the scripts it calls,
# so a fresh Linux machine with Go (and apt, as root) needs nothing else.
GO      ?= go
BIN     ?= $(CURDIR)/bin
# -trimpath everywhere (tests too): the tests, ebb's build and the tools'
# builds then share one compile of each dependency in the build cache.
export GOFLAGS ?= -buildvcs=false -trimpath
export EBB_CACHE ?= $(CURDIR)/.cache/e2e

VERSION ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS := -s -w -X main.version=$(VERSION)

.PHONY: all build test unit vpabench-test bench check fuzz prometheus chromium docs-screenshot clean

all: build

## build: the ebb binary in bin/
build:
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/ebb ./cmd/ebb

## test: every test — unit tests with fuzz seeds, the real-Prometheus integration test,
## the VPA comparison, then (fragments below) deploy/ checks and the e2e suite. The
## cluster's binaries start building in the background first (e2e.mk's
## cluster-prefetch), so on a cold machine their build overlaps the tests before e2e.
test: cluster-prefetch unit vpabench-test

## unit: go test ./... (fuzz targets run their seed corpus); the Prometheus
## integration test runs against Debian's prometheus and the HTML report's
## browser test against Debian's chromium, both installed when missing.
unit: prometheus chromium
	EBB_REQUIRE_PROMETHEUS=1 EBB_REQUIRE_CHROMIUM=1 $(GO) test -count=1 ./...

## prometheus: Debian's prometheus binary for the integration and e2e tests
prometheus:
	@e2e/cluster/build.sh prometheus

## chromium: Debian's chromium for the HTML report's browser tests
chromium:
	@hack/chromium.sh

## docs-screenshot: regenerate docs/report.png, the README's picture of the
## HTML report (six simulated hours of three targets, opened in chromium)
docs-screenshot: chromium
	EBB_REQUIRE_CHROMIUM=1 $(GO) test -count=1 -run 'TestHTMLInBrowser/status' ./autoscaler/report \
	  -args -docs-screenshot $(CURDIR)/docs/report.png

## vpabench-test: ebb's vertical recommender against the VPA's on the same samples
## (hack/vpabench is a separate module so ebb's go.mod stays small)
vpabench-test:
	cd hack/vpabench && $(GO) test -count=1 ./...

## bench: every benchmark with allocations, and the VPA comparison
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...
	cd hack/vpabench && $(GO) test -run '^$$' -bench . -benchmem ./...

## fuzz: run each fuzz target for FUZZTIME (default 30s)
FUZZTIME ?= 30s
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

## check: vet, gofmt, and the recommender purity rules
check:
	$(GO) vet ./...
	cd hack/vpabench && $(GO) vet ./...
	@out=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$out" ]; then echo "gofmt -l reports:"; echo "$$out"; exit 1; fi
	@deps=$$($(GO) list -deps ./recommender/... | grep -E '^k8s\.io/|prometheus' || true); \
	  if [ -n "$$deps" ]; then echo "recommender/ must import only the standard library, found:"; echo "$$deps"; exit 1; fi
	@if grep -rnE --include='*.go' 'time\.(Now|Since|Until)\(' recommender/; then \
	  echo "recommender/ must not read the clock (time.Now/Since/Until above)"; exit 1; fi
	@deps=$$($(GO) list -deps ./autoscaler/policy | grep -E '^github\.com/ebb-autoscaler/ebb/autoscaler(/vertical|/checkpoint)?$$|^k8s\.io/client-go/(kubernetes|scale|dynamic|discovery|informers|listers|tools/record)(/|$$)' || true); \
	  if [ -n "$$deps" ]; then echo "autoscaler/policy must stay a leaf (ebb validate links no actuator or API client), found:"; echo "$$deps"; exit 1; fi
	@echo "check: ok"

clean:
	rm -rf $(BIN)

# Fragments owned by their folders add targets and `test:` prerequisites
# (run after the unit tests, in include order).
-include deploy/deploy.mk
-include e2e/e2e.mk
