# heapsnap: `make demo` and `make test` set up everything on a fresh Debian machine.
SHELL       := /bin/bash
export PATH := /opt/swift/usr/bin:$(PATH):$(HOME)/.cargo/bin
SWIFT       ?= swift
CC          := gcc
CXX         := g++
SWIFTC      ?= swiftc

# System packages the build, the tests and the benchmark need (installed only when missing).
APT_BUILD   := gcc g++ make libunwind-dev libdw-dev libelf-dev binutils libc6-dbg
APT_BENCH   := heaptrack time chromium python3
# Peers the tests check against: CPython's own test modules (Tests/TrackTests/CPythonSuiteTests.swift),
# go tool pprof and protoc --decode (the pprof export), headless Chromium (the HTML report), Debian's
# debuginfod server with libdw's client library and xz (debug info for stripped binaries).
APT_TEST    := python3.11 python3.11-dbg libpython3.11-testsuite golang-go protobuf-compiler chromium \
               debuginfod libdebuginfod1 xz-utils

BUILD       := .build
RELEASE_BIN := $(BUILD)/release
DEBUG_BIN   := $(BUILD)/debug
LIB_NAME    := libheapsnap.so
LIB         := $(BUILD)/lib/$(LIB_NAME)
PROGRAMS    := $(BUILD)/test-programs

TRACK_SRC   := $(wildcard Sources/Track/*.c)
TRACK_HDR   := $(wildcard Sources/Track/*.h Sources/Track/include/*.h)
# The tracker runs inside other people's processes: hidden symbols but for the malloc family and the
# C API, initial-exec TLS (no allocation on first access), and no dependency but libc (libunwind is
# dlopen'ed RTLD_LOCAL so its _Unwind_* and backtrace never shadow the process's own). -fno-plt: every
# hook ends in a call to glibc, and with -z now the GOT is final at load, so the call goes through it
# directly instead of a PLT stub (cachegrind: 2 instructions per malloc+free in sampled mode, 4 exact).
TRACK_CFLAGS := -std=gnu11 -O2 -g -fPIC -fvisibility=hidden -ftls-model=initial-exec -fno-plt \
                -fno-omit-frame-pointer -Wall -Wextra -Wno-unused-parameter -ISources/Track/include
TRACK_LDFLAGS := -shared -Wl,-z,now -Wl,--no-undefined -ldl -lpthread

.PHONY: all deps lib build debug programs test demo bench fuzz clean

all: build

deps:
	@missing=""; for p in $(APT_BUILD) $(EXTRA_APT); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q "ok installed" || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "make: installing missing packages:$$missing"; \
	  sudo=""; [ "$$(id -u)" = 0 ] || sudo=sudo; \
	  $$sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing >/dev/null; \
	fi

lib: $(LIB)

$(LIB): $(TRACK_SRC) $(TRACK_HDR) | deps
	@mkdir -p $(@D)
	$(CC) $(TRACK_CFLAGS) -o $@ $(TRACK_SRC) $(TRACK_LDFLAGS)

# The CLI finds libheapsnap.so next to its own executable, so the library is copied beside each build.
build: deps $(LIB)
	$(SWIFT) build -c release
	cp -f $(LIB) $(RELEASE_BIN)/$(LIB_NAME)

debug: deps $(LIB)
	$(SWIFT) build
	cp -f $(LIB) $(DEBUG_BIN)/$(LIB_NAME)

# Test programs: real C, C++ and Swift programs the tests run under the tracker. Built without
# optimisation so that every allocation site keeps its own line.
PROGRAM_C     := $(patsubst Tests/Programs/%.c,$(PROGRAMS)/%,$(wildcard Tests/Programs/*.c))
# The unwinder's test programs are built at -O2 too (NAME-O2): no frame pointers, CFA from the CFI.
PROGRAM_C_O2  := $(patsubst Tests/Programs/%.c,$(PROGRAMS)/%-O2,$(wildcard Tests/Programs/unwind_*.c))
PROGRAM_CXX   := $(patsubst Tests/Programs/%.cpp,$(PROGRAMS)/%,$(wildcard Tests/Programs/*.cpp))
PROGRAM_SWIFT := $(patsubst Tests/Programs/%.swift,$(PROGRAMS)/%,$(wildcard Tests/Programs/*.swift))
# Rust programs only where a Rust toolchain is installed; their tests skip without it.
RUSTC         ?= $(shell command -v rustc 2>/dev/null)
PROGRAM_RUST  := $(if $(RUSTC),$(patsubst Tests/Programs/%.rs,$(PROGRAMS)/%,$(wildcard Tests/Programs/*.rs)))

# Statically linked test programs (Tests/Programs/static/NAME.c -> NAME): what LD_PRELOAD cannot trace.
PROGRAM_STATIC := $(patsubst Tests/Programs/static/%.c,$(PROGRAMS)/%,$(wildcard Tests/Programs/static/*.c))

# Shared libraries the test programs dlopen from their own folder (Tests/Programs/libs/NAME.c -> libNAME.so).
PROGRAM_LIBS  := $(patsubst Tests/Programs/libs/%.c,$(PROGRAMS)/lib%.so,$(wildcard Tests/Programs/libs/*.c))

programs: $(PROGRAM_C) $(PROGRAM_C_O2) $(PROGRAM_CXX) $(PROGRAM_SWIFT) $(PROGRAM_RUST) $(PROGRAM_LIBS) $(PROGRAM_STATIC)

$(PROGRAM_STATIC): $(PROGRAMS)/%: Tests/Programs/static/%.c | deps
	@mkdir -p $(@D)
	$(CC) -g -O0 -static -o $@ $<

$(PROGRAMS)/lib%.so: Tests/Programs/libs/%.c | deps
	@mkdir -p $(@D)
	$(CC) -g -O0 -fPIC -shared -o $@ $<

$(PROGRAMS)/%: Tests/Programs/%.c $(wildcard Tests/Programs/*.h) | deps
	@mkdir -p $(@D)
	$(CC) -g -O0 -pthread -ISources/Track/include -o $@ $< -ldl
$(PROGRAMS)/%-O2: Tests/Programs/%.c $(wildcard Tests/Programs/*.h) | deps
	@mkdir -p $(@D)
	$(CC) -g -O2 -pthread -ISources/Track/include -o $@ $< -ldl
$(PROGRAMS)/%: Tests/Programs/%.cpp | deps
	@mkdir -p $(@D)
	$(CXX) -g -O0 -pthread -o $@ $<
$(PROGRAMS)/%: Tests/Programs/%.swift | deps
	@mkdir -p $(@D)
	$(SWIFTC) -g -Onone -o $@ $<
$(PROGRAMS)/%: Tests/Programs/%.rs
	@mkdir -p $(@D)
	$(RUSTC) -g -C opt-level=0 -o $@ $<

# HEAPSNAP_VERIFY_UNWIND: every traced test program compares the own unwinder with libunwind (the
# test support sets it for each child too, and fails a test whose snapshots counted a mismatch)
TEST_ENV := HEAPSNAP_LIB=$(abspath $(LIB)) HEAPSNAP_TEST_PROGRAMS=$(abspath $(PROGRAMS)) HEAPSNAP_VERIFY_UNWIND=1

test: deps $(LIB) programs
	@$(MAKE) --no-print-directory deps EXTRA_APT="$(APT_TEST)"
	$(SWIFT) build
	cp -f $(LIB) $(DEBUG_BIN)/$(LIB_NAME)
	$(TEST_ENV) $(SWIFT) test --disable-swift-testing

# libFuzzer over the reader (Fuzz/ReaderFuzz) for FUZZ_SECONDS. Inputs that crash it land in
# Tests/Corpus/reader (commit them: `make test` replays that folder); new coverage in .build/fuzz-corpus.
FUZZ_SECONDS ?= 120
fuzz: deps
	$(SWIFT) build --sanitize=fuzzer -Xswiftc -DHEAPSNAP_FUZZ --build-path $(BUILD)/fuzz --product heapsnap-fuzz
	@mkdir -p $(BUILD)/fuzz-corpus
	$(BUILD)/fuzz/debug/heapsnap-fuzz -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=4096 \
	  -artifact_prefix=Tests/Corpus/reader/crash- $(BUILD)/fuzz-corpus Tests/Corpus/reader

# The bundled example: a cache that never evicts, next to healthy churn.
demo: build
	@bash Examples/demo.sh $(RELEASE_BIN)/heapsnap $(BUILD)/examples

# The same tracker without the temporary-allocation counter, to measure the counter's cost side by side.
$(BUILD)/lib/libheapsnap-nochurn.so: $(TRACK_SRC) $(TRACK_HDR) | deps
	@mkdir -p $(@D)
	$(CC) $(TRACK_CFLAGS) -DHS_NO_CHURN -o $@ $(TRACK_SRC) $(TRACK_LDFLAGS)

bench: build $(BUILD)/lib/libheapsnap-nochurn.so
	@$(MAKE) --no-print-directory deps EXTRA_APT="$(APT_BENCH)"
	@BENCH_NOCHURN_LIB=$(abspath $(BUILD)/lib/libheapsnap-nochurn.so) bash Benchmarks/run.sh $(abspath $(LIB)) $(BUILD)/bench

clean:
	rm -rf $(BUILD)
