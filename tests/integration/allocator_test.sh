#!/usr/bin/env bash
# Every program allocates with tcmalloc (CMakeLists.txt, RELAIS_TCMALLOC):
# the dynamic linker binds malloc to libtcmalloc_minimal, and the program
# starts with the clock two years ahead under libfaketime, as tests/run.sh
# runs the suite (jemalloc, tried before, hung there).
#   allocator_test.sh BIN_DIR
set -uo pipefail
bin=$1
programs=(relaisd relais relais-adapter-caf relais-adapter-cpam
  relais-adapter-dgfip relais-adapter-france-travail relais-console
  relais-bench)
failed=0
for p in "${programs[@]}"; do
  if [[ ! -x $bin/$p ]]; then
    echo "FAIL: $bin/$p is not built"
    failed=1
    continue
  fi
  bindings=$(LD_DEBUG=bindings timeout 20 "$bin/$p" --version 2>&1 >/dev/null)
  if ! grep -q "to [^ ]*libtcmalloc_minimal[^ ]* \[[0-9]*\]: normal symbol \`malloc'" <<<"$bindings"; then
    echo "FAIL: $p does not allocate with tcmalloc (malloc is bound elsewhere)"
    failed=1
  fi
  if ! out=$(FAKETIME_DONT_FAKE_MONOTONIC=1 timeout 20 faketime -f '+730d' \
      "$bin/$p" --version 2>&1); then
    echo "FAIL: $p --version under faketime +730d did not finish: $out"
    failed=1
  fi
done
[[ $failed == 0 ]] && echo "every program allocates with tcmalloc"
exit "$failed"
