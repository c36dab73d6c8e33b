# Lockstep: the two commands a new machine needs are `make demo` and
# `make test`; both install what is missing first (scripts/install-deps.sh).

BUILD_DIR ?= build
JOBS ?= $(shell nproc)
CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=Release

.PHONY: all deps build demo test sanitize fuzz bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)

demo: build
	@scripts/demo.sh $(BUILD_DIR)/lockstep

test: build
	@scripts/run-tests.sh $(BUILD_DIR)

# The whole test suite under AddressSanitizer and UBSan.
sanitize: deps
	@cmake -S . -B build-asan -G Ninja -DCMAKE_BUILD_TYPE=Debug \
	  -DLOCKSTEP_SANITIZE=ON -DLOCKSTEP_BENCH=OFF >/dev/null
	@cmake --build build-asan -j $(JOBS)
	@LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan-suppressions.txt \
	  scripts/run-tests.sh build-asan

# libFuzzer targets for the parsers of untrusted input (needs clang).
fuzz: deps
	@scripts/build-fuzzers.sh

bench: deps
	@scripts/install-deps.sh --bench
	@cmake -S . -B $(BUILD_DIR) -G Ninja $(CMAKE_FLAGS) >/dev/null
	@cmake --build $(BUILD_DIR) -j $(JOBS)
	@echo "see bench/README.md for each benchmark"

clean:
	rm -rf $(BUILD_DIR) build-asan build-fuzz
