#!/usr/bin/env python3
"""Counts test cases across meson test logs and prints "N passed, N failed".

Each meson test is a doctest binary (or a script printing the same summary line); its stdout
carries "[doctest] test cases: T | P passed | F failed". A test whose log has no such line counts
as one case: passed if meson saw it pass, failed otherwise (a crash before the summary).
Usage: summarize.py PATH [PATH ...], each a testlog*.json or a build directory (its newest
meson-logs/testlog*.json; meson names the log after a --wrapper, e.g. testlog-setarch.json).
"""
import json
import pathlib
import re
import sys

LINE = re.compile(r"\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed")


def count(path):
    passed = failed = 0
    with open(path, encoding="utf-8") as f:
        for raw in f:
            raw = raw.strip()
            if not raw:
                continue
            entry = json.loads(raw)
            if entry.get("result") == "SKIP":
                continue  # nothing ran (e.g. the shared traces are absent); neither passed nor failed
            ok = entry.get("result") in ("OK", "EXPECTEDFAIL")  # should_fail tests that failed
            found = LINE.findall(entry.get("stdout", "") or "")
            if found:
                _, p, fl = (int(x) for x in found[-1])
                passed += p
                failed += fl
                if not ok and fl == 0:
                    failed += 1  # the binary failed after its cases passed (sanitizer, leak)
            elif ok:
                passed += 1
            else:
                failed += 1
    return passed, failed


def resolve(path):
    p = pathlib.Path(path)
    if p.is_dir():
        logs = sorted((p / "meson-logs").glob("testlog*.json"), key=lambda f: f.stat().st_mtime)
        if not logs:
            raise FileNotFoundError(path)
        return logs[-1]
    return p


def main(paths):
    passed = failed = 0
    for path in paths:
        try:
            p, f = count(resolve(path))
        except FileNotFoundError:
            print(f"{path}: missing (the build or test run did not start)", file=sys.stderr)
            p, f = 0, 1
        passed += p
        failed += f
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
