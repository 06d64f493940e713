#!/usr/bin/env bash
# Builds relais and runs every test: the formatting check, unit,
# integration, fault and browser tests with ctest (build/), the unit and
# integration tests again with the clock two years ahead (faketime),
# clang-tidy (.clang-tidy), the tests that run threads again under
# ThreadSanitizer (build-tsan/, clang), then the libFuzzer targets for a
# bounded time (build-fuzz/, clang; tests/fuzz/README.md). Exits non-zero
# on any failure. Each phase says when it started (seconds since the
# script did).
#   RELAIS_FUZZ_SECONDS   seconds per fuzz target (default 5: ten targets,
#                         as many at a time as cores: about 30 s; their
#                         seeds also replay in ctest, fuzz_replay_*)
#   RELAIS_TSAN=0         skips the ThreadSanitizer phase (a quicker local
#                         run; CI runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
. deploy/deps.sh
relais_ensure_packages build test up fuzz

# Every test takes its own temporary folder and port 0: they run side by
# side, as many as there are cores.
jobs="$(nproc)"

echo "== formatting (clang-format, .clang-format)"
git ls-files -z '*.cc' '*.h' | xargs -0 clang-format --dry-run -Werror

echo "== build, warnings as errors (${SECONDS} s)"
RELAIS_WERROR=ON RELAIS_DEBUG_INFO=OFF relais_build

echo "== unit, integration, fault and browser tests (${SECONDS} s)"
ctest --test-dir build --output-on-failure --timeout 600 -j"$jobs"

# No test may depend on the day it runs. FAKETIME_DONT_FAKE_MONOTONIC keeps
# the monotonic clock real (C++ timed waits would hang otherwise); Python's
# time.sleep fails under it, so the Python client test runs only above.
echo "== unit and integration tests, the clock two years ahead (${SECONDS} s)"
FAKETIME_DONT_FAKE_MONOTONIC=1 faketime -f '+730d' \
  ctest --test-dir build --output-on-failure --timeout 600 -j"$jobs" \
  -L 'unit|integration' -E 'integration_python_client'

# build/'s unity sources (a target's .cc files in batches), gathered again
# by tests/tidy_groups.py into one source per program with the libraries
# nearest to it: the checks walk every header of a source, so ten sources
# cost 175 s of CPU where the 36 unity sources cost 420. The checks report
# in the .cc files each includes. The tests' own code is not checked.
echo "== clang-tidy (${SECONDS} s)"
tidy_db="$(python3 tests/tidy_groups.py build '/build/(adapters|broker|cli|core|deploy|storage|bench)/')"
run-clang-tidy -p "$tidy_db" -j"$jobs" -quiet \
  -extra-arg=-Wno-unknown-warning-option "$tidy_db/" >build/clang-tidy.log 2>&1 ||
  { grep -E "(warning|error):" build/clang-tidy.log | sort -u; exit 1; }

# The tests marked THREADS in tests/CMakeLists.txt (the unit tests of
# the broker's threaded stages, the HTTP front, and the integration tests
# but the scripts, the demo flow and the CLI's) and the programs they start, built
# again with clang and ThreadSanitizer in build-tsan/: the threads of
# relaisd (loop, ingress pool, journal writer, ZAP) and of the SDK (I/O,
# handler, keeper), every access checked; a race or a lock-order inversion in any process a test
# starts fails the run (its report is printed from build-tsan/tsan.*).
# Single-threaded tests (parsers, translators, pure stages) are left out:
# the tool has nothing to check in them, and CI's 30 minutes hold the rest.
if [ "${RELAIS_TSAN:-1}" != 0 ]; then
  echo "== threaded tests under ThreadSanitizer (${SECONDS} s)"
  CC=clang CXX=clang++ cmake $(relais_generator build-tsan) -S . -B build-tsan -DRELAIS_TSAN=ON \
    -DCMAKE_UNITY_BUILD=ON -DRELAIS_BUILD_BENCH=OFF -DRELAIS_CONSOLE_WEB=OFF \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" >/dev/null
  cmake --build build-tsan -j"$jobs" --target relais_threaded_tests
  rm -f build-tsan/tsan.*
  # ignore_noninstrumented_modules: a memcpy or memset that Debian's
  # uninstrumented libraries make is theirs (tests/tsan.supp says more).
  TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1 ignore_noninstrumented_modules=1 log_path=$PWD/build-tsan/tsan suppressions=$PWD/tests/tsan.supp" \
    ctest --test-dir build-tsan --output-on-failure --timeout 900 -j"$jobs" \
    -L threads ||
    { cat build-tsan/tsan.* 2>/dev/null; exit 1; }
  if ls build-tsan/tsan.* >/dev/null 2>&1; then cat build-tsan/tsan.*; exit 1; fi
fi

echo "== fuzz targets, ${RELAIS_FUZZ_SECONDS:-5} s each (${SECONDS} s)"
# -O1 as libFuzzer's documentation builds its targets; line tables only:
# a finding's stack still names the lines. A unity build, as the others
# (298 s of CPU instead of 432).
CC=clang CXX=clang++ cmake $(relais_generator build-fuzz) -S . -B build-fuzz -DRELAIS_FUZZ=ON \
  -DCMAKE_UNITY_BUILD=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -gline-tables-only -DNDEBUG" \
  -DRELAIS_FUZZ_SECONDS="${RELAIS_FUZZ_SECONDS:-5}" >/dev/null
cmake --build build-fuzz -j"$jobs"
ctest --test-dir build-fuzz --output-on-failure -j"$jobs"
echo "== every test passed (${SECONDS} s)"
