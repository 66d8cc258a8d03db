# Thin wrapper over CMake: the README's two commands are `make demo` and `make test`.
JOBS ?= $(shell nproc)
RELEASE := build/release
ASAN := build/asan

.PHONY: all build demo test bench clean deps package

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

bench: build
	@bench/run $(RELEASE)/daemon/steward

clean:
	@rm -rf build
