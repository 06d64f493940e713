#!/usr/bin/env bash
# bench/report.sh on bench/peers/testdata/runs.jsonl (two systems, two
# offered loads, two runs each, one failed run and one with a loss): the
# table of medians says what the runs say, the failed run is left out of
# the medians, the loss is shown as the worst run's, and both plots are
# real PNG images.
#   bench_report_test.sh SOURCE_DIR
set -euo pipefail
src=$1
dir=$(mktemp -d /tmp/relais-report-test.XXXXXX)
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# No runs: a clear refusal.
if "$src/bench/report.sh" "$dir" 2>"$dir/err"; then fail "an empty folder gave a report"; fi
grep -q "no runs in" "$dir/err" || fail "no reason given for an empty folder: $(cat "$dir/err")"

cp "$src/bench/peers/testdata/runs.jsonl" "$dir/"
"$src/bench/report.sh" "$dir" 2>"$dir/err" || fail "report.sh failed: $(cat "$dir/err")"
report=$dir/report.md
[ -s "$report" ] || fail "no report.md"
grep -q '^| relais ' "$report" || fail "no relais row in report.md"
grep -q '^| redis-streams ' "$report" || fail "no redis-streams row in report.md"
grep -q 'throughput.png' "$report" || fail "report.md does not show throughput.png"
grep -q 'latency.png' "$report" || fail "report.md does not show latency.png"
# relais at 1000 msg/s: the two runs accepted 998.1 and 999.0 msg/s, so
# the median is 998.55 (written rounded to 999).
row=$(grep '^| relais ' "$report" | grep '| 1 000 |' | head -1)
[ -n "$row" ] || fail "no relais row at 1 000 msg/s: $(grep '^| relais' "$report")"
echo "$row" | grep -q '| 999 |' || fail "relais at 1 000 msg/s: median accepted is not 999: $row"
# redis-streams at max: run 2 lost a message: the worst run shows 1.
row=$(grep '^| redis-streams ' "$report" | grep 'max' | head -1)
echo "$row" | grep -Eq '\| 1 \| 0 \|' || fail "the loss of redis-streams' run 2 is not shown: $row"
# relais at max carries relais-bench's machine bound in both runs: bounds
# 10 000 and 10 400 msg/s, shares 0.421 and 0.395: medians 10 200 and 0.41.
grep -q '^- relais: 10 200 msg/s (seal 36.0 µs, open 76.5 µs per envelope, 2 cores); end to end, closed loop: 0.41 of it$' "$report" ||
  fail "no machine bound line for relais: $(grep -A3 'What the machine' "$report")"
for png in throughput latency; do
  [ "$(head -c 8 "$dir/$png.png" | od -An -tx1 | tr -d ' \n')" = 89504e470d0a1a0a ] ||
    fail "$png.png is not a PNG image"
done
echo "ok: report.md and both plots from the fixture"
