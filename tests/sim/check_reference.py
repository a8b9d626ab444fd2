#!/usr/bin/env python3
"""Checks larder-sim's LRU and OPT against the reference table of the shared traces.

../shared/traces/README.md lists, per trace, "capacity: LRU / OPT" hit ratios in percent, to one
decimal. A correct simulator reproduces both columns to within 0.1 point. This replays each trace
named below (glimpse always; the larger ones too unless --quick) and compares.

Usage: check_reference.py LARDER_SIM [TRACES_DIR] [--quick]
TRACES_DIR defaults to $LARDER_TRACES, then <repo>/../shared/traces, then /work/shared/traces
(where the collection lives on the team's machines, for clones made elsewhere). Exits 77 (skipped) when no
trace collection is found: the traces are read at run time, never copied into the repository.
Prints a doctest-style summary line (one case per trace).
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile

# README trace name -> (file, format)
TRACES = {
    "glimpse": ("lirs-gli.trace.gz", "lirs"),
    "loop": ("lirs-loop.trace.gz", "lirs"),
    "sprite": ("lirs-sprite.trace.gz", "lirs"),
    "multi2": ("lirs-multi2.trace.gz", "lirs"),
    "web12": ("cache2k-web12.trace.xz", "cache2k"),
    "OLTP": ("arc-oltp.lis.zst", "arc"),
    "scarab": ("scarab-recs.trace.xz", "int64"),
}
QUICK = ("glimpse", "loop", "sprite", "multi2")
ROW = re.compile(r"^\|\s*(\w+)\s*\|(.*)\|\s*$")
CELL = re.compile(r"(\d+)(k?):\s*([\d.]+)\s*/\s*([\d.]+)")


def reference(readme):
    table = {}
    for line in readme.read_text(encoding="utf-8").splitlines():
        m = ROW.match(line)
        if not m or m.group(1) not in TRACES:
            continue
        cells = {}
        for cap, k, lru, opt in CELL.findall(m.group(2)):
            cells[int(cap) * (1000 if k else 1)] = (float(lru), float(opt))
        if cells:
            table[m.group(1)] = cells
    return table


def main(argv):
    quick = "--quick" in argv
    args = [a for a in argv[1:] if a != "--quick"]
    sim = args[0]
    candidates = [args[1]] if len(args) > 1 else []
    if os.environ.get("LARDER_TRACES"):
        candidates.append(os.environ["LARDER_TRACES"])
    candidates.append(str(pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "traces"))
    candidates.append("/work/shared/traces")
    traces = next((pathlib.Path(c) for c in candidates if (pathlib.Path(c) / "README.md").is_file()),
                  None)
    if traces is None:
        print("no trace collection found (set LARDER_TRACES); skipped")
        return 77
    table = reference(traces / "README.md")
    if "glimpse" not in table:
        print(f"{traces}/README.md: no reference row for glimpse")
        return 1
    passed = failed = 0
    for name, cells in table.items():
        if quick and name not in QUICK:
            continue
        file, fmt = TRACES[name]
        caps = sorted(cells)
        with tempfile.TemporaryDirectory() as tmp:
            out = pathlib.Path(tmp) / "hit_ratio.json"
            subprocess.run([sim, "--trace", str(traces / file), "--format", fmt, "--capacities",
                            ",".join(map(str, caps)), "--policies", "lru,opt", "--json", str(out)],
                           check=True, stdout=subprocess.DEVNULL)
            got = {(r["policy"], r["capacity"]): 100 * r["hit_ratio"]
                   for r in json.loads(out.read_text())}
        bad = []
        for cap in caps:
            for i, policy in enumerate(("lru", "opt")):
                want = cells[cap][i]
                have = got[(policy, cap)]
                if abs(have - want) > 0.1 + 1e-9:
                    bad.append(f"{policy}@{cap}: {have:.2f} vs reference {want}")
        if bad:
            failed += 1
            print(f"{name}: " + "; ".join(bad))
        else:
            passed += 1
            print(f"{name}: LRU and OPT match the reference at {', '.join(map(str, caps))}")
    print(f"[doctest] test cases: {passed + failed} | {passed} passed | {failed} failed | 0 skipped")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
