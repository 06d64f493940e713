#!/usr/bin/env bash
# Builds relais, provisions development keys, starts relaisd and the four
# agency adapters on loopback, and runs until Ctrl-C.
#
#   deploy/up.sh                 the stack, until Ctrl-C
#   deploy/up.sh --demo          open a sample address_change from France
#                                services to the four agencies, wait until
#                                each acknowledged it, play each agency's
#                                partner system reporting "done" (a file in
#                                its status/ folder), wait until the case
#                                shows done everywhere, print statuses and
#                                the trail, stop, exit 0 (non-zero on failure)
#   --state-dir DIR              keep keys, journal and partner folders in DIR
#                                (default: a temporary folder, removed at exit)
#   --port N                     relaisd's port (default 7700; 0 = any free)
#   --no-build                   use the binaries already in build/bin
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

demo=0 state_dir="" port="" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) demo=1 ;;
    --state-dir) state_dir="$2"; shift ;;
    --port) port="$2"; shift ;;
    --no-build) build=0 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "up.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done
[ -n "$port" ] || { [ $demo -eq 1 ] && port=0 || port=7700; }

. deploy/deps.sh
if [ $build -eq 1 ]; then
  relais_ensure_packages build
  echo "== building relais (build/)"
  relais_build
fi
bin="${RELAIS_BIN_DIR:-$root/build/bin}"

keep=1
if [ -z "$state_dir" ]; then
  state_dir=$(mktemp -d /tmp/relais-up-XXXXXX)
  keep=0
fi
mkdir -p "$state_dir"
state_dir=$(cd "$state_dir" && pwd)

pids=()
cleanup() {
  trap - EXIT INT TERM
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ $keep -eq 0 ]; then rm -rf "$state_dir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

desk=france-services/paris-15
agencies=(caf cpam dgfip france-travail)
"$bin/relais" provision --dir "$state_dir" --listen "tcp://127.0.0.1:$port" >/dev/null
rm -f "$state_dir/relaisd.endpoint"

"$bin/relaisd" --config "$state_dir/relaisd.toml" >>"$state_dir/relaisd.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do
  [ -s "$state_dir/relaisd.endpoint" ] && break
  kill -0 "${pids[0]}" 2>/dev/null || { cat "$state_dir/relaisd.log" >&2; exit 1; }
  sleep 0.1
done
[ -s "$state_dir/relaisd.endpoint" ] || { echo "relaisd did not start" >&2; exit 1; }
endpoint=$(cat "$state_dir/relaisd.endpoint")
for a in "${agencies[@]}"; do
  "$bin/relais-adapter-$a" --config "$state_dir/$a/adapter.toml" >>"$state_dir/$a/adapter.log" 2>&1 &
  pids+=($!)
done

if [ $demo -eq 0 ]; then
  cat <<MSG
relais is up.
  relaisd            $endpoint   (log: $state_dir/relaisd.log)
  state              $state_dir$([ $keep -eq 0 ] && echo "   (removed at exit; keep it with --state-dir)")
  agencies           ${agencies[*]}
    drop a native file in   $state_dir/<agency>/inbox/   (samples: deploy/samples/<agency>/)
    cases arrive in         $state_dir/<agency>/outbox/
  open a case        $bin/relais case open --config $state_dir/france-services_paris-15/client.toml deploy/samples/address_change.json
  follow it          $bin/relais case status --config $state_dir/france-services_paris-15/client.toml CASE_ID
Ctrl-C stops everything.
MSG
  wait "${pids[0]}"
  exit $?
fi

demo_failed() {
  echo "demo FAILED: $1" >&2
  tail -n 20 "$state_dir"/relaisd.log "$state_dir"/*/adapter.log >&2 || true
  exit 1
}

echo "== demo: France services opens an address_change for a sample citizen"
client="$state_dir/france-services_paris-15/client.toml"
receipt=$("$bin/relais" case open --config "$client" deploy/samples/address_change.json --json)
case_id=$(printf '%s' "$receipt" | sed -n 's/.*"case_id":"\([^"]*\)".*/\1/p')
echo "accepted: $receipt"
echo
echo "== waiting until every agency acknowledged it"
status=0
"$bin/relais" case status --config "$client" "$case_id" --wait-for delivered --timeout 60 || status=$?
echo
echo "== what each agency's partner system received"
for a in "${agencies[@]}"; do
  for f in "$state_dir/$a/outbox/"*; do
    [ -e "$f" ] && echo "  $a: ${f#$state_dir/}"
  done
done
[ $status -eq 0 ] || demo_failed "not every agency acknowledged case $case_id"
echo
echo "== each agency's partner system reports the case done (status/ file)"
for a in "${agencies[@]}"; do
  f="$state_dir/$a/status/$case_id.json"
  printf '{"case_id": "%s", "status": "done", "reason": "%s: dossier mis à jour"}\n' \
    "$case_id" "$a" > "$f.tmp"
  mv "$f.tmp" "$f"  # atomically, as a partner system must
done
"$bin/relais" case status --config "$client" "$case_id" --wait-for done --timeout 60 || status=$?
[ $status -eq 0 ] || demo_failed "not every agency reported case $case_id done"
echo
echo "demo OK: case $case_id delivered to ${agencies[*]} and done at each"
