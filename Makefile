# mutualis — build, generate, test. `make test` is the whole test suite; it builds what it needs.
SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

BIN := $(CURDIR)/bin
CONTROLLER_GEN := $(BIN)/controller-gen
KWOKCTL := $(BIN)/kwokctl
DEV_CLUSTER ?= mutualis-dev
DEV_KUBECONFIG ?= $(CURDIR)/.kube/$(DEV_CLUSTER).yaml
export GOTOOLCHAIN := local
# the one version of everything (binaries, image, chart, plugin release), from the VERSION file
VERSION := $(shell cat VERSION)
LDFLAGS := -X github.com/crtpl/mutualis/cmd/internal/build.version=v$(VERSION)
export KUBEBUILDER_ASSETS := $(BIN)
# install and run talk to $$KUBECONFIG when set, else to the local cluster of make dev-cluster.
export KUBECONFIG ?= $(DEV_KUBECONFIG)

.PHONY: all
all: build

.PHONY: tools
tools: ## Build the toolchain into bin/ (cached per version; see docs/development.md for a cold build's time)
	@hack/tools.sh

.PHONY: generate
generate: tools ## Generate deepcopy functions
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: tools ## Generate CRDs and RBAC into config/, and the chart's CRDs and ClusterRoles from them
	$(CONTROLLER_GEN) crd:generateEmbeddedObjectMeta=true paths=./api/... output:crd:artifacts:config=config/crd/bases
	$(CONTROLLER_GEN) rbac:roleName=mutualis-manager paths=./controllers/... output:rbac:artifacts:config=config/rbac/generated
	hack/chart.sh
	hack/version.sh

.PHONY: build
build: generate ## Build the operator and the kubectl plugin (bin/manager, bin/kubectl-mutualis)
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/manager ./cmd/manager
	go build -ldflags "$(LDFLAGS)" -o $(BIN)/kubectl-mutualis ./cmd/kubectl-mutualis

.PHONY: image
image: ## The operator's image (linux/amd64, linux/arm64) as an OCI layout in dist/image, no container engine needed
	go run ./hack/release image -out dist/image

.PHONY: run-image
run-image: image ## Install the chart on the local cluster with the built image, and run the operator it holds as the chart's ServiceAccount
	hack/run-image.sh up $(DEV_KUBECONFIG)

.PHONY: release
release: ## The plugin's archives, SHA256SUMS and krew manifest in dist/plugin
	go run ./hack/release plugin -out dist/plugin

.PHONY: lint
lint: ## gofmt and go vet
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi
	go vet ./...

.PHONY: verify
verify: generate manifests ## Regenerate and fail when generated files differ from git
	@git diff --exit-code -- api config charts test/chart || { echo "generated files are out of date: run make generate manifests and commit"; exit 1; }
	@test -z "$$(git status --porcelain -- api config charts test/chart)" || { git status --porcelain -- api config charts test/chart; echo "untracked generated files"; exit 1; }

.PHONY: test
test: tools verify lint test-rules test-unit test-fuzz test-integration test-e2e ## Every test layer

.PHONY: test-rules
test-rules: tools ## The alerts of config/prometheus, checked and tested by Prometheus's promtool
	$(BIN)/promtool check rules config/prometheus/rules.yaml
	cd config/prometheus && $(BIN)/promtool test rules rules_test.yaml

.PHONY: test-unit
test-unit: ## Unit tests (no control plane), with the race detector (cgo: gcc is on every machine)
	CGO_ENABLED=1 go test -race -timeout 20m $$(go list ./... | grep -v -E '/controllers$$|/test/e2e$$')

# Every fuzz target of the project, package:function; test-unit runs their seed corpora, test-fuzz
# lets each explore for FUZZTIME (found inputs land in testdata/fuzz, to be committed with the fix).
# The budget is a count of executions, not a duration: Go 1.26's fuzz coordinator can fail a target
# that found nothing when a -fuzztime deadline races a worker's last call (go.dev/issue/75804,
# fixed in Go 1.27); a count has no deadline to race. 5000 runs take 2 to 5 s per target here.
FUZZ_TARGETS := ./api/validation:FuzzNIS ./api/validation:FuzzEnterpriseNumber ./api/validation:FuzzDomainsOverlap \
	./api/registry:FuzzRegistryLookup ./controllers/render:FuzzBaseChecks ./controllers/render:FuzzRenderParameters
FUZZTIME ?= 5000x

.PHONY: test-fuzz
test-fuzz: ## Run each fuzz target briefly (FUZZTIME executions, default 5000x)
	@for target in $(FUZZ_TARGETS); do \
	  pkg=$${target%%:*}; fn=$${target##*:}; \
	  echo "fuzzing $$fn in $$pkg for $(FUZZTIME)"; \
	  go test $$pkg -run '^$$' -fuzz "^$$fn$$" -fuzztime $(FUZZTIME) || exit 1; \
	done

.PHONY: test-integration
test-integration: tools ## envtest: a real kube-apiserver and etcd from bin/
	go test ./controllers/ -count=1 -timeout 15m

.PHONY: test-e2e
test-e2e: tools ## End to end on a local kwok cluster with kube-controller-manager
	go test ./test/e2e/... -count=1 -timeout 20m -v

.PHONY: dev-cluster
dev-cluster: tools ## Start the local control plane (kwokctl, binary runtime, 3 simulated nodes)
	hack/dev-cluster.sh up $(DEV_CLUSTER) $(DEV_KUBECONFIG)
	@echo "export KUBECONFIG=$(DEV_KUBECONFIG)"

.PHONY: dev-cluster-down
dev-cluster-down: ## Delete the local control plane
	hack/dev-cluster.sh down $(DEV_CLUSTER) $(DEV_KUBECONFIG)

.PHONY: install
install: manifests ## Install the CRDs, the tenant ClusterRoles and the admission policies into the current cluster
	$(BIN)/kubectl apply --server-side -k config/crd
	$(BIN)/kubectl apply --server-side -f config/rbac/tenant-roles.yaml
	$(BIN)/kubectl apply --server-side -k config/admission
	$(BIN)/kubectl wait --for=condition=Established crd --all --timeout=60s >/dev/null

# The demo: every current commune of the registry and its CPAS, with their applications, on a
# local cluster of their own; the operator runs in the background until make demo-down.
DEMO_CLUSTER ?= mutualis-demo
DEMO_KUBECONFIG ?= $(CURDIR)/.kube/$(DEMO_CLUSTER).yaml

.PHONY: demo
demo: tools generate ## Every Walloon commune and its CPAS onboarded on a local cluster, followed until Ready, then summed up
	go build -o $(BIN)/manager ./cmd/manager
	go build -o $(BIN)/kubectl-mutualis ./cmd/kubectl-mutualis
	go run ./hack/demo up -cluster $(DEMO_CLUSTER) -kubeconfig $(DEMO_KUBECONFIG)

.PHONY: demo-down
demo-down: ## Stop the demo's operator and delete its cluster
	go run ./hack/demo down -cluster $(DEMO_CLUSTER) -kubeconfig $(DEMO_KUBECONFIG)

.PHONY: run
run: generate ## Run the operator against the current kubeconfig
	go run ./cmd/manager --leader-elect=false

# The scale benchmark (DESIGN.md section 8), out of make test: the 522 tenants of the registry,
# then BENCH_SYNTHETIC synthetic ones (their memory per tenant held against the first run's). The
# figures land in .bench/ as JSON and Markdown; docs/benchmarks.md records a run. The synthetic run
# goes on when the registry's misses a target (not when it broke). make fails on either (make
# itself exits 2 whenever a recipe fails), so the bench's own code, never a pipe's or go run's, is
# written to .bench/exit-code and named on the last line: 0 every target met, 1 a target missed,
# 2 a run broke; bin/bench exits with it directly. The
# shipped pod's memory limit (160Mi) is sized for the registry: at thousands of tenants a
# cell raises it (docs/operator-guide.md), so the synthetic run has none (BENCH_SYNTHETIC_FLAGS).
BENCH_SYNTHETIC ?= 5000
BENCH_SYNTHETIC_FLAGS ?= -operator-memory-limit none
BENCH_FLAGS ?=

.PHONY: bench
bench: tools ## The scale benchmark: 522 registry tenants, then BENCH_SYNTHETIC synthetic ones; exit 1 when a target is missed, 2 when a run broke
	@mkdir -p .bench
	go build -o $(BIN)/bench ./test/bench
	@status=0; \
	$(BIN)/bench -tenants registry -json .bench/registry.json $(BENCH_FLAGS) > .bench/registry.md || status=$$?; \
	cat .bench/registry.md; \
	if [ "$(BENCH_SYNTHETIC)" != "0" ] && [ $$status -le 1 ]; then \
	  s=0; $(BIN)/bench -tenants $(BENCH_SYNTHETIC) -json .bench/synthetic.json -baseline .bench/registry.json -timeout 120m $(BENCH_SYNTHETIC_FLAGS) $(BENCH_FLAGS) > .bench/synthetic.md || s=$$?; \
	  cat .bench/synthetic.md; [ $$s -gt $$status ] && status=$$s; \
	fi; \
	echo $$status > .bench/exit-code; \
	case $$status in 0) echo "bench: every target met";; 1) echo "bench: a target is missed (bench exit 1, in .bench/exit-code)";; *) echo "bench: a run broke (bench exit $$status, in .bench/exit-code)";; esac; \
	exit $$status
