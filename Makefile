# salesconnection-operator
#
# The two commands a newcomer needs: `make demo` and `make test`. Both do their own
# set-up on a machine with only Go: the test control plane (kube-apiserver, etcd, kubectl)
# is built from source through the Go module proxy the first time (about 5 minutes).

SHELL := /usr/bin/env bash -o pipefail
.SHELLFLAGS := -ec

IMG ?= salesconnection-operator:dev
CONTROLLER_GEN := go tool controller-gen
# Where hack/build-controlplane.sh puts kube-apiserver, etcd and kubectl.
CONTROLPLANE_DIR = $(shell ./hack/build-controlplane.sh --print-dir)
TEST_TIMEOUT ?= 20m

.PHONY: all
all: build

##@ General

.PHONY: help
help: ## Show the targets.
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n"} /^[a-zA-Z_-]+:.*?##/ { printf "  %-18s %s\n", $$1, $$2 } /^##@/ { printf "\n%s\n", substr($$0, 5) }' $(MAKEFILE_LIST)

##@ Development

.PHONY: generate
generate: ## Generate deepcopy code from the API types.
	$(CONTROLLER_GEN) object:headerFile=hack/boilerplate.go.txt paths=./api/...

.PHONY: manifests
manifests: ## Generate the CRD, RBAC, the chart's copies and docs/api-reference.md from kubebuilder markers.
	$(CONTROLLER_GEN) rbac:roleName=manager-role crd paths=./api/... paths=./controllers/... \
		output:crd:artifacts:config=config/crd/bases output:rbac:artifacts:config=config/rbac
	./hack/sync-chart.sh
	go run ./hack/gen-api-docs -crd config/crd/bases/sales.bcconnect.io_salesconnections.yaml -out docs/api-reference.md

.PHONY: verify-generated
verify-generated: ## Fail when committed generated files differ from what the markers produce.
	./hack/verify-generated.sh

.PHONY: fmt
fmt: ## Run gofmt.
	gofmt -w $$(git ls-files '*.go')

.PHONY: vet
vet: ## Run go vet.
	go vet ./...

.PHONY: helm
helm: ## Build helm from the Go module proxy into bin/helm (skipped when built).
	./hack/build-helm.sh

.PHONY: golangci-lint
golangci-lint: ## Build golangci-lint from the Go module proxy into bin/golangci-lint (skipped when built).
	./hack/build-golangci-lint.sh

.PHONY: lint
lint: golangci-lint ## Run golangci-lint (.golangci.yml) and fail on exported identifiers only tests use.
	"$$(./hack/build-golangci-lint.sh --print-path)" run ./...
	go run ./hack/test-only-exports

.PHONY: prometheus-rules
prometheus-rules: helm ## Check the alerts with Prometheus' parser against the registered metrics, and the monitoring manifests against the Prometheus Operator's types (module hack/prometheus-rules).
	go -C hack/prometheus-rules vet ./...
	go -C hack/prometheus-rules test -count=1 ./...

.PHONY: controlplane
controlplane: ## Build kube-apiserver, etcd and kubectl from source (skipped when built).
	./hack/build-controlplane.sh

.PHONY: test
test: verify-generated vet lint prometheus-rules controlplane helm build ## Run every test against a real kube-apiserver and etcd, then a small chaos run.
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" HELM="$$(./hack/build-helm.sh --print-path)" go test -count=1 -timeout $(TEST_TIMEOUT) ./...
	CHAOS_SCALE=small KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" go run ./hack/chaos

.PHONY: chaos
chaos: controlplane build ## Run the operator as deployed under combined faults and SIGKILLs (CHAOS_SCALE=full|small); prints one summary line (docs/reliability.md).
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" go run ./hack/chaos

# Time per fuzz target: `make fuzz FUZZTIME=10m` for a campaign.
FUZZTIME ?= 30s

.PHONY: fuzz
fuzz: ## Run every fuzz target in turn for FUZZTIME each (default 30s); stop at the first failure (hack/fuzz.sh).
	FUZZTIME="$(FUZZTIME)" ./hack/fuzz.sh

##@ Build

.PHONY: build
build: ## Build the manager binary into bin/.
	go build -trimpath -o bin/manager .

.PHONY: build-sim
build-sim: ## Build the Dataverse simulator into bin/.
	go build -trimpath -o bin/dataverse-sim ./cmd/dataverse-sim

##@ Run

.PHONY: demo
demo: controlplane build build-sim ## Run the operator locally against the simulator until a connection is Ready (DEMO_KEEP=1 keeps it running).
	go run ./hack/demo --manager bin/manager --sim bin/dataverse-sim --work-dir .demo

##@ Deploy

# The kubectl that deploy and undeploy use; `KUBECTL=kubectl make deploy` uses yours instead
# of building one.
KUBECTL ?= $(CONTROLPLANE_DIR)/kubectl

.PHONY: kubectl
kubectl: ## Build kubectl from source, unless KUBECTL names another (skipped when built).
	@if [ "$(KUBECTL)" = "$(CONTROLPLANE_DIR)/kubectl" ]; then ./hack/build-controlplane.sh kubectl; fi

.PHONY: docker-build
docker-build: ## Build the operator image (needs a Docker engine).
	docker build -t $(IMG) .

# What make deploy renders: config/default (cluster-wide) or config/namespaced, plus
# kustomize components such as config/components/egress-network-policy.
DEPLOY_BASE ?= config/default
DEPLOY_COMPONENTS ?=

.PHONY: deploy
deploy: manifests kubectl ## Install the CRD, RBAC and operator into the current kubectl context with image IMG (DEPLOY_BASE, DEPLOY_COMPONENTS).
	KUBECTL="$(KUBECTL)" ./hack/render-deploy.sh "$(IMG)" $(DEPLOY_BASE) $(DEPLOY_COMPONENTS) | $(KUBECTL) apply --server-side -f -

.PHONY: undeploy
undeploy: kubectl ## Remove what make deploy installed (SalesConnections first, so finalizers can run).
	-$(KUBECTL) delete salesconnections --all --all-namespaces --wait=true --timeout=5m
	KUBECTL="$(KUBECTL)" ./hack/render-deploy.sh "$(IMG)" $(DEPLOY_BASE) $(DEPLOY_COMPONENTS) | $(KUBECTL) delete --ignore-not-found -f -

##@ Benchmarks

.PHONY: bench
bench: controlplane build ## Measure the operator as deployed: time to Ready, requests, writes, memory; writes docs/benchmarks.md.
	KUBEBUILDER_ASSETS="$(CONTROLPLANE_DIR)" go run ./hack/bench $(BENCH_ARGS)
