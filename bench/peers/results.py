#!/usr/bin/env python3
"""Results of bench/peers/run.sh: runs.jsonl, medians, table and plots.

Standard library only (run.sh and bench/report.sh call it):
  results.py record --out DIR/runs.jsonl --system S --offered O --run N
                    --exit-code C --stdout F --stderr F [--add JSON]
  results.py medians DIR      writes DIR/medians.json from DIR/runs.jsonl
  results.py table DIR        prints the Markdown table of the medians
  results.py report DIR       writes DIR/report.md and DIR/plots.gp
"""

import argparse
import json
import os
import statistics
import sys

FOOTER = (
    "Medians over each row's runs; lost and duplicates: the worst run "
    "(every run is a line of runs.jsonl). Compare only figures from the "
    "same invocation: fsync speed varies a lot between runs on these "
    "machines. NATS 2.9.10 does not fsync each message (sync_interval came "
    "in 2.10): its PubAck is not the durable acknowledgement the others "
    "give.")

# Plot colours: relais stands out, the peers keep theirs across plots.
COLOURS = {
    "relais": "#d62728",
    "relais-batch-sealed": "#8b0000",
    "redis-streams": "#1f77b4",
    "rabbitmq": "#ff7f0e",
    "nats-jetstream": "#2ca02c",
}
OTHER_COLOURS = ["#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]


def fail(message):
    print("results.py: " + message, file=sys.stderr)
    sys.exit(1)


def last_json_object(text):
    """The last line of `text` that is a JSON object, or None."""
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("{"):
            try:
                value = json.loads(line)
            except ValueError:
                continue
            if isinstance(value, dict):
                return value
    return None


def offered_value(text):
    """'max' stays a string; a rate becomes a number."""
    if text == "max":
        return "max"
    number = float(text)
    return int(number) if number.is_integer() else number


def record(args):
    """Appends one run's line to runs.jsonl, whatever the run did."""
    def read(path):
        try:
            with open(path, encoding="utf-8", errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    out, err = read(args.stdout), read(args.stderr)
    line = last_json_object(out) or {}
    if args.add:
        line.update(json.loads(args.add))
    line.setdefault("system", args.system)
    line["run"] = args.run
    line["offered"] = offered_value(args.offered)
    code = args.exit_code
    if code != 0:
        if code == 124 or code == 137:
            why = "timed out"
        elif code == 1 and "messages" in line:
            why = "lost or duplicated messages"
        else:
            why = "failed"
        last = [l for l in err.strip().splitlines() if l.strip()]
        detail = (": " + last[-1].strip()[:300]) if last else ""
        line["error"] = "exit %d, %s%s" % (code, why, detail)
    with open(args.out, "a", encoding="utf-8") as f:
        f.write(json.dumps(line, sort_keys=True) + "\n")
    if args.progress is not None:
        offered = ("max" if line["offered"] == "max"
                   else "%s msg/s" % fmt(line["offered"]))
        summary = ("accepted %s msg/s, end to end %s msg/s, e2e p50 %s ms, "
                   "p99 %s ms, lost %s, duplicates %s" % (
                       fmt(line.get("accept_msgs_per_s")),
                       fmt(line.get("msgs_per_s")), ms(line.get("e2e_p50_ms")),
                       ms(line.get("e2e_p99_ms")), fmt(line.get("lost")),
                       fmt(line.get("duplicates")))
                   if "messages" in line else "no figures")
        print("%s %s, offered %s, run %d: %s%s" % (
            args.progress, line["system"], offered, args.run, summary,
            " [%s]" % line["error"] if "error" in line else ""),
            file=sys.stderr)


def read_runs(directory):
    path = os.path.join(directory, "runs.jsonl")
    runs = []
    try:
        with open(path, encoding="utf-8") as f:
            for number, text in enumerate(f, 1):
                text = text.strip()
                if not text:
                    continue
                try:
                    runs.append(json.loads(text))
                except ValueError:
                    fail("%s:%d is not JSON" % (path, number))
    except OSError:
        fail("no runs: %s is missing" % path)
    if not runs:
        fail("no runs: %s is empty" % path)
    return runs


def offered_key(offered):
    """Rates in increasing order, the closed loop ('max') last."""
    return (1, 0) if offered == "max" else (0, float(offered))


def is_number(value):
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def compute_medians(runs):
    """One object per system x offered load, in the order of the table."""
    groups = {}
    systems = []
    for run in runs:
        # relais-bench's machine bound (an object): its numbers as
        # machine_<name>, so that they get medians like the others.
        machine = run.get("machine")
        if isinstance(machine, dict):
            run = dict(run)
            for name, value in machine.items():
                run["machine_" + name] = value
        system = run.get("system", "?")
        if system not in systems:
            systems.append(system)
        groups.setdefault((system, run.get("offered", "max")), []).append(run)
    # relais first, then the peers in the order they ran.
    first_seen = list(systems)
    systems.sort(key=lambda s: (not s.startswith("relais"),
                                first_seen.index(s)))
    rows = []
    for system in systems:
        keys = sorted((k for k in groups if k[0] == system),
                      key=lambda k: offered_key(k[1]))
        for key in keys:
            group = groups[key]
            # A run has figures if the program printed them, even if it
            # then failed (lost or duplicated messages).
            measured = [r for r in group if "messages" in r]
            row = {"system": system, "offered": key[1],
                   "runs": len(measured),
                   "failed": sum(1 for r in group if "error" in r)}
            for field in ("version", "durability"):
                values = [r[field] for r in group if r.get(field)]
                if values:
                    row[field] = values[0]
            fields = sorted({f for r in measured for f, v in r.items()
                             if is_number(v) and f != "run"})
            for field in fields:
                values = [r[field] for r in measured if is_number(r.get(field))]
                if values:
                    median = statistics.median(values)
                    row[field] = (int(median) if isinstance(median, float)
                                  and median.is_integer()
                                  and all(isinstance(v, int) for v in values)
                                  else median)
            for field in ("lost", "duplicates"):
                values = [r[field] for r in measured if is_number(r.get(field))]
                if values:
                    row[field + "_max"] = max(values)
            errors = [r["error"] for r in group if "error" in r]
            if errors:
                row["errors"] = errors
            rows.append(row)
    return rows


def load_medians(directory):
    """medians.json if there is one, else computed from runs.jsonl."""
    path = os.path.join(directory, "medians.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            rows = json.load(f)
        if rows:
            return rows
    return compute_medians(read_runs(directory))


def medians(args):
    rows = compute_medians(read_runs(args.dir))
    with open(os.path.join(args.dir, "medians.json"), "w",
              encoding="utf-8") as f:
        json.dump(rows, f, indent=1, sort_keys=True)
        f.write("\n")


def fmt(value, digits=0):
    if not is_number(value):
        return "–"
    if digits == 0:
        return "{:,.0f}".format(value).replace(",", " ")
    return "{:.{}f}".format(value, digits)


def ms(value):
    """Latencies: 3 significant digits or so."""
    if not is_number(value):
        return "–"
    return fmt(value, 2 if value < 10 else 1 if value < 100 else 0)


def table_text(rows):
    lines = [
        "| system | version | durability | offered msg/s | accepted msg/s "
        "| end-to-end msg/s | accept p50 / p99 ms | e2e p50 / p99 ms "
        "| lost | duplicates | runs |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    notes = []
    for row in rows:
        runs = str(row.get("runs", 0))
        if row.get("failed"):
            runs += " (%d failed)" % row["failed"]
            notes.extend("%s at %s: %s" % (row["system"], row["offered"], e)
                         for e in row.get("errors", []))
        offered = row["offered"]
        lines.append("| " + " | ".join([
            row["system"], row.get("version", "?"),
            row.get("durability", "?").replace("|", "/"),
            "max (closed loop)" if offered == "max" else fmt(offered),
            fmt(row.get("accept_msgs_per_s")), fmt(row.get("msgs_per_s")),
            ms(row.get("accept_p50_ms")) + " / " + ms(row.get("accept_p99_ms")),
            ms(row.get("e2e_p50_ms")) + " / " + ms(row.get("e2e_p99_ms")),
            fmt(row.get("lost_max", row.get("lost"))),
            fmt(row.get("duplicates_max", row.get("duplicates"))), runs,
        ]) + " |")
    text = "\n".join(lines) + "\n\n" + FOOTER + "\n"
    bounds = bound_lines(rows)
    if bounds:
        text += ("\nWhat the machine allows relais (relais-bench measures a "
                 "seal, an opening and a synced write just before each run; "
                 "bound = cores / (seal + 2 opens), bench/README.md), "
                 "medians:\n\n" + "".join("- %s\n" % b for b in bounds))
    if notes:
        text += "\nFailed runs:\n\n" + "".join("- %s\n" % n for n in notes)
    return text


def bound_lines(rows):
    """One line per system whose runs carry relais-bench's machine bound:
    the bound, its costs, and the share of it reached in the closed loop
    (else at the highest offered load)."""
    out = []
    for system in dict.fromkeys(r["system"] for r in rows):
        mine = [r for r in rows if r["system"] == system
                and is_number(r.get("machine_bound_msgs_per_s"))]
        if not mine:
            continue
        best = next((r for r in mine if r["offered"] == "max"), mine[-1])
        offered = ("closed loop" if best["offered"] == "max"
                   else "at %s msg/s offered" % fmt(best["offered"]))
        out.append("%s: %s msg/s (seal %s µs, open %s µs per envelope, %s "
                   "cores); end to end, %s: %s of it" % (
                       system, fmt(best["machine_bound_msgs_per_s"]),
                       fmt(best.get("machine_seal_us"), 1),
                       fmt(best.get("machine_open_us"), 1),
                       fmt(best.get("machine_cores")), offered,
                       fmt(best.get("of_bound"), 2)))
    return out


def table(args):
    sys.stdout.write(table_text(load_medians(args.dir)))


def x_positions(rows):
    """Offered load -> x; the closed loop sits at twice the highest rate."""
    rates = sorted({float(r["offered"]) for r in rows if r["offered"] != "max"})
    positions = {r: r for r in rates}
    if any(r["offered"] == "max" for r in rows):
        positions["max"] = rates[-1] * 2 if rates else 1000.0
    return positions, rates


def gnuplot_script(rows, directory):
    """The gnuplot program drawing throughput.png and latency.png; the data
    is inline, so the script stands alone."""
    positions, rates = x_positions(rows)
    systems = []
    for row in rows:
        if row["system"] not in systems:
            systems.append(row["system"])
    colour = {}
    for i, system in enumerate(systems):
        colour[system] = COLOURS.get(system,
                                     OTHER_COLOURS[i % len(OTHER_COLOURS)])
    offered_all = sorted({r["offered"] for r in rows}, key=offered_key)
    tics = ", ".join('"%s" %g' % ("max" if o == "max" else fmt(o),
                                  positions["max" if o == "max" else float(o)])
                     for o in offered_all)
    xs = list(positions.values())
    x_lo, x_hi = min(xs) / 1.5, max(xs) * 1.5

    def data(system, columns):
        """Inline data: the rates joined by a line, a blank line, then the
        closed loop's point on its own."""
        out = []
        for row in rows:
            if row["system"] != system:
                continue
            values = [row.get(c) for c in columns]
            if not all(is_number(v) and v > 0 for v in values):
                continue
            if row["offered"] == "max":
                out.append("")
            x = positions["max" if row["offered"] == "max"
                          else float(row["offered"])]
            out.append("%g %s" % (x, " ".join("%g" % v for v in values)))
        return "\n".join(out or ["NaN NaN"]) + "\ne\n"

    def lines(panel_columns, styles):
        plots, blocks = [], []
        for system in systems:
            width = 3 if system.startswith("relais") else 2
            for column, (dash, point, suffix) in zip(panel_columns, styles):
                plots.append(
                    "'-' using 1:2 with linespoints lw %d pt %d ps 1 "
                    "dt %d lc rgb '%s' title '%s%s'"
                    % (width, point, dash, colour[system], system, suffix))
                blocks.append(data(system, [column]))
        return plots, blocks

    common = [
        "set logscale x",
        "set xrange [%g:%g]" % (x_lo, x_hi),
        "set xtics (%s)" % tics,
        "set xlabel 'offered load (msg/s; max: closed loop)'",
        "set grid",
        "set key top left",
    ]
    out = [
        "# Written by bench/peers/results.py from %s" % directory,
        "set terminal pngcairo size 1200,560 font 'DejaVu Sans,10'",
        "set output '%s'" % os.path.join(directory, "throughput.png"),
        "set multiplot layout 1,2 title 'Throughput achieved against the "
        "offered load (the closed loop \"max\", if run, is the point at the "
        "right end; grey: the offered load)'",
    ] + common + ["set ylabel 'msg/s'", "set yrange [0:*]"]
    for title, column in (("accepted (durably acknowledged to the sender)",
                           "accept_msgs_per_s"),
                          ("end to end (delivered to the receiver)",
                           "msgs_per_s")):
        plots, blocks = lines([column], [(1, 7, "")])
        if rates:
            plots.append("'-' using 1:2 with linespoints lw 1 dt 3 pt 1 "
                         "lc rgb '#999999' title 'offered'")
            blocks.append("\n".join("%g %g" % (r, r) for r in rates) + "\ne\n")
        out.append("set title '%s'" % title)
        out.append("plot " + ", \\\n  ".join(plots))
        out.append("".join(blocks).rstrip("\n"))
    out += [
        "unset multiplot",
        "reset",
        "set terminal pngcairo size 1000,620 font 'DejaVu Sans,10'",
        "set output '%s'" % os.path.join(directory, "latency.png"),
        "set title 'End-to-end latency against the offered load "
        "(solid: p50, dashed: p99; \"max\": the closed loop)'",
    ] + common + [
        "set logscale y",
        "set ylabel 'ms (log scale)'",
        "set key outside right top",
    ]
    # p50 solid with filled dots, p99 dashed with open ones (a single
    # offered load draws no line).
    plots, blocks = lines(["e2e_p50_ms", "e2e_p99_ms"],
                          [(1, 7, " p50"), (2, 6, " p99")])
    out.append("plot " + ", \\\n  ".join(plots))
    out.append("".join(blocks).rstrip("\n"))
    return "\n".join(out) + "\n"


def report(args):
    rows = load_medians(args.dir)
    if not any(r.get("runs") for r in rows):
        fail("no run of %s has figures (see runs.jsonl's errors)" % args.dir)
    with open(os.path.join(args.dir, "plots.gp"), "w", encoding="utf-8") as f:
        f.write(gnuplot_script(rows, args.dir))
    title = os.path.basename(os.path.normpath(args.dir))
    meta = ""
    meta_path = os.path.join(args.dir, "meta.json")
    if os.path.exists(meta_path):
        with open(meta_path, encoding="utf-8") as f:
            m = json.load(f)
        meta = "".join("- %s: %s\n" % (k, m[k]) for k in sorted(m)) + "\n"
    with open(os.path.join(args.dir, "report.md"), "w",
              encoding="utf-8") as f:
        f.write("# relais and its peers: %s\n\n" % title)
        f.write(meta)
        f.write(table_text(rows))
        f.write("\n![Throughput against the offered load](throughput.png)\n\n")
        f.write("![End-to-end latency against the offered load]"
                "(latency.png)\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--system", required=True)
    r.add_argument("--offered", required=True)
    r.add_argument("--run", type=int, required=True)
    r.add_argument("--exit-code", type=int, required=True)
    r.add_argument("--stdout", required=True)
    r.add_argument("--stderr", required=True)
    r.add_argument("--add", help="JSON object merged into the run's line")
    r.add_argument("--progress", help="print a line about the run, led by this")
    r.set_defaults(func=record)
    for name, func in (("medians", medians), ("table", table),
                       ("report", report)):
        p = sub.add_parser(name)
        p.add_argument("dir")
        p.set_defaults(func=func)
    args = parser.parse_args()
    args.func(args)


if __name__ == "__main__":
    main()
