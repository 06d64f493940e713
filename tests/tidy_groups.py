#!/usr/bin/env python3
"""Gathers a build's unity sources into fewer sources for clang-tidy.

clang-tidy's checks walk the whole syntax tree of each source it reads,
the standard library's and the large headers' (cpp-httplib, CLI11,
RocksDB, nlohmann-json) included, whatever HeaderFilterRegex reports: 36
unity sources cost about 420 s of CPU, most of it on the same headers.
This writes BUILD/tidy/, where each source includes one program's unity
source (those with a main() never share a source) and the libraries
nearest to it in the tree, with a compile database whose flags are the
union of theirs (every target is built with the same options; only its
defines and include folders differ). Usage:

    tests/tidy_groups.py BUILD REGEX

REGEX selects the unity sources by path (as run-clang-tidy's filter).
Prints the folder for run-clang-tidy -p.
"""
import json
import os
import re
import shlex
import sys


def included_sources(unity):
    with open(unity, encoding="utf-8") as f:
        return re.findall(r'^#include "(.+)"$', f.read(), re.M)


def defines_main(sources):
    pattern = re.compile(r"^(int main\(|BENCHMARK_MAIN\(\))", re.M)
    for source in sources:
        with open(source, encoding="utf-8") as f:
            if pattern.search(f.read()):
                return True
    return False


def shared_prefix(a, b):
    n = 0
    for x, y in zip(a.split("/"), b.split("/")):
        if x != y:
            break
        n += 1
    return n


def main():
    build, regex = os.path.abspath(sys.argv[1]), re.compile(sys.argv[2])
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        entries = [e for e in json.load(f) if regex.search(e["file"])]
    units = []
    for e in sorted(entries, key=lambda e: e["file"]):
        sources = included_sources(e["file"])
        units.append({
            "entry": e,
            "where": os.path.relpath(e["file"], build).split("/CMakeFiles/")[0],
            "main": defines_main(sources),
            "weight": sum(os.path.getsize(s) for s in sources),
        })
    groups = [{"units": [u], "weight": u["weight"]} for u in units if u["main"]]
    if not groups:
        groups = [{"units": [], "weight": 0}]
    for u in (u for u in units if not u["main"]):
        # The nearest program in the tree, the lightest of those.
        best = max(groups, key=lambda g: (
            max((shared_prefix(u["where"], m["where"]) for m in g["units"]),
                default=0),
            -g["weight"]))
        best["units"].append(u)
        best["weight"] += u["weight"]

    out = os.path.join(build, "tidy")
    os.makedirs(out, exist_ok=True)
    database = []
    for i, g in enumerate(groups):
        path = os.path.join(out, f"group_{i}.cc")
        with open(path, "w", encoding="utf-8") as f:
            for u in g["units"]:
                f.write(f'#include "{u["entry"]["file"]}"\n')
        flags, seen = [], set()
        for u in g["units"]:
            for arg in shlex.split(u["entry"]["command"]):
                if re.match(r"-[DI]", arg) and arg not in seen:
                    seen.add(arg)
                    flags.append(arg)
        first = shlex.split(g["units"][0]["entry"]["command"])
        others = [a for a in first[1:] if not re.match(r"-[DI]", a)]
        # Drop the object and source: "-o X -c Y".
        others = [a for j, a in enumerate(others)
                  if a not in ("-o", "-c") and (j == 0 or others[j - 1] not in ("-o", "-c"))]
        command = [first[0]] + flags + others + ["-c", path]
        database.append({"directory": build, "command": shlex.join(command),
                         "file": path})
    with open(os.path.join(out, "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump(database, f, indent=1)
    print(out)


if __name__ == "__main__":
    main()
