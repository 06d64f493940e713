#!/usr/bin/env bash
# deploy/prometheus/ and deploy/grafana/ hold together: promtool accepts
# the scrape configuration and the alert rules and passes the rules' unit
# tests, the Grafana dashboard is valid JSON with a query in each panel,
# and every relais_ metric they name is one docs/OPERATIONS.md documents
# (a misspelled name would give an empty panel or a silent alert).
# Usage: monitoring_test.sh SOURCE_DIR
set -euo pipefail
src="$1"
cd "$src/deploy/prometheus"
promtool check config prometheus.yml
promtool test rules relais-alerts.test.yml
python3 - "$src" <<'PY'
import json, re, sys
src = sys.argv[1]
dash = json.load(open(f"{src}/deploy/grafana/relais-dashboard.json"))
assert dash["panels"], "the dashboard has no panels"
exprs = []
for p in dash["panels"]:
    targets = [t["expr"] for t in p.get("targets", []) if t.get("expr")]
    assert targets, f"panel '{p['title']}' has no query"
    exprs += targets
exprs.append(open(f"{src}/deploy/prometheus/relais-alerts.yml").read())
documented = open(f"{src}/docs/OPERATIONS.md").read()
unknown = set()
for e in exprs:
    for name in re.findall(r"relais_[a-z_]+", e):
        base = re.sub(r"_(bucket|sum|count)$", "", name)
        if f"`{base}`" not in documented and f"`{name}`" not in documented:
            unknown.add(name)
assert not unknown, f"not in docs/OPERATIONS.md: {sorted(unknown)}"
print(f"dashboard: {len(dash['panels'])} panels; every metric documented")
PY
