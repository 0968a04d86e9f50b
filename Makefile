# Keystore Lab. `make run` starts the local endpoint; `make test` runs every test.

ADDR   ?= 127.0.0.1:8080
ENGINE ?= native
SEED   ?=
STATE  ?= .keystorelab/state.json
SPEED  ?=
FUZZTIME ?= 15s

GO       ?= go
WASM     := build/engine.wasm
WASMENV  := GOOS=wasip1 GOARCH=wasm

.PHONY: run wasm test test-go fuzz check deps bench clean

## run: start the local endpoint on $(ADDR) (ENGINE=wasm runs the engine inside engine.wasm)
run: $(if $(filter wasm,$(ENGINE)),wasm)
	$(GO) run ./web/cmd/keystorelab -addr $(ADDR) -engine $(ENGINE) -wasm $(WASM) \
		-state '$(STATE)' $(if $(SPEED),-clock-speed $(SPEED)) $(if $(SEED),-seed $(SEED))

## wasm: build engine.wasm (the wasip1 reactor) and print its size
wasm:
	@mkdir -p build
	$(WASMENV) $(GO) build -buildmode=c-shared -trimpath -o $(WASM) ./wasm
	@raw=$$(wc -c < $(WASM)); gz=$$(gzip -9 -c $(WASM) | wc -c); \
		echo "$(WASM): $$raw bytes raw, $$gz bytes gzip -9"

## test: everything CI runs
test: deps check wasm test-go fuzz

## deps: install what the tests need and the machine lacks: the AWS CLI, curl, openssl (Debian packages)
DEBS := $(if $(shell command -v aws),,awscli) $(if $(shell command -v curl),,curl) $(if $(shell command -v openssl),,openssl)
deps:
	@if [ -n "$(strip $(DEBS))" ]; then echo "installing $(strip $(DEBS))"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) >/dev/null; fi
	@aws --version

## check: formatting, vet, and a tidy go.mod
check:
	@test -z "$$(gofmt -l engine hsmsim wasm web tests)" || { gofmt -l engine hsmsim wasm web tests; echo "gofmt needed"; exit 1; }
	$(GO) vet ./...
	$(WASMENV) $(GO) vet ./wasm/...
	$(GO) mod verify >/dev/null

test-go:
	KEYSTORELAB_WASM=$(CURDIR)/$(WASM) KEYSTORELAB_REQUIRE_TOOLS=1 $(GO) test -count=1 ./...

## fuzz: run the Handle fuzzer briefly (FUZZTIME=1m for longer)
fuzz:
	$(GO) test ./engine -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME)

## bench: benchmarks of the engine natively and inside engine.wasm under wazero
bench: wasm
	KEYSTORELAB_WASM=$(CURDIR)/$(WASM) $(GO) test ./tests -run '^$$' -bench . -benchmem -count 3

clean:
	rm -rf build dist .keystorelab
