#!/usr/bin/env bash
# Where relaisd spends its CPU under load: starts relaisd under `perf
# record` (Debian's linux-perf) on a stack of its own, runs relais-bench
# through it, and prints relaisd's CPU per message and the share of each
# stage (signature verification, the journal, RocksDB, ZeroMQ, the kernel)
# and of each of its threads.
#
#   bench/profile.sh [--messages N] [--in-flight N] [--batch-seal N]
#                    [--keep DIR]
#
# The call graphs come from DWARF unwinding (`--call-graph dwarf`): the
# Debian libraries have no frame pointers. --keep DIR keeps perf.data and
# the stack there for `perf report -i DIR/perf.data`. --batch-seal N has
# the sender seal batches of up to N (docs/PROTOCOL.md 4.8).
set -euo pipefail

cd "$(dirname "$0")/.."
messages=15000
in_flight=256
batch_seal=0
keep=""
die() { echo "bench/profile.sh: $*" >&2; exit 2; }
# need_number OPTION VALUE: a whole number, as relais-bench takes it.
need_number() {
  [[ "$2" =~ ^[0-9]+$ ]] || die "$1 wants a whole number, not '$2'"
}
while (($#)); do
  case "$1" in
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    --messages|--in-flight|--batch-seal|--keep)
      (($# >= 2)) || die "$1 wants a value (see --help)" ;;
    *) die "unknown argument $1 (see --help)" ;;
  esac
  case "$1" in
    --messages) need_number "$1" "$2"; messages="$2" ;;
    --in-flight) need_number "$1" "$2"; in_flight="$2" ;;
    --batch-seal) need_number "$1" "$2"; batch_seal="$2" ;;
    --keep) [[ -n $2 ]] || die "--keep wants a folder"; keep="$2" ;;
  esac
  shift 2
done

if ! command -v perf >/dev/null 2>&1; then
  echo "bench/profile.sh: installing linux-perf" >&2
  apt-get install -y -q linux-perf >/dev/null
fi
bin=build/bin
if [[ ! -x $bin/relais-bench || ! -x $bin/relaisd ]]; then
  # shellcheck source-path=SCRIPTDIR/.. source=deploy/deps.sh
  . deploy/deps.sh
  relais_ensure_packages build
  relais_build
fi

work=${keep:-$(mktemp -d /tmp/relais-profile-XXXXXX)}
mkdir -p "$work"
perf_pid=""
cleanup() {
  if [[ -n $perf_pid ]] && kill -0 "$perf_pid" 2>/dev/null; then
    pkill -TERM -f "relaisd --config $work/stack/relaisd.toml" || true
    wait "$perf_pid" 2>/dev/null || true
  fi
  [[ -n $keep ]] || rm -rf "$work"
}
trap cleanup EXIT

$bin/relais provision --dir "$work/stack" --bench >/dev/null
perf record -q -F 299 --call-graph dwarf,16384 -o "$work/perf.data" -- \
  $bin/relaisd --config "$work/stack/relaisd.toml" --log-level warn \
  >"$work/relaisd.log" 2>&1 &
perf_pid=$!
for _ in $(seq 1 300); do
  [[ -s $work/stack/relaisd.endpoint ]] && break
  sleep 0.05
done
if [[ ! -s $work/stack/relaisd.endpoint ]]; then
  echo "bench/profile.sh: relaisd did not start; its log:" >&2
  cat "$work/relaisd.log" >&2
  exit 1
fi
$bin/relais-bench --broker "$(cat "$work/stack/relaisd.endpoint")" \
  --stack "$work/stack" --messages "$messages" --in-flight "$in_flight" \
  --window 256 --batch-seal "$batch_seal" --json >"$work/bench.json"
pkill -TERM -f "relaisd --config $work/stack/relaisd.toml"
wait "$perf_pid" || true
perf_pid=""

perf report -i "$work/perf.data" --children --sort sym -g none --stdio \
  2>/dev/null >"$work/children.txt"
perf report -i "$work/perf.data" --no-children --sort dso -g none --stdio \
  2>/dev/null >"$work/dso.txt"
perf report -i "$work/perf.data" --no-children --sort comm -g none --stdio \
  2>/dev/null >"$work/threads.txt"
python3 - "$work" "$messages" <<'EOF'
import json, re, sys
work, messages = sys.argv[1], int(sys.argv[2])
bench = json.load(open(f"{work}/bench.json"))

def shares(path, pattern):
    out = {}
    for line in open(path):
        m = re.match(pattern, line)
        if m:
            out.setdefault(m.group("name").strip(), float(m.group("pct")))
    return out

# "  55.01%  0.32%  [.] symbol" (children, self) and "  47.03%  lib.so" (dso)
children = shares(f"{work}/children.txt",
                  r"\s*(?P<pct>[\d.]+)%\s+[\d.]+%\s+\[.\]\s+(?P<name>.+)$")
dso = shares(f"{work}/dso.txt", r"\s*(?P<pct>[\d.]+)%\s+(?P<name>\S+)")
threads = shares(f"{work}/threads.txt", r"\s*(?P<pct>[\d.]+)%\s+(?P<name>\S+)")
samples = 0
event_ns = 0
for line in open(f"{work}/dso.txt"):
    m = re.match(r"# Event count \(approx\.\): (\d+)", line)
    if m:
        event_ns = int(m.group(1))  # cpu-clock: nanoseconds of CPU
cpu_us = event_ns / 1e3 / messages if event_ns else float("nan")

def child(name):
    return max((v for k, v in children.items() if k.startswith(name)),
               default=0.0)

print(f"relais-bench: {bench['accepted']} accepted at "
      f"{bench['accept_msgs_per_s']:.0f} msg/s, {bench['msgs_per_s']:.0f} "
      f"msg/s end to end, lost {bench['lost']}, duplicates "
      f"{bench['duplicates']}")
print(f"relaisd CPU per message: {cpu_us:.0f} µs (perf cpu-clock over the "
      "whole run, start and stop included)")
print("share of relaisd's CPU (inclusive):")
rows = [
    ("signature verification (Ed25519PublicKey::Verify)",
     child("relais::crypto::Ed25519PublicKey::Verify")),
    ("ingress checks in all (VerifySubmission)",
     child("relais::broker::VerifySubmission")),
    ("journal writer (JournalWriter::CommitBatch)",
     child("relais::broker::journal::JournalWriter::CommitBatch")),
    ("  of which RocksDB write and sync (Journal::Commit)",
     child("relais::broker::journal::Journal::Commit")),
    ("SHA-256 (relais::crypto::Sha256)", child("relais::crypto::Sha256")),
]
for label, pct in rows:
    print(f"  {pct:5.1f} %  {label}")
print("share of relaisd's CPU by thread (named in the code; ZMQbg: "
      "ZeroMQ's I/O, rocksdb: its flushes and compactions):")
for name, pct in sorted(threads.items(), key=lambda kv: -kv[1])[:8]:
    print(f"  {pct:5.1f} %  {name}")
print("share of relaisd's CPU by library (exclusive):")
for name, pct in sorted(dso.items(), key=lambda kv: -kv[1])[:8]:
    print(f"  {pct:5.1f} %  {name}")
EOF
if [[ -n $keep ]]; then
  echo "perf data and stack kept in $keep (perf report -i $keep/perf.data)"
fi
