#!/usr/bin/env bash
# deploy/systemd/'s units pass systemd-analyze verify, with this build's
# programs in place of /usr/local/bin, for relaisd, the console and each
# agency's adapter instance. Usage: systemd_units_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin="$1" src="$2"
dir="$(mktemp -d)"
trap 'rm -rf "$dir"' EXIT
units=(relaisd.service relais-console.service)
for agency in caf cpam dgfip france-travail; do
  sed "s/%i/$agency/g" "$src/deploy/systemd/relais-adapter@.service" \
    >"$dir/relais-adapter-$agency.service.in"
  units+=("relais-adapter-$agency.service")
done
status=0
for unit in "${units[@]}"; do
  from="$src/deploy/systemd/$unit"
  [ -f "$from" ] || from="$dir/$unit.in"
  sed "s|/usr/local/bin|$bin|g" "$from" >"$dir/$unit"
  if ! out="$(cd "$dir" && systemd-analyze verify "$dir/$unit" 2>&1)" || [ -n "$out" ]; then
    echo "FAIL: $unit: $out" >&2
    status=1
  fi
done
[ $status -eq 0 ] && echo "systemd units: ${#units[@]} verified"
exit $status
