# Keystore Lab. `make run` starts the local endpoint; `make test` runs every test.

ADDR   ?= 127.0.0.1:8080
ENGINE ?= native
SEED   ?=
STATE  ?= .keystorelab/state.json
SPEED  ?=
FUZZTIME ?= 10s

GO       ?= go
WASM     := build/engine.wasm
WASMENV  := GOOS=wasip1 GOARCH=wasm
SITE     := dist
SHIM     := web/node_modules/@bjorn3/browser_wasi_shim/dist

.PHONY: run wasm npm site worker worker-assets worker-dev test test-go fuzz check deps bench clean

## run: build the site, then serve it and the local endpoint on $(ADDR) (ENGINE=wasm runs the engine inside engine.wasm)
run: site
	$(GO) run ./web/cmd/keystorelab -addr $(ADDR) -engine $(ENGINE) -wasm $(WASM) -site $(SITE) \
		-state '$(STATE)' $(if $(SPEED),-clock-speed $(SPEED)) $(if $(SEED),-seed $(SEED))

## wasm: build engine.wasm (the wasip1 reactor) and print its size
wasm:
	@mkdir -p build
	$(WASMENV) $(GO) build -buildmode=c-shared -trimpath -ldflags='-s -w' -o $(WASM) ./wasm
	@raw=$$(wc -c < $(WASM)); gz=$$(gzip -9 -c $(WASM) | wc -c); \
		zst=$$(command -v zstd >/dev/null && zstd -19 -q -c $(WASM) | wc -c || echo "?"); \
		echo "$(WASM): $$raw bytes raw, $$gz bytes gzip -9, $$zst bytes zstd -19"

## npm: install web/'s pinned npm packages (the WASI shim, playwright-core) when web/node_modules is missing or stale
npm: web/node_modules

web/node_modules: web/package.json web/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20 or newer"; exit 1; }
	cd web && npm ci --no-audit --no-fund
	@touch $@

## site: build the browser playground into $(SITE)/ (pages, static files, the WASI shim, engine.wasm and engine.wasm.gz)
site: wasm npm
	$(GO) tool templ generate
	$(GO) run ./site/cmd/build -o $(SITE) -wasm $(WASM) -static web/static -shim $(SHIM)
	@# Precompressed siblings the server sends to browsers that accept them: zstd -19 takes
	@# a fifth off engine.wasm against gzip -9 (skipped where the zstd command is missing).
	@find $(SITE) -type f \( -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' \) -exec gzip -9 -k -f -n {} \;
	@if command -v zstd >/dev/null; then \
		find $(SITE) -type f \( -name '*.wasm' -o -name '*.html' -o -name '*.js' -o -name '*.css' -o -name '*.svg' \) \
			-exec zstd -19 -q -f {} -o {}.zst \; ; \
		echo "$(SITE)/engine.wasm.zst: $$(wc -c < $(SITE)/engine.wasm.zst) bytes"; \
	else echo "zstd not installed: serving gzip only (make deps installs it)"; fi

# The Cloudflare Worker (web/worker): wrangler from web/node_modules, offline (no metrics, error
# reports or Request.cf fetch).
WORKER_PORT  ?= 8787
WORKER_STATE ?= .keystorelab/wrangler
WRANGLER := WRANGLER_SEND_METRICS=false WRANGLER_SEND_ERROR_REPORTS=false CLOUDFLARE_CF_FETCH_ENABLED=false \
	$(CURDIR)/web/node_modules/.bin/wrangler

## worker: build the Cloudflare Worker (the site as static assets, engine.wasm) and bundle it into build/worker/bundle, without deploying
worker: worker-assets
	cd web/worker && $(WRANGLER) deploy --dry-run --outdir $(CURDIR)/build/worker/bundle
	@ls -l build/worker/bundle

# worker-assets: dist/ without its .gz and .zst siblings (Cloudflare compresses by itself)
worker-assets: site
	rm -rf build/worker/assets
	mkdir -p build/worker && cp -R $(SITE) build/worker/assets
	find build/worker/assets \( -name '*.gz' -o -name '*.zst' \) -delete

## worker-dev: run the Worker locally under wrangler dev on 127.0.0.1:$(WORKER_PORT), offline; sandboxes are kept in $(WORKER_STATE)
worker-dev: worker-assets
	cd web/worker && $(WRANGLER) dev --ip 127.0.0.1 --port $(WORKER_PORT) --persist-to $(CURDIR)/$(WORKER_STATE)

## test: everything CI runs
test: deps check site test-go fuzz

## deps: install what the tests need and the machine lacks: the AWS CLI, curl, openssl, Chromium (Debian packages), and web/'s npm packages
DEBS := $(if $(shell command -v aws),,awscli) $(if $(shell command -v curl),,curl) $(if $(shell command -v openssl),,openssl) \
	$(if $(shell command -v zstd),,zstd) \
	$(if $(wildcard /usr/bin/chromium),,chromium)
deps: npm
	@if [ -n "$(strip $(DEBS))" ]; then echo "installing $(strip $(DEBS))"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(DEBS) >/dev/null; fi
	@aws --version

# TEMPL_STATE is git's view of the generated templ files plus their contents; generating must not
# change it. In a clean checkout git status stays empty, so every generated file is committed and
# up to date; in a working tree with uncommitted ones, regenerating must leave them as they are.
TEMPL_STATE := git status --porcelain -- '*_templ.go'; git ls-files -co --exclude-standard -- '*_templ.go' | xargs -r sha256sum

## check: formatting, vet, a tidy go.mod, and committed templ output that regenerates unchanged
check:
	@test -z "$$(gofmt -l engine hsmsim wasm web tests site)" || { gofmt -l engine hsmsim wasm web tests site; echo "gofmt needed"; exit 1; }
	@before="$$($(TEMPL_STATE))"; $(GO) tool templ generate || exit 1; \
		test "$$before" = "$$($(TEMPL_STATE))" || { git status --porcelain -- '*_templ.go'; \
		echo "go tool templ generate changed the generated files: run it and commit them"; exit 1; }
	$(GO) vet ./...
	$(WASMENV) $(GO) vet ./wasm/...
	$(GO) mod verify >/dev/null

test-go:
	KEYSTORELAB_WASM=$(CURDIR)/$(WASM) KEYSTORELAB_DIST=$(CURDIR)/$(SITE) KEYSTORELAB_REQUIRE_TOOLS=1 $(GO) test -count=1 ./...

## fuzz: run the Handle, Decrypt and XKS proxy fuzzers briefly (FUZZTIME=1m for longer)
fuzz:
	$(GO) test ./engine -run '^$$' -fuzz '^FuzzHandle$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine -run '^$$' -fuzz '^FuzzDecrypt$$' -fuzztime $(FUZZTIME)
	$(GO) test ./engine -run '^$$' -fuzz '^FuzzSnapshot$$' -fuzztime $(FUZZTIME)
	$(GO) test ./hsmsim/xks -run '^$$' -fuzz '^FuzzServe$$' -fuzztime $(FUZZTIME)

## bench: benchmarks of the engine natively and inside engine.wasm under wazero, the site's first visit in Chromium, then the hosted sandbox's requests under wrangler dev
bench: site worker-assets
	KEYSTORELAB_WASM=$(CURDIR)/$(WASM) $(GO) test ./tests -run '^$$' -bench . -benchmem -count 3
	$(GO) build -o build/keystorelab ./web/cmd/keystorelab
	KEYSTORELAB_SERVER=$(CURDIR)/build/keystorelab KEYSTORELAB_SITE=$(CURDIR)/$(SITE) node web/e2e/measure.mjs
	node web/worker/measure.mjs

clean:
	rm -rf build dist .keystorelab tests/output
