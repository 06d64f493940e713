#!/usr/bin/env bash
# Builds relais and runs every test: unit, integration and fault tests with
# ctest (build/), then the libFuzzer targets for a bounded time (build-fuzz/,
# clang). Exits non-zero on any failure.
#   RELAIS_FUZZ_SECONDS   seconds per fuzz target (default 30)
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
relais_ensure_packages build test fuzz

echo "== build"
relais_build

echo "== unit, integration and fault tests"
ctest --test-dir build --output-on-failure --timeout 600

echo "== fuzz targets (${RELAIS_FUZZ_SECONDS:-30} s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRELAIS_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAIS_FUZZ_SECONDS="${RELAIS_FUZZ_SECONDS:-30}" >/dev/null
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz --output-on-failure
