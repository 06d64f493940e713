#!/usr/bin/env bash
# The France services console in a real browser (ctest label "browser"):
# starts the development stack with deploy/up.sh (relaisd, the four
# adapters, relais-console, every port free-chosen, its state in a
# temporary folder), waits until it says it is up, then drives Debian's
# headless Chromium through console.test.mjs (Playwright, axe-core).
# Screenshots land in BUILD_DIR/browser/.
#   console_test.sh BUILD_DIR
set -euo pipefail
build_dir=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)

state=$(mktemp -d /tmp/relais-browser-XXXXXX)
up_pid=""
finish() {
  if [ -n "$up_pid" ]; then
    kill -TERM "$up_pid" 2>/dev/null || true
    wait "$up_pid" 2>/dev/null || true
  fi
  rm -rf "$state"
}
trap finish EXIT

RELAIS_BIN_DIR="$build_dir/bin" "$root/deploy/up.sh" --no-build \
  --state-dir "$state/stack" --port 0 --console-port 0 >"$state/up.log" 2>&1 &
up_pid=$!
# up.sh prints "relais is up." once relaisd, the adapters and the console
# are serving (each wrote its address); give up after 120 s.
for _ in $(seq 1 1200); do
  grep -q '^relais is up\.' "$state/up.log" && break
  kill -0 "$up_pid" 2>/dev/null || { cat "$state/up.log" >&2; exit 1; }
  sleep 0.1
done
grep -q '^relais is up\.' "$state/up.log" || { cat "$state/up.log" >&2; exit 1; }

mkdir -p "$build_dir/browser"
status=0
CONSOLE_URL=$(cat "$state/stack/france-services_paris-15/console.url") \
  STATE_DIR="$state/stack" WEB_DIR="$build_dir/web" \
  SCREENSHOT_DIR="$build_dir/browser" \
  node "$here/console.test.mjs" || status=$?
if [ $status -ne 0 ]; then
  echo "--- the console's log" >&2
  tail -n 40 "$state/stack/france-services_paris-15/console.log" >&2 || true
fi
exit $status
