#!/usr/bin/env bash
# relais top in a real terminal (tmux): it redraws in place; the CAF's
# backlog grows while its adapter is away and drains when it comes; Ctrl-C
# ends it. Usage: top_test.sh BIN_DIR SOURCE_DIR
set -euo pipefail
bin="$1" src="$2"
dir="$(mktemp -d)"
session="relais-top-$$"
# A tmux server of its own (its socket named after the session), whatever
# the terminal the tests run from.
export TERM="${TERM:-xterm}"
tmux() { command tmux -L "$session" "$@"; }
pids=()
cleanup() {
  tmux kill-server 2>/dev/null || true
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$dir"
}
trap cleanup EXIT
fail() {
  echo "FAIL: $1" >&2
  echo "--- the terminal:" >&2
  tmux capture-pane -p -t "$session" >&2 2>/dev/null || true
  echo "--- relaisd's log:" >&2
  cat "$dir/relaisd.log" >&2 || true
  exit 1
}
# Waits up to 30 s until the terminal shows a line matching the regex $1.
wait_screen() {
  for _ in $(seq 300); do
    tmux capture-pane -p -t "$session" | grep -Eq "$1" && return 0
    sleep 0.1
  done
  fail "the terminal never showed /$1/"
}

"$bin/relais" provision --dir "$dir" >/dev/null
"$bin/relaisd" --config "$dir/relaisd.toml" >"$dir/relaisd.log" 2>&1 &
pids+=($!)
for _ in $(seq 300); do [ -s "$dir/relaisd.metrics" ] && break; sleep 0.1; done
[ -s "$dir/relaisd.metrics" ] || fail "relaisd wrote no metrics address"
url="$(cat "$dir/relaisd.metrics")"

tmux new-session -d -s "$session" -x 120 -y 30 \
  "$bin/relais top --metrics $url --interval-ms 200"
wait_screen '^participant +online +backlog +oldest'
wait_screen '^caf +no +0 '

# Three cases for the four agencies, none of which is connected.
for k in 1 2 3; do
  "$bin/relais" case open --config "$dir/france-services_paris-15/client.toml" \
    --idempotency-key "top-$k" "$src/deploy/samples/france_services/address_change.json" \
    >/dev/null || fail "case open $k"
done
wait_screen '^caf +no +3 '
wait_screen '^cpam +no +3 '
# The oldest waits and ages (seconds, then minutes).
wait_screen '^caf +no +3 +[1-9][0-9]*s '
# Redrawn in place: one header, not one per refresh.
[ "$(tmux capture-pane -p -t "$session" | grep -c '^participant ')" -eq 1 ] ||
  fail "the view is not redrawn in place"

"$bin/relais-adapter-caf" --config "$dir/caf/adapter.toml" >"$dir/caf.log" 2>&1 &
pids+=($!)
wait_screen '^caf +yes +0 +- '
# The others still wait.
tmux capture-pane -p -t "$session" | grep -Eq '^cpam +no +3 ' || fail "cpam's backlog changed"

tmux send-keys -t "$session" C-c
for _ in $(seq 100); do
  tmux has-session -t "$session" 2>/dev/null || { echo "relais top: OK"; exit 0; }
  sleep 0.1
done
fail "Ctrl-C did not end relais top"
