#!/usr/bin/env bash
# bench/report.sh DIR: the report of a bench/peers/run.sh invocation.
#
# Reads DIR/runs.jsonl (DIR/medians.json if there is one; the medians are
# computed from runs.jsonl when it is absent), writes DIR/report.md (the
# table of the medians, the plots as images), DIR/throughput.png (accepted
# and end-to-end msg/s achieved against the offered load, one line per
# system) and DIR/latency.png (end-to-end p50 solid and p99 dashed, log
# scale, one colour per system). Compare only figures of one invocation.
#
# Needs python3 (standard library) and gnuplot (gnuplot-nox, installed with
# apt-get if missing).
set -euo pipefail

if [ $# -ne 1 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
  echo "usage: bench/report.sh DIR   (DIR holds runs.jsonl from bench/peers/run.sh)" >&2
  exit 2
fi
dir=$1
here=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

if [ ! -s "$dir/runs.jsonl" ] && [ ! -s "$dir/medians.json" ]; then
  echo "bench/report.sh: no runs in $dir (no runs.jsonl)" >&2
  exit 1
fi

if ! command -v gnuplot >/dev/null; then
  echo "bench/report.sh: installing gnuplot-nox" >&2
  sudo=()
  [ "$(id -u)" -ne 0 ] && sudo=(sudo)
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends gnuplot-nox
fi

# report.md and the gnuplot program (its data inline), then the images.
python3 "$here/peers/results.py" report "$dir"
gnuplot "$dir/plots.gp"
for png in throughput latency; do
  [ -s "$dir/$png.png" ] || {
    echo "bench/report.sh: gnuplot wrote no $dir/$png.png" >&2
    exit 1
  }
done
echo "bench/report.sh: wrote $dir/report.md, $dir/throughput.png, $dir/latency.png" >&2
