# debforge: two entry points on a fresh machine.
#   make build  - install what building needs, then `debforge build all` into out/
#   make test   - install what the tests need, then run the unit, integration,
#                 acceptance and booted-host tests
# Both install their Debian dependencies with apt-get when run as root.

GO      ?= go
BIN     := bin/debforge
OUT     ?= out
# make test writes the seconds of each phase here (make test-times prints them).
TIMES   ?= $(OUT)/test-times.txt
# and the whole output of integration, acceptance and host-test here; a
# failed phase's failures are printed again at the end, beside the times.
TEST_LOGS ?= $(OUT)/test-logs
# Components to leave out, e.g. EXCEPT=slirp4netns on a host without GitHub.
EXCEPT  ?=
APT_GET := DEBIAN_FRONTEND=noninteractive apt-get
SHELL   := /bin/bash

BUILD_TOOLS := ca-certificates git gcc make dpkg-dev xz-utils bubblewrap mmdebstrap debootstrap uidmap util-linux
TEST_TOOLS  := $(BUILD_TOOLS) systemd lintian debootstrap shellcheck apt-utils autoconf automake uidmap piuparts \
               libseccomp-dev pkg-config tar chromium devscripts qemu-user-static file arch-test docker-registry gnupg
# Booted guests for make host-test: QEMU (software emulation), images from
# Debian's packages, ssh into them.
HOST_TOOLS  := qemu-system-x86 qemu-utils mmdebstrap openssh-client e2fsprogs
# As root, debforge runs every build as this system user (its own, not the
# shared nobody); the debforge package creates it the same way.
BUILD_USER  := _debforge-build

.PHONY: all build test test-times bench-quick unit integration acceptance host-test bench lint deps-build deps-test deps-host build-user clean

all: build

$(BIN): $(shell find cmd internal postinst -name '*.go' -o -name '*.tmpl') go.mod go.sum
	$(GO) build -trimpath -buildvcs=false -o $(BIN) ./cmd/debforge

# Build every spec and publish the signed repository into $(OUT)/repo.
build: deps-build $(BIN)
	$(BIN) --out $(OUT) build all $(if $(EXCEPT),--except $(EXCEPT))

# The booted guests (make host-test) run beside integration and acceptance:
# QEMU's emulation keeps one core busy and mostly waits on the guest, the
# tests use the other, and only side by side do both fit CI's 90 minutes
# (see docs/testing.md). Host-test lines are prefixed [hosts]; both
# halves run to their end, and make test fails if either failed.
test:
	@rm -f $(TIMES); mkdir -p $(dir $(TIMES)) $(TEST_LOGS); \
	phase() { local name=$$1 s=$$(date +%s) rc; shift; "$$@"; rc=$$?; echo "$$name $$(( $$(date +%s) - s )) $$rc" >> $(TIMES); return $$rc; }; \
	logged() { local log=$(TEST_LOGS)/$$1.log; shift; "$$@" 2>&1 | tee $$log; return $${PIPESTATUS[0]}; }; \
	start=$$(date +%s); \
	phase deps $(MAKE) --no-print-directory deps-test deps-host && \
	phase lint $(MAKE) --no-print-directory lint && \
	phase unit $(MAKE) --no-print-directory unit && \
	phase bench-quick $(MAKE) --no-print-directory bench-quick || { $(MAKE) --no-print-directory test-times; exit 1; }; \
	( phase host-test logged host-test $(MAKE) --no-print-directory host-test | sed -u 's/^/[hosts] /'; exit $${PIPESTATUS[0]} ) & hosts=$$!; \
	phase integration logged integration $(MAKE) --no-print-directory integration; irc=$$?; \
	phase acceptance logged acceptance $(MAKE) --no-print-directory acceptance; arc=$$?; \
	wait $$hosts; hrc=$$?; \
	echo "total $$(( $$(date +%s) - start )) 0" >> $(TIMES); \
	for p in integration:$$irc acceptance:$$arc host-test:$$hrc; do \
	  [ "$${p#*:}" = 0 ] || { echo "== $${p%:*} failed; its failures (whole log: $(TEST_LOGS)/$${p%:*}.log):"; \
	    grep -n -B 30 -A 15 -e '--- FAIL' -e '^panic:' $(TEST_LOGS)/$${p%:*}.log | tail -n 150; }; \
	done; \
	$(MAKE) --no-print-directory test-times; \
	echo "make test: integration exit $$irc, acceptance exit $$arc, host-test exit $$hrc"; \
	[ $$irc = 0 ] && [ $$arc = 0 ] && [ $$hrc = 0 ]

# Where make test's time went: one line per phase (host-test ran beside
# integration and acceptance, so the total is less than the sum).
test-times:
	@printf '%-12s %8s  %s\n' phase seconds exit; \
	while read -r name secs rc; do printf '%-12s %8s  %s\n' "$$name" "$$secs" "$$rc"; done < $(TIMES)

lint:
	@test -z "$$(gofmt -l $$(git ls-files '*.go'))" || { echo "gofmt needed:"; gofmt -l $$(git ls-files '*.go'); exit 1; }
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(GO) vet -tags hosts ./...
	$(GO) vet -tags stack ./...
	$(GO) mod tidy -diff

unit:
	$(GO) test -race -count=1 ./...

# Integration tests run the real tools and fail (not skip) when one is missing.
# Cold, beside the booted guests, its e2e package took 35 minutes (2,088 s).
# Files tests keep (e.g. the front page screenshot) go to $(OUT)/test-artifacts.
integration:
	mkdir -p $(OUT)/test-artifacts
	DEBFORGE_REQUIRE_TOOLS=1 $(GO) test -tags integration -count=1 -timeout 60m -artifacts -outputdir $(abspath $(OUT))/test-artifacts ./...

# The real stack from specs/: build (shared cache with make build), check
# versions and lintian, install into bookworm roots, replace Debian's packages.
# The timeout only stops a hung test: on a machine without cached build
# roots, beside the booted guests, acceptance took 74 minutes (4,431 s).
acceptance:
	DEBFORGE_REQUIRE_TOOLS=1 $(GO) test -tags stack -count=1 -timeout 120m -v ./internal/e2e/ 2>&1 | grep -v '^        \(Get\|Hit\|Ign\|Reading\|Fetched\|Selecting\|Preparing\|Unpacking\|Setting up\)'; exit $${PIPESTATUS[0]}

# Booted bookworm and trixie machines (systemd, QEMU TCG, one CPU each,
# one flow at a time; part of make test): the README's host and user steps
# over ssh, limits, reboot.
# Images are cached in /var/cache/debforge-test/vm; the stack build shares
# the default cache with make build and make acceptance.
# -parallel 3: the parallel tests start together (go test runs only
# GOMAXPROCS, two here, side by side otherwise).
host-test: deps-test deps-host
	DEBFORGE_REQUIRE_TOOLS=1 $(GO) test -tags hosts -count=1 -parallel 3 -timeout 120m -v ./internal/hosts/

bench: deps-test
	$(GO) run ./cmd/bench

# A quick slice of make bench that make test runs, so the benchmark
# program keeps working: the packaging figure alone (no stack build).
bench-quick: deps-test
	$(GO) run ./cmd/bench packaging

deps-build: build-user
	@missing=$$(for p in $(BUILD_TOOLS); do dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -q '^installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(APT_GET) update && $(APT_GET) install -y --no-install-recommends $$missing; \
	  else echo "missing: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; fi

deps-test: build-user
	@missing=$$(for p in $(TEST_TOOLS); do dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -q '^installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(APT_GET) update && $(APT_GET) install -y --no-install-recommends $$missing; \
	  else echo "missing: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; fi

deps-host:
	@missing=$$(for p in $(HOST_TOOLS); do dpkg-query -W -f='$${db:Status-Status}' $$p 2>/dev/null | grep -q '^installed$$' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ]; then $(APT_GET) update && $(APT_GET) install -y --no-install-recommends $$missing; \
	  else echo "missing: $$missing (run: sudo apt-get install $$missing)"; exit 1; fi; fi

build-user:
	@if [ "$$(id -u)" = 0 ] && ! getent passwd $(BUILD_USER) >/dev/null; then \
	  useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin $(BUILD_USER); fi

clean:
	rm -rf bin $(OUT)
