# Thin wrapper over CMake: the README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
RELEASE := build/release
ASAN := build/asan
FUZZ := build/fuzz
FUZZ_SECONDS ?= 60
FAULTS := build/faults
FAULT_TESTS := test_admin_abuse test_kill_nine test_outages test_sftp_faults test_soak test_canary_integration
SOAK_SECONDS ?= 3600
FUZZ_TARGETS := spec sql migration_names cron duration redact_url manifest admin_http

.PHONY: all build demo test bench clean deps package fuzz faults soak

all: build

deps:
	@scripts/install-deps

build: deps
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DSTEWARD_TESTS=OFF >/dev/null
	@cmake --build $(RELEASE) -j $(JOBS)

demo: build
	@scripts/demo $(RELEASE)/daemon/steward

test: deps
	@cmake -S . -B $(ASAN) -DCMAKE_BUILD_TYPE=Debug -DSTEWARD_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN) -j $(JOBS)
	@cd $(ASAN) && ctest --output-on-failure -j $(JOBS) --timeout 600

# The .deb from a Release build with a /usr prefix (not part of `make test`).
package: deps
	@cmake -S . -B build/package -DCMAKE_BUILD_TYPE=Release -DSTEWARD_TESTS=OFF -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
	@cmake --build build/package -j $(JOBS)
	@cd build/package && cpack -G DEB
	@scripts/check-package build/package

# libFuzzer (clang-14) on every target for FUZZ_SECONDS each; crash inputs land in build/fuzz/crashes/.
fuzz: deps
	@cmake -S . -B $(FUZZ) -DCMAKE_CXX_COMPILER=clang++-14 -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only" \
		-DSTEWARD_FUZZ=ON -DSTEWARD_TESTS=OFF >/dev/null
	@cmake --build $(FUZZ) -j $(JOBS) --target $(addprefix fuzz_,$(FUZZ_TARGETS))
	@scripts/fuzz $(FUZZ) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# The fault matrix (tests/faults/) with the long settings on a Release build, after `make fuzz`: one table.
faults: deps
	@$(MAKE) --no-print-directory fuzz || echo "make fuzz found a crash (build/fuzz/crashes); the table shows it" >&2
	@cmake -S . -B $(FAULTS) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(FAULTS) -j $(JOBS) --target steward chat-api $(FAULT_TESTS)
	@cd $(FAULTS) && STEWARD_FAULTS_LONG=1 ctest -L faults -V --timeout 3600 > faults.log 2>&1; \
		$(CURDIR)/scripts/fault-report $(CURDIR)/$(FUZZ)/fuzz-report.txt < faults.log

# The soak alone for SOAK_SECONDS (default an hour) on a Release build.
soak: deps
	@cmake -S . -B $(FAULTS) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(FAULTS) -j $(JOBS) --target steward chat-api test_soak
	@cd $(FAULTS) && STEWARD_SOAK_SECONDS=$(SOAK_SECONDS) ctest -R '^test_soak$$' -V --timeout $$(($(SOAK_SECONDS) + 900)) > soak.log 2>&1; \
		$(CURDIR)/scripts/fault-report < soak.log

bench: build
	@bench/run $(RELEASE)/daemon/steward

clean:
	@rm -rf build
