# duewise build, test and demo. `make run` and `make test` install what is
# missing on a fresh Debian machine (Go modules; npm via apt, then libchdb via npm;
# clickhouse-server via apt) before they do anything else.

SHELL        := /bin/bash
GO           ?= go
BIN          := bin/duewise
CHDB_VERSION := 26.5.3
CHDB_DIR     := third_party/chdb
CHDB_LIB     := $(CHDB_DIR)/libchdb.so
REDOCLY_VERSION := 1.34.20
REDOCLY_DIR  := third_party/redocly
REDOCLY      := $(REDOCLY_DIR)/node_modules/.bin/redocly
PROMTOOL_DIR := third_party/prometheus
PROMTOOL     := $(PROMTOOL_DIR)/usr/bin/promtool
DEMO_DIR     := .duewise/demo
DEMO_STORE   := .duewise/store
GOTESTFLAGS  ?= -count=1 -timeout 30m
# What `duewise version` and duewise_build_info report (SOURCE_DATE_EPOCH,
# when set, fixes the build date for reproducible builds).
VERSION      ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT       ?= $(shell git rev-parse HEAD 2>/dev/null)
BUILD_DATE   ?= $(shell date -u $${SOURCE_DATE_EPOCH:+-d @$$SOURCE_DATE_EPOCH} +%Y-%m-%dT%H:%M:%SZ)
LDFLAGS      := -X main.version=$(VERSION) -X main.commit=$(COMMIT) -X main.buildDate=$(BUILD_DATE)

export GOFLAGS := -mod=mod

.PHONY: all build deps chdb chromium notebooks promtool clickhouse-server redocly run test test-race fuzz vet bench clean install

all: build

## deps: install everything the build and the tests need.
deps: chdb clickhouse-server redocly chromium promtool notebooks
	$(GO) mod download

## redocly: the pinned OpenAPI linter (@redocly/cli from npm) in third_party/redocly.
redocly: $(REDOCLY)
$(REDOCLY):
	@command -v npm >/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	npm install --silent --no-audit --no-fund --prefix $(REDOCLY_DIR) @redocly/cli@$(REDOCLY_VERSION)
	$(REDOCLY) --version

## chdb: fetch libchdb.so (embedded ClickHouse) from npm when it is missing.
chdb: $(CHDB_LIB)
$(CHDB_LIB):
	@command -v npm >/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq npm >/dev/null; }
	mkdir -p $(CHDB_DIR)/.dl
	cd $(CHDB_DIR)/.dl && npm pack --silent @chdb/lib-linux-x64-gnu@$(CHDB_VERSION) >/dev/null
	tar -xzf $(CHDB_DIR)/.dl/chdb-lib-linux-x64-gnu-$(CHDB_VERSION).tgz -C $(CHDB_DIR)/.dl package/libchdb.so
	mv $(CHDB_DIR)/.dl/package/libchdb.so $(CHDB_LIB)
	rm -rf $(CHDB_DIR)/.dl

## clickhouse-server: install Debian's ClickHouse server (used by the tests).
clickhouse-server:
	@command -v clickhouse-server >/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq clickhouse-server clickhouse-client >/dev/null; }

## chromium: Debian's headless browser (the model report's browser test).
chromium:
	@command -v chromium >/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq chromium >/dev/null; }

## notebooks: what executes notebooks/ (Debian's jupyter-nbconvert, an
## IPython kernel, pandas, scikit-learn, matplotlib).
notebooks:
	@python3 -c 'import nbconvert, ipykernel, pandas, sklearn, matplotlib' 2>/dev/null || { \
		export DEBIAN_FRONTEND=noninteractive; \
		apt-get update -qq && apt-get install -y -qq jupyter-nbconvert python3-ipykernel python3-pandas python3-sklearn python3-matplotlib >/dev/null; }

## promtool: Prometheus's rule checker, for deploy/prometheus: taken out of
## Debian's prometheus package into third_party/prometheus (the package is
## not installed, so that no Prometheus server starts).
promtool: $(PROMTOOL)
$(PROMTOOL):
	mkdir -p $(PROMTOOL_DIR)/.dl
	cd $(PROMTOOL_DIR)/.dl && apt-get download prometheus >/dev/null 2>&1 || { apt-get update -qq && apt-get download prometheus; }
	dpkg-deb -x $(PROMTOOL_DIR)/.dl/prometheus_*.deb $(PROMTOOL_DIR)
	rm -rf $(PROMTOOL_DIR)/.dl
	$(PROMTOOL) --version

## build: the duewise binary in bin/ (finds libchdb in third_party/chdb).
build: $(CHDB_LIB)
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN) ./cmd/duewise

vet:
	gofmt -l . | grep -v '^third_party/' | (! grep .) || { echo "gofmt needed on the files above"; exit 1; }
	$(GO) vet ./...

## test: every test, against embedded chDB and a real ClickHouse server,
## and the concurrent parts again under the race detector.
test: deps vet test-race
	DUEWISE_REDOCLY=$(abspath $(REDOCLY)) DUEWISE_PROMTOOL=$(abspath $(PROMTOOL)) scripts/test.sh $(GOTESTFLAGS) ./...
	scripts/fuzz.sh

## fuzz: every fuzz target for FUZZTIME each (default 5s; seeds in testdata/fuzz).
fuzz:
	scripts/fuzz.sh

## test-race: the plain-Go scorer and the registry under the race detector.
test-race:
	scripts/test.sh -race -count=1 ./model/...

## run: demo world -> store -> features -> models -> API on 127.0.0.1:8080.
run: deps build
	scripts/demo.sh

## bench: the Go benchmarks (see docs/benchmarks.md for the full set).
bench: deps build
	scripts/test.sh -run '^$$' -bench . -benchmem ./...

## install: bin/duewise into $(PREFIX)/bin, libchdb.so into $(PREFIX)/lib/duewise.
PREFIX ?= /usr/local
install: build
	install -D -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/duewise
	install -D -m 0644 $(CHDB_LIB) $(DESTDIR)$(PREFIX)/lib/duewise/libchdb.so

clean:
	rm -rf bin .duewise
