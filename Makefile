# gopresence: `make` builds build/modules/{presence.so,libgopresence.so};
# `make run` starts Kamailio with kamailio-cfg/kamailio.cfg on 127.0.0.1:5060;
# `make test` runs the Go tests, the C wire test and the SIPp integration tests (on SQLite, then
# what runs on MariaDB: `make test-mysql`).
SHELL := /bin/bash
export PATH := /usr/local/go/bin:$(PATH)
export CGO_ENABLED := 1

BUILD    := $(CURDIR)/build
MODDIR   := $(BUILD)/modules
KSRC     := $(BUILD)/src/kamailio
STOCKMOD := /usr/lib/x86_64-linux-gnu/kamailio/modules
RUNDIR   := $(BUILD)/run
# the system SQLite, so the engine process holds one copy next to db_sqlite's
GOTAGS   := libsqlite3
GOFILES  := $(shell find gopresence db cgo -name '*.go' -not -name '*_test.go' 2>/dev/null) go.mod go.sum
CFILES   := $(wildcard module/*.c module/*.h module/*.def) module/Makefile

.PHONY: all deps build testmodules run test test-go test-c test-integration test-mysql fuzz mutate clean

all: build

# the engine's shared helpers (internal/safego) are in the library too
GOFILES  += $(shell find internal -name '*.go' -not -name '*_test.go' 2>/dev/null)

deps: $(BUILD)/.deps
$(BUILD)/.deps: scripts/deps.sh
	bash scripts/deps.sh
	go mod download
	@touch $@

build: $(MODDIR)/presence.so $(MODDIR)/libgopresence.so

$(MODDIR)/libgopresence.so: $(BUILD)/.deps $(GOFILES)
	@mkdir -p $(MODDIR)
	go build -buildmode=c-shared -tags $(GOTAGS) -trimpath -o $@ ./cgo
	@rm -f $(MODDIR)/libgopresence.h

# presence.so is compiled inside Debian's kamailio source tree (configured by scripts/deps.sh
# with `make cfg prefix=/usr FLAVOUR=kamailio`) so its version and flags match the binary.
$(MODDIR)/presence.so: $(BUILD)/.deps $(CFILES)
	@mkdir -p $(MODDIR) $(KSRC)/src/modules/gopresence
	rm -f $(KSRC)/src/modules/gopresence/*.[cho] $(KSRC)/src/modules/gopresence/*.so
	cp module/*.c module/*.h module/*.def module/Makefile $(KSRC)/src/modules/gopresence/
	$(MAKE) -C $(KSRC) modules modules=src/modules/gopresence CC_EXTRA_OPTS=-Wno-unused-parameter
	cp $(KSRC)/src/modules/gopresence/presence.so $@

# Test-only Kamailio modules (tests/apitest: bind_presence's API called from a script), built
# like presence.so but into build/testmodules: never installed, never in build/modules.
TESTMODDIR := $(BUILD)/testmodules
testmodules: $(TESTMODDIR)/presence_apitest.so

$(TESTMODDIR)/presence_apitest.so: $(BUILD)/.deps tests/apitest/presence_apitest.c tests/apitest/Makefile
	@mkdir -p $(TESTMODDIR) $(KSRC)/src/modules/presence_apitest
	cp tests/apitest/presence_apitest.c tests/apitest/Makefile $(KSRC)/src/modules/presence_apitest/
	$(MAKE) -C $(KSRC) modules modules=src/modules/presence_apitest CC_EXTRA_OPTS=-Wno-unused-parameter
	cp $(KSRC)/src/modules/presence_apitest/presence_apitest.so $@

run: build
	@mkdir -p $(RUNDIR)
	kamailio -f kamailio-cfg/kamailio.cfg -DD -E -m 256 -L $(MODDIR):$(STOCKMOD) \
		-Y $(RUNDIR) -w $(RUNDIR) -P $(RUNDIR)/kamailio.pid \
		-A 'DBURL="sqlite://$(RUNDIR)/presence.db"' -A 'CTLSOCK="unix:$(RUNDIR)/kamailio_ctl"'

test: build test-go test-c test-integration test-mysql

# The engine and the pure-Go storage also without cgo: gopresence/ must not need SQLite (its
# tests run on db/memdb; db/sqlite tests only with cgo). db/mysql is test-mysql's.
NOTMYSQL = $(shell go list ./... | grep -v /db/mysql)
PUREGO   = $(shell go list ./gopresence/... ./db/... ./internal/... | grep -v /db/mysql)

test-go: $(BUILD)/.deps
	go vet -tags $(GOTAGS) ./...
	go test -tags $(GOTAGS) -count=1 $(NOTMYSQL)
	CGO_ENABLED=0 go test -count=1 $(PUREGO)

test-c: $(BUILD)/.deps
	@mkdir -p $(BUILD)
	gcc -Wall -Wextra -Werror -fsanitize=address,undefined -DWIRE_TEST_HEAP -o $(BUILD)/wire_test \
		module/test/wire_test.c module/wire.c module/answer.c
	$(BUILD)/wire_test gopresence/wire/testdata
	gcc -Wall -Wextra -Werror -fsanitize=address,undefined -o $(BUILD)/params_test \
		module/test/params_test.c module/params_policy.c
	$(BUILD)/params_test

test-integration: build testmodules
	GOPRESENCE_DBS=sqlite GOPRESENCE_MODULE_DIR=$(MODDIR) GOPRESENCE_TESTMODULE_DIR=$(TESTMODDIR) go test -tags integration -count=1 -v -timeout 20m ./tests/integration/

# MySQL/MariaDB: the backend's tests and the shared storage suite (pure Go, no cgo) on a private
# MariaDB, then the integration tests that run on MariaDB (ours and stock side by side, the
# outage, rls + pua); each test binary starts its own server (tests/harness/mariadb.go).
# GOPRESENCE_MYSQL_REQUIRED=1: a missing MariaDB fails instead of skipping.
test-mysql: build testmodules
	GOPRESENCE_MYSQL_REQUIRED=1 CGO_ENABLED=0 go test -count=1 ./db/mysql/
	GOPRESENCE_DBS=mysql GOPRESENCE_MYSQL_REQUIRED=1 GOPRESENCE_MODULE_DIR=$(MODDIR) GOPRESENCE_TESTMODULE_DIR=$(TESTMODDIR) \
		go test -tags integration -count=1 -v -timeout 20m ./tests/integration/

# FUZZTIME=10m make fuzz: every fuzz target in turn
FUZZTIME ?= 30s
fuzz: $(BUILD)/.deps
	@for pkg in $$(go list ./gopresence/... ./db/...); do \
	  for t in $$(go test -list 'Fuzz.*' $$pkg | grep ^Fuzz); do \
	    echo "== $$pkg $$t"; go test -tags $(GOTAGS) -run XXX -fuzz "^$$t$$" -fuzztime $(FUZZTIME) -timeout 0 $$pkg || exit 1; \
	  done; done

# mutation testing (not part of `make test`: it runs the suites once per mutant)
mutate: build
	scripts/mutate/run

clean:
	rm -rf $(MODDIR) $(TESTMODDIR) $(BUILD)/wire_test $(BUILD)/params_test

# `make bench`: the same SIPp load against Kamailio with the stock presence module and with ours,
# one table (also written to docs/performance.md). BENCH_QUICK=1 make bench: a short run.
.PHONY: bench
bench: build
	scripts/bench/run
