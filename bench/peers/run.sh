#!/usr/bin/env bash
# bench/peers/run.sh: relais side by side with the brokers operators know
# (Redis Streams, RabbitMQ, NATS JetStream), each at the strongest
# per-message durability it offers, under relais-bench's workload
# (bench/peers/README.md).
#
# Compare only figures from the same invocation: fsync speed varies a lot
# between runs on these machines. NATS 2.9.10 (Debian 12's) does not fsync
# each message: its PubAck is a weaker promise than the others' answers.
#
#   bench/peers/run.sh [--runs N] [--messages N] [--rates "R1 R2 ... max"]
#     [--messages-min N] [--seconds-per-rate S] [--out DIR]
#     [--systems "relais relais-batch redis rabbitmq nats"] [--payload-bytes B]
#     [--window W] [--timeout S]
#
# Installs what is missing (apt-get), builds relais if build/bin/relais-bench
# is missing and relais-peer-bench into build/peers/, starts one server per
# system on 127.0.0.1 (free ports, data in a temporary folder, all stopped
# and removed on exit), runs every offered load N times per system
# (interleaved: rate, run, then system, so that a slower disk for a while
# hits every system alike), then writes DIR/runs.jsonl, DIR/medians.json,
# prints the table of the medians and calls bench/report.sh DIR.
set -euo pipefail

usage() {
  sed -n '11,14p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
  cat <<'EOF'
  --runs N             runs per system and offered load (3)
  --messages N         messages of the closed-loop run, "max" (20000)
  --rates "..."        offered loads in msg/s; "max" is the closed loop
                       ("1000 5000 10000 20000 max")
  --messages-min N     messages of an open-loop run at least (5000)
  --seconds-per-rate S an open-loop run sends rate x S messages if more (4)
  --systems "..."      among relais relais-batch redis rabbitmq nats (all
                       five; relais-batch: relais-bench --batch-seal 256)
  --out DIR            results (bench/results/peers-<UTC time>)
  --payload-bytes B    payload size (1024)
  --window W           awaiting their durable ack at most; deliveries
                       unacknowledged at most (256)
  --timeout S          a run gives up after S s without progress (60)
EOF
}

invocation="$0$(printf ' %q' "$@")"
runs=3
messages=20000
rates="1000 5000 10000 20000 max"
messages_min=5000
seconds_per_rate=4
systems="relais relais-batch redis rabbitmq nats"
out=""
payload_bytes=1024
window=256
timeout_s=60

die() {
  echo "run.sh: $*" >&2
  exit 2
}
need_number() {
  if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "$2" -eq 0 ]; then
    die "$1 wants a positive integer, not '$2'"
  fi
}

while [ $# -gt 0 ]; do
  [ $# -ge 2 ] || case "$1" in -h | --help) ;; *) die "$1 wants a value" ;; esac
  case "$1" in
    --runs) need_number "$1" "$2" && runs=$2 ;;
    --messages) need_number "$1" "$2" && messages=$2 ;;
    --rates) rates=$2 ;;
    --messages-min) need_number "$1" "$2" && messages_min=$2 ;;
    --seconds-per-rate) need_number "$1" "$2" && seconds_per_rate=$2 ;;
    --systems) systems=$2 ;;
    --out) out=$2 ;;
    --payload-bytes) need_number "$1" "$2" && payload_bytes=$2 ;;
    --window) need_number "$1" "$2" && window=$2 ;;
    --timeout) need_number "$1" "$2" && timeout_s=$2 ;;
    -h | --help)
      usage
      exit 0
      ;;
    *) die "unknown option $1 (see --help)" ;;
  esac
  shift 2
done
for rate in $rates; do
  [ "$rate" = max ] || [[ "$rate" =~ ^[0-9]+([.][0-9]+)?$ ]] ||
    die "--rates: '$rate' is neither a rate in msg/s nor max"
done
[ -n "${rates// /}" ] || die "--rates is empty"
for system in $systems; do
  case "$system" in relais | relais-batch | redis | rabbitmq | nats) ;; *) die "--systems: unknown system '$system'" ;; esac
done
[ -n "${systems// /}" ] || die "--systems is empty"
[ "$payload_bytes" -ge 16 ] || die "--payload-bytes must be at least 16"

# The caller's folder for a relative --out, then the repository's root.
caller_dir=$PWD
cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."
root=$PWD
if [ -z "$out" ]; then
  out="$root/bench/results/peers-$(date -u +%Y%m%dT%H%M%SZ)"
elif [[ "$out" != /* ]]; then
  out="$caller_dir/$out"
fi

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# --- 1. Debian packages -----------------------------------------------------

peer_packages=(nats-server libnats-dev rabbitmq-server librabbitmq-dev
  redis-server libhiredis-dev gnuplot-nox cmake ninja-build g++ pkg-config
  libcli11-dev nlohmann-json3-dev python3)
missing=()
for pkg in "${peer_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: installing ${missing[*]}" >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}"
  # Their packages start system services where systemd runs: this script
  # starts servers of its own, and the services it just brought would
  # share the CPU with the runs. An operator's own, installed before, are
  # left alone.
  if [ -d /run/systemd/system ]; then
    for svc in rabbitmq-server redis-server nats-server; do
      case " ${missing[*]} " in
        *" $svc "*) as_root systemctl disable --now "$svc" >/dev/null 2>&1 || true ;;
      esac
    done
  fi
fi
for proc in beam.smp redis-server nats-server; do
  if pgrep -x "$proc" >/dev/null; then
    echo "run.sh: note: a $proc runs already on this machine; it shares the CPU with the runs" >&2
  fi
done

# --- 2. Builds --------------------------------------------------------------

case " $systems " in
  *" relais "* | *" relais-batch "*)
    if [ ! -x build/bin/relais-bench ] || [ ! -x build/bin/relaisd ]; then
      echo "run.sh: building relais (build/)" >&2
      # shellcheck source-path=SCRIPTDIR/../.. source=deploy/deps.sh
      . deploy/deps.sh
      relais_ensure_packages build
      relais_build
    fi
    ;;
esac
echo "run.sh: building relais-peer-bench (build/peers/)" >&2
# Quiet unless it fails.
quiet() {
  local log
  if ! log=$("$@" 2>&1); then
    echo "$log" >&2
    echo "run.sh: failed: $*" >&2
    exit 1
  fi
}
if [ ! -f build/peers/CMakeCache.txt ]; then
  quiet cmake -S bench/peers -B build/peers -G Ninja -DCMAKE_BUILD_TYPE=Release
fi
quiet cmake --build build/peers -j "$(nproc)"
peer_bench=$root/build/peers/relais-peer-bench

# --- 3. Servers ---------------------------------------------------------------

tmp=$(mktemp -d /tmp/relais-peers.XXXXXX)
server_pids=()
epmd_port=""
bench_pid=""  # the `timeout` running the current benchmark

# A benchmark still running (Ctrl-C): `timeout` passes the signal on to its
# process group (relais-bench's relaisd and receiver die with their parent).
stop_bench() {
  [ -n "$bench_pid" ] || return 0
  kill -TERM "$bench_pid" 2>/dev/null || true
  wait "$bench_pid" 2>/dev/null || true
  bench_pid=""
}

stop_servers() {
  local pid i
  for pid in "${server_pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${server_pids[@]}"; do
    for ((i = 0; i < 150; i++)); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      # rabbitmq-server is a shell waiting for its Erlang VM: both go.
      pkill -KILL -P "$pid" 2>/dev/null || true
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
  server_pids=()
  # RabbitMQ's Erlang started an epmd daemon on our port: not a child.
  if [ -n "$epmd_port" ]; then
    epmd -port "$epmd_port" -kill >/dev/null 2>&1 || true
    epmd_port=""
  fi
}

cleanup() {
  set +e
  stop_bench
  stop_servers
  sweep_relais_tmp
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'echo "run.sh: interrupted" >&2; exit 130' INT
trap 'exit 143' TERM

# relais-bench makes /tmp/relais-bench-XXXXXX and removes it when it ends
# normally; one killed (timeout, Ctrl-C) leaves it. Such folders that
# appeared during this script and that no process names any more go.
relais_tmp_before=" $(echo /tmp/relais-bench-*) "
sweep_relais_tmp() {
  local dir
  for dir in /tmp/relais-bench-*; do
    [ -d "$dir" ] || continue
    case "$relais_tmp_before" in *" $dir "*) continue ;; esac
    # (mktemp's names are letters and digits: no regex character)
    pgrep -f -- "$dir" >/dev/null || rm -rf "$dir"
  done
}

if [ "$(stat -f -c %T /tmp)" = tmpfs ]; then
  echo "run.sh: warning: /tmp is a tmpfs, where fsync costs nothing: no system's figure here is durable" >&2
fi

free_port() {
  python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# wait_until SECONDS NAME PID LOG COMMAND...: until COMMAND succeeds; fails
# (with the log's end) if the server died or never answered.
wait_until() {
  local seconds=$1 name=$2 pid=$3 log=$4
  shift 4
  local deadline=$((SECONDS + seconds))
  until "$@" >/dev/null 2>&1; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "run.sh: $name exited while starting; its log ends with:" >&2
      tail -n 15 "$log" >&2 2>/dev/null || true
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "run.sh: $name did not answer within $seconds s; its log ends with:" >&2
      tail -n 15 "$log" >&2 2>/dev/null || true
      return 1
    fi
    sleep 0.5
  done
}

declare -A url=()
declare -A unavailable=()

# appendfsync always: the AOF is fsynced before the replies go out.
start_redis() {
  local dir=$tmp/redis port
  mkdir -p "$dir"
  port=$(free_port)
  redis-server --bind 127.0.0.1 --port "$port" --dir "$dir" \
    --appendonly yes --appendfsync always --save '' --daemonize no \
    --logfile "$dir/redis.log" </dev/null >"$dir/stdout" 2>&1 &
  server_pids+=($!)
  wait_until 30 redis-server $! "$dir/redis.log" \
    redis-cli -h 127.0.0.1 -p "$port" ping || return 1
  url[redis]="redis://127.0.0.1:$port"
}

# File storage; nats-server 2.9 has no setting that fsyncs each message.
start_nats() {
  local dir=$tmp/nats port http_port
  mkdir -p "$dir"
  port=$(free_port)
  http_port=$(free_port)
  cat >"$dir/nats.conf" <<EOF
listen: 127.0.0.1:$port
http: 127.0.0.1:$http_port
jetstream {
  store_dir: "$dir/jetstream"
}
EOF
  nats-server -c "$dir/nats.conf" -l "$dir/nats.log" </dev/null >"$dir/stdout" 2>&1 &
  server_pids+=($!)
  # /healthz answers ok once JetStream is ready.
  wait_until 30 nats-server $! "$dir/nats.log" python3 -c "
import json, sys, urllib.request
with urllib.request.urlopen('http://127.0.0.1:$http_port/healthz', timeout=2) as r:
    sys.exit(0 if json.load(r).get('status') == 'ok' else 1)" || return 1
  url[nats]="nats://127.0.0.1:$port"
}

# RabbitMQ's own node: its name, ports, cookie (HOME), config, data and
# logs all in the temporary folder; no plugin (no management ports).
start_rabbitmq() {
  local dir=$tmp/rabbitmq port ctl_port rabbit_env
  mkdir -p "$dir/home" "$dir/mnesia" "$dir/log"
  (umask 077 && python3 -c 'import secrets; print(secrets.token_hex(20), end="")' \
    >"$dir/home/.erlang.cookie")
  chmod 400 "$dir/home/.erlang.cookie"
  : >"$dir/rabbitmq-env.conf"
  echo '[].' >"$dir/enabled_plugins"
  port=$(free_port)
  ctl_port=$(free_port)
  epmd_port=$(free_port)
  cat >"$dir/rabbitmq.conf" <<EOF
listeners.tcp.1 = 127.0.0.1:$port
disk_free_limit.absolute = 100MB
log.console = false
log.file.level = warning
EOF
  rabbit_env=(HOME="$dir/home"
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf"
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf"
    RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config"
    RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins"
    RABBITMQ_MNESIA_BASE="$dir/mnesia"
    RABBITMQ_LOG_BASE="$dir/log"
    RABBITMQ_PID_FILE="$dir/rabbitmq.pid"
    RABBITMQ_NODENAME="relaisbench$$@localhost"
    RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
    RABBITMQ_NODE_PORT="$port"
    RABBITMQ_DIST_PORT="$(free_port)"
    RABBITMQ_CTL_DIST_PORT_MIN="$ctl_port"
    RABBITMQ_CTL_DIST_PORT_MAX="$ctl_port"
    ERL_EPMD_PORT="$epmd_port"
    ERL_EPMD_ADDRESS=127.0.0.1
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}")
  # Debian's /usr/sbin wrappers would run them as the rabbitmq user.
  env "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmq-server </dev/null >"$dir/stdout" 2>&1 &
  server_pids+=($!)
  wait_until 120 rabbitmq-server $! "$dir/stdout" \
    env "${rabbit_env[@]}" /usr/lib/rabbitmq/bin/rabbitmq-diagnostics -q check_running || return 1
  url[rabbitmq]="amqp://guest:guest@127.0.0.1:$port"
}

# --- 4. Runs ------------------------------------------------------------------

declare -A long_name=([relais]=relais [relais-batch]=relais-batch-sealed
  [redis]=redis-streams [rabbitmq]=rabbitmq [nats]=nats-jetstream)
relais_version=""
relais_durability="fsync of the broker's journal before Accepted; sender outbox and receiver store synced too; Ed25519 per message"
relais_batch_durability="as relais; one Ed25519 signature per batch of up to 256 envelopes (PROTOCOL.md 4.8), each with its Merkle proof"

mkdir -p "$out"
: >"$out/runs.jsonl"
started_at=$(date -u +%Y-%m-%dT%H:%M:%SZ)
python3 - "$out/meta.json" "$started_at" "$invocation" "$runs" "$rates" "$payload_bytes" "$window" <<'EOF'
import json, os, platform, sys
path, started, command, runs, rates, payload, window = sys.argv[1:]
json.dump({"started": started, "command": command, "runs per load": int(runs), "offered loads": rates,
           "payload bytes": int(payload), "window": int(window),
           "machine": "%s, %d cores, %s" % (platform.node(), os.cpu_count(),
                                            platform.release())},
          open(path, "w"), indent=1)
EOF

for system in $systems; do
  case "$system" in
    relais | relais-batch) read -r relais_version < <(build/bin/relaisd --version 2>/dev/null) || true ;;
    *)
      echo "run.sh: starting $system" >&2
      if ! "start_$system"; then
        unavailable[$system]="$system's server did not start"
      fi
      ;;
  esac
done

messages_for() {
  if [ "$1" = max ]; then
    echo "$messages"
  else
    python3 -c "import math, sys; print(max($messages_min, math.ceil(float(sys.argv[1]) * $seconds_per_rate)))" "$1"
  fi
}

total=0
for rate in $rates; do for system in $systems; do total=$((total + runs)); done; done
done_runs=0

# run_one SYSTEM OFFERED RUN MESSAGES: one run, one line of runs.jsonl.
run_one() {
  local system=$1 offered=$2 run=$3 m=$4 rc=0 add="" cmd
  local rate_flag=()
  [ "$offered" = max ] || rate_flag=(--rate "$offered")
  if [ "$system" = relais ] || [ "$system" = relais-batch ]; then
    local seal=() durability=$relais_durability
    if [ "$system" = relais-batch ]; then
      seal=(--batch-seal 256)
      durability=$relais_batch_durability
    fi
    cmd=(build/bin/relais-bench --messages "$m" --payload-bytes "$payload_bytes"
      --in-flight "$window" --window "$window" --drain-timeout "$timeout_s"
      "${seal[@]}" "${rate_flag[@]}" --json)
    add=$(python3 -c 'import json, sys; print(json.dumps({"system": sys.argv[3], "version": sys.argv[1], "durability": sys.argv[2]}))' \
      "$relais_version" "$durability" "${long_name[$system]}")
  else
    cmd=("$peer_bench" --system "$system" --url "${url[$system]:-}" --messages "$m"
      --payload-bytes "$payload_bytes" --window "$window" --timeout "$timeout_s"
      "${rate_flag[@]}" --json)
  fi
  : >"$tmp/stdout"
  if [ -n "${unavailable[$system]:-}" ]; then
    echo "${unavailable[$system]}" >"$tmp/stderr"
    rc=3
  else
    # A hard limit besides each program's own timeout without progress.
    timeout -k 10 $((120 + 2 * timeout_s + m / 200)) "${cmd[@]}" \
      >"$tmp/stdout" 2>"$tmp/stderr" </dev/null &
    bench_pid=$!
    wait "$bench_pid" || rc=$?
    bench_pid=""
  fi
  done_runs=$((done_runs + 1))
  python3 bench/peers/results.py record --out "$out/runs.jsonl" \
    --system "${long_name[$system]}" --offered "$offered" --run "$run" \
    --exit-code "$rc" --stdout "$tmp/stdout" --stderr "$tmp/stderr" \
    ${add:+--add "$add"} --progress "[$done_runs/$total]"
  [ "$rc" -eq 0 ] || sweep_relais_tmp
}

echo "run.sh: $total runs; results in $out" >&2
for rate in $rates; do
  m=$(messages_for "$rate")
  for ((run = 1; run <= runs; run++)); do
    for system in $systems; do
      run_one "$system" "$rate" "$run" "$m"
    done
  done
done

# --- 5. Medians, table, report ------------------------------------------------

stop_servers
python3 bench/peers/results.py medians "$out"
echo
python3 bench/peers/results.py table "$out"
echo
bench/report.sh "$out"
echo "run.sh: started $started_at, ended $(date -u +%Y-%m-%dT%H:%M:%SZ); results in $out" >&2
