#!/usr/bin/env bash
# Builds relais and runs every test: the formatting check, unit,
# integration and fault tests with ctest (build/), the unit and integration
# tests again with the clock two years ahead (faketime), then the libFuzzer
# targets for a bounded time (build-fuzz/, clang; tests/fuzz/README.md).
# Exits non-zero on any failure.
#   RELAIS_FUZZ_SECONDS   seconds per fuzz target (default 20: nine targets,
#                         about 3 minutes of fuzzing in all)
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
relais_ensure_packages build test fuzz

echo "== formatting (clang-format, .clang-format)"
git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror

echo "== build"
relais_build

echo "== unit, integration and fault tests"
ctest --test-dir build --output-on-failure --timeout 600

# No test may depend on the day it runs. FAKETIME_DONT_FAKE_MONOTONIC keeps
# the monotonic clock real (C++ timed waits would hang otherwise); Python's
# time.sleep fails under it, so the Python client test runs only above.
echo "== unit and integration tests, the clock two years ahead"
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+730d' \
  ctest --test-dir build --output-on-failure --timeout 600 \
  -L 'unit|integration' -E 'integration_python_client'

echo "== fuzz targets (${RELAIS_FUZZ_SECONDS:-20} s each)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRELAIS_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAIS_FUZZ_SECONDS="${RELAIS_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j"$(nproc)"
ctest --test-dir build-fuzz --output-on-failure
