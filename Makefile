# s3gate — build, test, run, bench.
#
#   make            build bin/s3gate and bin/s3gate-admin (installs missing packages first)
#   make run        local demo: Ceph RGW + s3gate with the demo workspaces
#   make test       unit tests (plain and ASan/UBSan) and integration tests
#   make bench      benchmarks (bench/README.md)
#   make fuzz       libFuzzer targets for FUZZ_SECONDS each (default 60)
#   make test-long  every fuzz target for 10 minutes, then the hardening tests
#
# SANITIZE=1 builds into build-asan/ with AddressSanitizer and UBSan.

CC      ?= gcc
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
BUILD   ?= build-asan
SANFLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT      = -O1 -g
else
BUILD   ?= build
SANFLAGS =
OPT      = -O2 -g
endif
BIN     ?= $(if $(filter 1,$(SANITIZE)),$(BUILD)/bin,bin)

LLHTTP_SRC = /usr/share/llhttp
LLHTTP_INC = /usr/share/include/llhttp
# llhttp's generated C scans header names and values 16 bytes at a time
# when compiled for SSE4.2 (its paths under __SSE4_2__).  s3gate is built
# where it runs (make run, make test), so this follows the build machine's
# CPU; LLHTTP_SSE42=0 builds for any x86-64 (then `make clean` first).
LLHTTP_SSE42 ?= $(shell grep -qw sse4_2 /proc/cpuinfo 2>/dev/null && echo 1 || echo 0)
LLHTTP_ARCH  = $(if $(filter 1,$(LLHTTP_SSE42)),-msse4.2)

WARN    = -Wall -Wextra -Werror -Wshadow -Wpointer-arith -Wstrict-prototypes \
          -Wmissing-prototypes -Wno-unused-parameter -Wformat=2 -Wvla
CFLAGS  += -std=c17 -D_GNU_SOURCE $(OPT) $(WARN) $(SANFLAGS) -I. -I$(LLHTTP_INC) \
           -fstack-protector-strong -D_FORTIFY_SOURCE=2 -MMD -MP
LDFLAGS += $(SANFLAGS)
LDLIBS  = -levent -levent_openssl -lssl -lcrypto -ljansson -lhiredis -lyaml -lm -lpthread

# Debian packages: build, then the real parts the tests drive.
DEPS_BUILD = gcc make pkg-config libevent-dev libssl-dev libjansson-dev \
             libhiredis-dev libyaml-dev node-llhttp
DEPS_TEST  = redis-server stunnel4 ceph-mon ceph-osd radosgw ceph-common uuid-runtime \
             awscli rclone s3cmd python3-boto3 python3-yaml curl wget procps iproute2 openssl \
             clang libclang-rt-14-dev haproxy chromium
DEPS_BENCH = nginx wrk gnuplot-nox python3

PROXY_SRCS  = $(filter-out proxy/main.c,$(wildcard proxy/*.c))
POLICY_SRCS = $(filter-out policy/admin_main.c,$(wildcard policy/*.c))
LIB_OBJS    = $(patsubst %.c,$(BUILD)/%.o,$(PROXY_SRCS) $(POLICY_SRCS)) \
              $(BUILD)/llhttp/llhttp.o $(BUILD)/llhttp/api.o $(BUILD)/llhttp/http.o
UNIT_SRCS   = $(wildcard tests/unit/test_*.c)
UNIT_BINS   = $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

.PHONY: all deps deps-test deps-bench run test test-long unit unit-asan integ bench fuzz clean

all: deps $(BIN)/s3gate $(BIN)/s3gate-admin

# Installs only what is missing, so a warm machine pays one dpkg query.
define apt_install
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  (apt-get update -qq || true) && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; fi
endef

deps:
	$(call apt_install,$(DEPS_BUILD))
deps-test: deps
	$(call apt_install,$(DEPS_TEST))
deps-bench: deps-test
	$(call apt_install,$(DEPS_BENCH))

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c -o $@ $<

# llhttp's generated C comes from Debian's node-llhttp; its own warnings are not ours.
$(BUILD)/llhttp/%.o: $(LLHTTP_SRC)/%.c
	@mkdir -p $(dir $@)
	$(CC) -std=c17 $(OPT) $(LLHTTP_ARCH) $(SANFLAGS) -I$(LLHTTP_INC) -w -c -o $@ $<

$(BUILD)/libs3gate.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(BIN)/s3gate: $(BUILD)/proxy/main.o $(BUILD)/libs3gate.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BIN)/s3gate-admin: $(BUILD)/policy/admin_main.o $(BUILD)/libs3gate.a
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libs3gate.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libs3gate.a $(LDLIBS)

# Unit tests: each program prints "ok"/"not ok" lines; tests/unit/run.sh sums them.
unit: all $(UNIT_BINS)
	tests/unit/run.sh $(UNIT_BINS)

unit-asan:
	$(MAKE) SANITIZE=1 unit

integ: deps-test all
	$(MAKE) SANITIZE=1 $(BUILD)-asan-bins
	S3GATE_BIN=build-asan/bin tests/integ/run.sh

.PHONY: $(BUILD)-asan-bins
$(BUILD)-asan-bins: build-asan/bin/s3gate build-asan/bin/s3gate-admin

test: deps-test
	@tests/run-all.sh

run: deps-test all
	deploy/local/run.sh

bench: deps-bench all
	bench/run.sh

fuzz: deps
	tests/fuzz/run.sh $(or $(FUZZ_SECONDS),60)

# Before resolving hardening work: every fuzz target for 10 minutes, and the
# hostile-input and fault tests (10 000 connections included) on their own.
test-long: deps-test all
	tests/fuzz/run.sh $(or $(FUZZ_SECONDS),600)
	tests/integ/run.sh t_hardening t_faults
	CHAOS_SECONDS=$(or $(CHAOS_SECONDS),600) CHAOS_SEED=$(or $(CHAOS_SEED),$$(date +%s)) \
	    tests/integ/run.sh t_chaos

clean:
	rm -rf build build-asan build-fuzz bin

-include $(shell find build build-asan -name '*.d' 2>/dev/null)
