#!/usr/bin/env bash
# Builds relais and runs every test: the formatting check, unit,
# integration and fault tests with ctest (build/), the unit and integration
# tests again with the clock two years ahead (faketime), then the libFuzzer
# targets for a bounded time (build-fuzz/, clang; tests/fuzz/README.md).
# Exits non-zero on any failure. Each phase says when it started (seconds
# since the script did).
#   RELAIS_FUZZ_SECONDS   seconds per fuzz target (default 20: nine targets,
#                         as many at a time as cores: about 2 minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
relais_ensure_packages build test fuzz

# Every test takes its own temporary folder and port 0: they run side by
# side, as many as there are cores.
jobs="$(nproc)"

echo "== formatting (clang-format, .clang-format)"
git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror

echo "== build, warnings as errors (${SECONDS} s)"
RELAIS_WERROR=ON relais_build

echo "== unit, integration and fault tests (${SECONDS} s)"
ctest --test-dir build --output-on-failure --timeout 600 -j"$jobs"

# No test may depend on the day it runs. FAKETIME_DONT_FAKE_MONOTONIC keeps
# the monotonic clock real (C++ timed waits would hang otherwise); Python's
# time.sleep fails under it, so the Python client test runs only above.
echo "== unit and integration tests, the clock two years ahead (${SECONDS} s)"
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+730d' \
  ctest --test-dir build --output-on-failure --timeout 600 -j"$jobs" \
  -L 'unit|integration' -E 'integration_python_client'

echo "== fuzz targets, ${RELAIS_FUZZ_SECONDS:-20} s each (${SECONDS} s)"
CC=clang CXX=clang++ cmake -S . -B build-fuzz -DRELAIS_FUZZ=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRELAIS_FUZZ_SECONDS="${RELAIS_FUZZ_SECONDS:-20}" >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -j"$jobs"
echo "== every test passed (${SECONDS} s)"
