# gitops-autoscaler — make targets a newcomer can guess.
GO       ?= go
BIN      := bin/gitops-autoscaler
PKGS     := ./...
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
SOAK_DURATION ?= 10m  # make soak: how long each run's person pushes and the metrics flip
FUZZTIME ?=  # empty: each target's count of executions in integration/fuzz.sh; or e.g. 60s

.PHONY: all build test unit integration fuzz race lint bench soak bench-traces traces test-corpus test-cluster cluster demo demo-live deps clean

all: build

build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN) ./cmd/gitops-autoscaler

## deps installs what the tests need on a fresh Debian machine (prometheus, promtool).
deps:
	@./integration/install-deps.sh

## test is what CI runs: lint, unit and component tests, a short fuzz of what users write, the
## end-to-end tests against a real Prometheus and a real Git server, the cluster tier (a real
## kube-apiserver, Flux and Argo CD take our commits to spec.replicas), and serve under concurrent
## traffic with the race detector.
test: deps lint cluster
	$(GO) test -count=1 -timeout 20m $(PKGS)
	$(MAKE) race
	$(MAKE) fuzz

## race runs serve in-process under concurrent webhook, status-page, evaluation and scheduled
## traffic with the race detector (about 10s once built; RACE_TRAFFIC=30s for a longer run).
race:
	$(GO) test -race -count=1 -timeout 15m -run '^TestServeUnderConcurrentTrafficIsRaceFree$$' ./cmd/gitops-autoscaler

## cluster builds the cluster tier's binaries (kube-apiserver v1.34.4, Flux's source and
## kustomize controllers v1.9.5, notification-controller v1.9.0, helm-controller v1.6.4,
## kube-state-metrics v2.16.0, Argo CD v3.2.11 and the helm v3.18.4 its repo server runs, pinned
## in internal/testserver/cluster/build) into cache folders named after their versions; a cold
## build takes minutes, a warm one nothing.
cluster:
	$(GO) run ./internal/testserver/cluster/prebuild

## test-cluster runs the cluster tier alone (docs/design.md §9, "The sync, for real").
test-cluster: deps cluster
	$(GO) test -count=1 -timeout 20m -run '^Test(Flux|ArgoCD)' ./integration/

fuzz:
	@./integration/fuzz.sh $(FUZZTIME)

lint:
	$(GO) vet $(PKGS)
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

bench: deps cluster
	$(GO) test -run '^$$' -bench . -benchmem -count=1 -timeout 60m $(PKGS)

## soak runs serve over 2,000 policies (@every 10s, one in ten changing every minute) against
## the real Git server while a person pushes every 2 s, then every 1 s, SOAK_DURATION each
## (default 10m; SOAK_DURATION=1m for a short run), and prints the table of docs/benchmarks.md
## ("A busy repository"). It fails on a lost commit of the person's, a decision landed twice,
## or git fsck. The short form (1 minute each) is part of make bench.
soak:
	GITOPS_AUTOSCALER_SOAK_DURATION=$(SOAK_DURATION) $(GO) test ./integration/ -run '^$$' -bench '^BenchmarkSoak$$' -benchtime 1x -timeout 90m -v

## test-corpus verifies an edit of each chart of a corpus of public charts in DIR, fetched from
## their upstream repositories (docs/render-verification.md); not part of make test.
test-corpus:
	@test -n "$(DIR)" || { echo "usage: make test-corpus DIR=<directory of the public charts> (docs/render-verification.md)"; exit 2; }
	$(GO) test -tags corpus -count=1 ./render/ -run '^TestCorpus(Remote)?$$' -corpus "$(abspath $(DIR))" -v

## traces converts the corpus of real public traces (docs/traces.md) into $$TRACES_DIR, else the
## user cache directory, and checks every file against examples/traces/SHA256SUMS.
traces:
	$(GO) run ./examples/traces/corpus

## bench-traces prints the table of docs/benchmarks.md alone: the HPA's defaults, Steady and the
## optimum on every trace of the corpus, held-out half first (make traces first).
bench-traces:
	$(GO) test ./examples/traces/ -run '^$$' -bench '^BenchmarkTraces$$' -benchtime 1x

demo: build
	@./examples/demo.sh

demo-live: build
	@./examples/demo-live.sh

clean:
	rm -rf bin
