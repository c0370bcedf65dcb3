# The front door. Everything real happens in Meson (meson.build) and the
# scripts it names; these targets only chain them.
BUILD ?= build
TEST_BUILD ?= build-test
DEPS_STAMP := $(BUILD)/.deps-ok

.PHONY: all build run demo test bench fuzz format format-check deps clean

all: build

deps:
	@scripts/install-deps

$(BUILD)/build.ninja:
	@scripts/install-deps
	meson setup $(BUILD) --buildtype=debugoptimized

build: $(BUILD)/build.ninja
	ninja -C $(BUILD)

# Build and start the demo server on SQLite (benchside-demo.db) at http://localhost:8080.
run: deps build
	./$(BUILD)/benchside demo

demo: run

# Unit tests under AddressSanitizer and UndefinedBehaviorSanitizer, the storage
# suite on SQLite and on a throw-away PostgreSQL server, the system tests, and
# the web workbench end to end in chromium (tests/e2e).
test: deps
	python3 tests/run.py --build $(TEST_BUILD)

bench: deps build
	python3 bench/run.py --build $(BUILD)

fuzz: deps
	scripts/fuzz $(FUZZ_SECONDS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

format-check:
	clang-format --dry-run -Werror $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(TEST_BUILD) build-fuzz
