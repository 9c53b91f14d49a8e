# A thin wrapper over CMake. On a fresh Debian 12 machine, as root:
#   make run    installs missing packages, builds, starts the main job
#   make test   installs missing packages, builds, runs every test
# Other targets: deps, build, install (PREFIX=, default /usr/local), bench (craftd beside redis
# and etcd: docs/benchmarks.md), asan, tsan, soak (SEEDS=, STEPS=), clean.

BUILD_DIR ?= build
ASAN_DIR ?= build-asan
TSAN_DIR ?= build-tsan
BUILD_TYPE ?= RelWithDebInfo
JOBS ?= $(shell nproc 2>/dev/null || echo 2)
SEEDS ?= 10000
STEPS ?= 10000
PREFIX ?= /usr/local

# Debian 12 packages the build and the tests use (README.md "Dependencies" says why each is here).
# libc6-dev and libclang-rt-14-dev are only recommended by gcc and clang, and we install without
# recommends, so they are listed: the C library headers and clang's sanitizer/libFuzzer runtimes.
DEPS_PACKAGES := make cmake gcc libc6-dev clang libclang-rt-14-dev ninja-build libcmocka-dev \
	libuv1-dev valgrind python3 pkg-config libraft-dev redis-tools python3-redis

# What `make bench` compares craftd with, and draws with (docs/benchmarks.md).
BENCH_PACKAGES := redis-server redis-tools etcd-server etcd-client wrk gnuplot-nox
BENCH_DIR ?= build-bench

SIM := $(BUILD_DIR)/bin/craft-sim

.PHONY: all deps bench-deps configure build test run install bench asan tsan soak clean

all: build

# Installs only what is missing (apt-get update once, then one install), when run as root;
# otherwise names what is missing and fails. $(1): the packages, $(2): the target's name.
define install_missing
	@missing=""; \
	for p in $(1); do \
		dpkg -s "$$p" 2>/dev/null | grep -q '^Status: install ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -z "$$missing" ]; then echo "$(2): all Debian packages present"; exit 0; fi; \
	if [ "$$(id -u)" -ne 0 ]; then \
		echo "$(2): missing Debian packages:$$missing" >&2; \
		echo "$(2): install them as root with:" >&2; \
		echo "    apt-get update && apt-get install -y --no-install-recommends$$missing" >&2; \
		exit 1; \
	fi; \
	echo "$(2): installing:$$missing"; \
	export DEBIAN_FRONTEND=noninteractive; \
	apt-get update && apt-get install -y --no-install-recommends $$missing
endef

deps:
	$(call install_missing,$(DEPS_PACKAGES),deps)

# Ninja is chosen only when the build tree is new, so a tree made with another generator still works.
# The install prefix is given at configure time too, so the library directory suits it (Debian's
# multiarch lib/<triplet> under /usr, lib elsewhere) and a later plain `cmake --install` agrees.
configure: deps
	@if [ -f $(BUILD_DIR)/CMakeCache.txt ]; then \
		cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DCMAKE_INSTALL_PREFIX=$(PREFIX); \
	else \
		cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) \
			-DCMAKE_INSTALL_PREFIX=$(PREFIX); \
	fi

build: configure
	cmake --build $(BUILD_DIR) --parallel $(JOBS)

test: build
	bash tools/check_layers.sh $(BUILD_DIR)
	cd $(BUILD_DIR) && ctest --output-on-failure --no-tests=error --parallel $(JOBS)

# libcraft.a, libcraft.so (soname libcraft.so.<major>), include/craft/*.h and lib/pkgconfig/craft.pc
# under PREFIX, e.g. make install PREFIX=$HOME/.local
install: build
	cmake --install $(BUILD_DIR) --prefix $(PREFIX)

# The main job: a local 3-node craftd cluster on 127.0.0.1 (clients on 7001-7003, peers on
# 7101-7103, data in ./data/node1..3); Ctrl-C stops all three. Connect with redis-cli -p 7001.
run: build
	bash tools/run_cluster.sh $(BUILD_DIR)/bin/craftd

bench-deps: deps
	$(call install_missing,$(BENCH_PACKAGES),bench-deps)

# craftd (3 nodes) beside redis (appendfsync always, and no persistence) and etcd (3 members) on
# this machine, in one run of a few minutes (bounded at 10): prints one table and every figure,
# writes docs/benchmarks.md and docs/benchmarks.png. A Release build of its own, in $(BENCH_DIR).
bench: bench-deps
	@if [ -f $(BENCH_DIR)/CMakeCache.txt ]; then \
		cmake -S . -B $(BENCH_DIR) -DCMAKE_BUILD_TYPE=Release; \
	else \
		cmake -S . -B $(BENCH_DIR) -G Ninja -DCMAKE_BUILD_TYPE=Release; \
	fi
	cmake --build $(BENCH_DIR) --parallel $(JOBS) --target craftd craft-bench
	python3 tools/bench_compare.py --build $(BENCH_DIR) --docs docs

# A clang build in directory $(1) with CMake flags $(2) (configured once, with Ninja), for the
# sanitizer targets below.
define clang_build
	@if [ -f $(1)/CMakeCache.txt ]; then \
		cmake -S . -B $(1); \
	else \
		cmake -S . -B $(1) -G Ninja -DCMAKE_C_COMPILER=clang $(2) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE); \
	fi
	cmake --build $(1) --parallel $(JOBS)
endef

# AddressSanitizer + UndefinedBehaviorSanitizer build with clang; slow tests (mutation checks) are skipped.
asan: deps
	$(call clang_build,$(ASAN_DIR),-DCRAFT_SANITIZE=ON)
	cd $(ASAN_DIR) && \
		ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		ctest --output-on-failure --no-tests=error --parallel $(JOBS) -LE slow

# ThreadSanitizer build with clang: every test but the slow ones, so the node's threads (loop,
# log writer and its encoder, apply, snapshot builder), the transport and craftd run under it.
# tools/tsan.supp says what it suppresses and why. setarch -R: without address randomisation, as
# clang 14's TSan cannot map its shadow memory on kernels that randomise with more bits
# (vm.mmap_rnd_bits 32; 28 here).
tsan: deps
	$(call clang_build,$(TSAN_DIR),-DCRAFT_TSAN=ON)
	cd $(TSAN_DIR) && \
		TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$(CURDIR)/tools/tsan.supp \
		setarch $$(uname -m) -R ctest --output-on-failure --no-tests=error --parallel $(JOBS) -LE slow

# Many seeds through the simulator: make soak SEEDS=10000 STEPS=10000
soak: build
	$(SIM) --seeds $(SEEDS) --steps $(STEPS) --jobs 2

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(TSAN_DIR) $(BENCH_DIR)
