#!/usr/bin/env bash
# Builds relais, provisions development keys, starts relaisd, the four
# agency adapters and the France services console on loopback, and runs
# until Ctrl-C.
#
#   deploy/up.sh                 the stack, until Ctrl-C
#   deploy/up.sh --demo          open one case of each of the eight types
#                                from deploy/samples/ (an agency's sample is
#                                dropped in its adapter's inbox), wait until
#                                every recipient acknowledged it, play each
#                                recipient's partner system reporting "done"
#                                (a file in its status/ folder), wait until
#                                every case shows done everywhere, print the
#                                table case type x agency, stop, exit 0
#                                (non-zero if any case is not done)
#   --state-dir DIR              keep keys, journal and partner folders in DIR
#                                (default: a temporary folder, removed at exit)
#   --port N                     relaisd's port (default 7700; 0 = any free)
#   --console-port N             the console's port (default 8480, 0 with
#                                --demo; 0 = any free: see its console.url)
#   --no-build                   use the binaries already in build/bin
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

usage() { sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; }
# The value of option $1, given as $2: present and not another option.
value_of() {
  if [ $# -lt 2 ] || [ -z "$2" ] || [ "${2#--}" != "$2" ]; then
    echo "up.sh: $1 needs a value" >&2
    usage >&2
    exit 2
  fi
}
# Option $1's value $2 is a port: a number from 0 to 65535.
port_of() {
  value_of "$@"
  case "$2" in
    *[!0-9]*) echo "up.sh: $1 needs a number from 0 to 65535, not '$2'" >&2; exit 2 ;;
  esac
  [ "${#2}" -le 5 ] && [ "$2" -le 65535 ] ||
    { echo "up.sh: $1 needs a number from 0 to 65535, not '$2'" >&2; exit 2; }
}
demo=0 state_dir="" port="" console_port="" build=1
while [ $# -gt 0 ]; do
  case "$1" in
    --demo) demo=1 ;;
    --state-dir) value_of "$@"; state_dir="$2"; shift ;;
    --port) port_of "$@"; port="$2"; shift ;;
    --console-port) port_of "$@"; console_port="$2"; shift ;;
    --no-build) build=0 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "up.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
  esac
  shift
done
[ -n "$port" ] || { [ $demo -eq 1 ] && port=0 || port=7700; }
[ -n "$console_port" ] || { [ $demo -eq 1 ] && console_port=0 || console_port=8480; }

. deploy/deps.sh
[ $demo -eq 1 ] && relais_ensure_packages up
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

# Waits up to 10 s for program $1 (pid $2) to write its address in $3;
# prints its log $4 and exits if it stops first.
wait_ready() {
  for _ in $(seq 1 100); do
    [ -s "$3" ] && return 0
    kill -0 "$2" 2>/dev/null || { cat "$4" >&2; exit 1; }
    sleep 0.1
  done
  echo "$1 did not start (log: $4)" >&2
  exit 1
}

"$bin/relaisd" --config "$state_dir/relaisd.toml" >>"$state_dir/relaisd.log" 2>&1 &
pids+=($!)
wait_ready relaisd "$!" "$state_dir/relaisd.endpoint" "$state_dir/relaisd.log"
endpoint=$(cat "$state_dir/relaisd.endpoint")
for a in "${agencies[@]}"; do
  "$bin/relais-adapter-$a" --config "$state_dir/$a/adapter.toml" >>"$state_dir/$a/adapter.log" 2>&1 &
  pids+=($!)
done
for _ in $(seq 1 100); do  # the CPAM's HTTP endpoint
  [ -s "$state_dir/cpam/http.endpoint" ] && break
  sleep 0.1
done

# The France services console of the desk (docs/CONSOLE.md), with one
# development agent; its port is 8480 (--console-port), or any free one for
# the demo.
console_dir="$state_dir/france-services_paris-15"
dev_login=agent.dev dev_password="france-services-dev"
cat >"$console_dir/console.toml" <<TOML
# The France services console of the development stack (docs/CONSOLE.md).
[console]
site_name = "France services Paris 15e"
agents = "agents.json"
participant = "client.toml"
cases_dir = "cases"
listen = "127.0.0.1:$console_port"
endpoint_file = "console.url"
metrics_listen = "127.0.0.1:0"
metrics_endpoint_file = "metrics.endpoint"
TOML
if ! "$bin/relais-console" agent list --agents "$console_dir/agents.json" --json 2>/dev/null |
  grep -q "\"login\": \"$dev_login\""; then
  printf '%s\n' "$dev_password" | "$bin/relais-console" agent add --agents "$console_dir/agents.json" \
    --login "$dev_login" --name "Agent de développement" --site "$desk" --password-stdin >/dev/null
fi
rm -f "$console_dir/console.url"
"$bin/relais-console" serve --config "$console_dir/console.toml" >>"$console_dir/console.log" 2>&1 &
pids+=($!)
wait_ready relais-console "$!" "$console_dir/console.url" "$console_dir/console.log"
console_url=$(cat "$console_dir/console.url")

if [ $demo -eq 0 ]; then
  cat <<MSG
relais is up.
  relaisd            $endpoint   (log: $state_dir/relaisd.log)
  state              $state_dir$([ $keep -eq 0 ] && echo "   (removed at exit; keep it with --state-dir)")
  agencies           ${agencies[*]}
    drop a native file in   $state_dir/<agency>/inbox/   (samples: deploy/samples/<agency>/)
    cases arrive in         $state_dir/<agency>/outbox/
    the CPAM over HTTP      $(cat "$state_dir/cpam/http.endpoint" 2>/dev/null || echo "(starting)")/cases   (adapters/README.md, "HTTP")
  France services    $console_url   (log: $console_dir/console.log)
    sign in as              $dev_login / $dev_password   (its JSON API: docs/CONSOLE.md)
  metrics (Prometheus) relaisd $(cat "$state_dir/relaisd.metrics" 2>/dev/null || echo "(starting)")
    each adapter's and the console's in $state_dir/<participant>/metrics.endpoint   (docs/OPERATIONS.md, "Metrics")
  open a case        $bin/relais case open --config $state_dir/france-services_paris-15/client.toml deploy/samples/france_services/address_change.json
  follow it          $bin/relais case status --config $state_dir/france-services_paris-15/client.toml CASE_ID
Ctrl-C stops everything.
MSG
  wait "${pids[0]}"
  exit $?
fi

demo_failed() {
  echo "demo FAILED: $1" >&2
  tail -n 20 "$state_dir"/relaisd.log "$state_dir"/*/adapter.log "$console_dir"/console.log >&2 || true
  exit 1
}

# One case of each of the eight types, from its sample in the originating
# partner's native format: "type origin file". France services opens its
# cases through the console's API; an agency's partner system drops its
# file in the adapter's inbox. The last field is how many cases the
# sample holds (the CAF's CSV has two lines).
samples=(
  "address_change france-services deploy/samples/france_services/address_change.json 1"
  "birth cpam deploy/samples/cpam/birth.json 1"
  "birth caf deploy/samples/caf/birth.xml 1"
  "household_change dgfip deploy/samples/dgfip/household_change.json 1"
  "rsa_application caf deploy/samples/caf/rsa_application.csv 2"
  "job_seeker_status france-travail deploy/samples/france_travail/job_seeker_status.json 1"
  "resources_update dgfip deploy/samples/dgfip/resources_update.json 1"
  "death_notification cpam deploy/samples/cpam/death_notification.json 1"
  "assisted_case france-services deploy/samples/france_services/assisted_case.json 1"
)
expected=0
config_of() {  # the participant config of an origin, for `relais case`
  if [ "$1" = france-services ]; then echo "$state_dir/france-services_paris-15/client.toml"
  else echo "$state_dir/$1/adapter.toml"; fi
}
# Waits for $1 to exist (up to 60 s), failing early if $2 appears.
wait_file() {
  for _ in $(seq 1 600); do
    [ -e "$1" ] && return 0
    [ -n "${2:-}" ] && [ -e "$2" ] && demo_failed "$(cat "$2")"
    sleep 0.1
  done
  return 1
}
# The recipients of a case and their status, "recipient status" lines.
statuses() {
  "$bin/relais" case status --config "$1" "$2" |
    awk '/^  recipient /{on=1; next} on && NF==0 {exit} on {print $1, $2}'
}

# The console's JSON API (docs/CONSOLE.md) as a signed-in agent would
# use it: the session cookie in a jar, the CSRF token on every change.
cookies="$console_dir/demo.cookies"
csrf=$(jq -n --arg l "$dev_login" --arg p "$dev_password" '{login: $l, password: $p}' |
  curl -sS --fail-with-body -c "$cookies" -H 'Content-Type: application/json' \
    --data-binary @- "$console_url/api/session" | jq -r .csrf) ||
  demo_failed "the development agent could not sign in to the console"
console_get() {
  curl -sS --fail-with-body -b "$cookies" "$console_url$1"
}
# Opens the case of a case file ($1: its event and recipients) with the
# citizen's written mandate of today, under request id $2.
console_open() {
  jq --arg id "$2" --arg today "$(date +%F)" \
    '{request_id: $id, event: .event, recipients: .recipients,
      mandate: {kind: "Written", date: $today}}' "$1" |
    curl -sS --fail-with-body -b "$cookies" -H "X-CSRF-Token: $csrf" \
      -H 'Content-Type: application/json' --data-binary @- "$console_url/api/cases"
}

echo "== the CAF and the DGFiP register Jeanne LEROY, on whom they hold a file (subjects/)"
for a in caf dgfip; do
  printf '{"register": ["241034410908787"]}\n' > "$state_dir/$a/subjects/.files.json"
  mv "$state_dir/$a/subjects/.files.json" "$state_dir/$a/subjects/files.json"
  wait_file "$state_dir/$a/done/files.json.receipt.json" "$state_dir/$a/rejected/files.json.error" ||
    demo_failed "$a did not register its citizens"
done
echo "   (her death_notification from the CPAM is routed by subscription: to them, not France Travail)"
echo
opened=()  # "type origin case_id"
echo "== demo: one case of each type, from its sample in the partner's format"
for entry in "${samples[@]}"; do
  read -r type origin file cases <<<"$entry"
  expected=$((expected + cases))
  if [ "$origin" = france-services ]; then
    # Through the console's API, as its page would: a request id of this
    # run's own (the same id opens one case however often it is sent).
    receipt=$(console_open "$file" "demo-$$-$type") ||
      demo_failed "the console did not open $file: $receipt"
  else
    # A name of this run's own: done/ keeps earlier runs' files (--state-dir).
    name="demo-$$-$(basename "$file")"
    cp "$file" "$state_dir/$origin/inbox/.$name"
    mv "$state_dir/$origin/inbox/.$name" "$state_dir/$origin/inbox/$name"  # atomically
    wait_file "$state_dir/$origin/done/$name.receipt.json" "$state_dir/$origin/rejected/$name.error" ||
      demo_failed "$origin did not take $file"
    receipt=$(cat "$state_dir/$origin/done/$name.receipt.json")
  fi
  # Its cases (each sealed as one message per recipient view).
  ids=$(printf '%s' "$receipt" | grep -o '"case_id": *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' | awk '!seen[$0]++')
  [ "$(printf '%s\n' "$ids" | grep -c .)" -eq "$cases" ] ||
    demo_failed "$file gave $(printf '%s\n' "$ids" | grep -c .) cases, not $cases: $receipt"
  for id in $ids; do
    opened+=("$type $origin $id")
    printf '  %-20s from %-16s case %s\n' "$type" "$origin" "$id"
  done
done
[ ${#opened[@]} -eq "$expected" ] ||
  demo_failed "${#opened[@]} cases opened, $expected expected"
echo
echo "== waiting until every recipient acknowledged its cases"
for entry in "${opened[@]}"; do
  read -r type origin id <<<"$entry"
  "$bin/relais" case status --config "$(config_of "$origin")" "$id" --wait-for delivered --timeout 60 >/dev/null ||
    demo_failed "not every recipient acknowledged $type case $id"
done
echo "== what the partner systems received (outbox/)"
for a in "${agencies[@]}"; do
  echo "  $a: $(ls "$state_dir/$a/outbox" | wc -l) files, e.g. $(ls "$state_dir/$a/outbox" | head -n 1)"
done
echo
echo "== each recipient's partner system reports its cases done (status/ files)"
for entry in "${opened[@]}"; do
  read -r type origin id <<<"$entry"
  while read -r recipient _; do
    f="$state_dir/$recipient/status/$id.json"
    printf '{"case_id": "%s", "status": "done", "reason": "%s: dossier traité"}\n' \
      "$id" "$recipient" > "$f.tmp"
    mv "$f.tmp" "$f"  # atomically, as a partner system must
  done < <(statuses "$(config_of "$origin")" "$id")
done
failed=0
for entry in "${opened[@]}"; do
  read -r type origin id <<<"$entry"
  "$bin/relais" case status --config "$(config_of "$origin")" "$id" --wait-for done --timeout 60 >/dev/null || failed=1
done
echo
echo "== final status, case type × agency"
printf '  %-20s %-16s' "case type" "from"
for a in "${agencies[@]}"; do printf ' %-15s' "$a"; done
echo
for entry in "${opened[@]}"; do
  read -r type origin id <<<"$entry"
  declare -A st=()
  while read -r recipient s; do st[$recipient]=$s; done < <(statuses "$(config_of "$origin")" "$id")
  printf '  %-20s %-16s' "$type" "$origin"
  for a in "${agencies[@]}"; do printf ' %-15s' "${st[$a]:--}"; done
  echo
  unset st
done
[ $failed -eq 0 ] || demo_failed "not every case is done at every recipient"
echo
echo "== the France services console's cases (GET /api/cases)"
console_get "/api/cases" |
  jq -r '.cases[] | "  \(.case_id)  \(.case_type_label): \(.progress_label), opened by \(.agent.name)"' ||
  demo_failed "the console did not list its cases"
if [ $keep -eq 1 ]; then
  echo
  echo "partner folders kept in $state_dir/<agency>/{outbox,done}/"
fi
echo
echo "demo OK: ${#opened[@]} cases of the 8 types (all $expected expected), done at every recipient"
