#!/usr/bin/env python3
"""Fails when a layer includes a header it may not (see docs/design.md, "Layers").

Prints a doctest-style summary line so CI can count it like the other suites.
"""
import pathlib
import re
import sys

# folder -> folders whose headers it may include ("larder" = public headers)
ALLOWED = {
    "base": {"base", "larder"},
    "index": {"base", "index", "larder"},
    "policy": {"base", "index", "policy", "larder"},
    "snapshot": {"base", "snapshot", "larder"},
    "engine": {"base", "index", "policy", "snapshot", "engine", "larder"},
    "loaders": {"larder", "loaders"},
    "tools": {"base", "index", "snapshot", "tools", "larder"},
    "tests/tools": {"larder", "tools", "snapshot"},
    "coord": {"larder", "index"},
    "examples": {"larder"},
    "tests/api": {"larder"},
    "tests/fuzz": {"larder", "snapshot", "index", "coord"},
    "tests/index": {"larder", "index"},
    "tests/loaders": {"larder"},
    "tests/coord": {"larder"},
    "tests/record": {"larder"},
    "tests/integration": {"larder"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main(root: pathlib.Path) -> int:
    failures = []
    checked = 0
    for folder, allowed in ALLOWED.items():
        base = root / folder
        if not base.is_dir():
            continue
        for path in sorted(base.rglob("*")):
            if path.suffix not in (".h", ".cc"):
                continue
            checked += 1
            for inc in INCLUDE.findall(path.read_text(encoding="utf-8")):
                if "/" not in inc:
                    continue  # a header next to the file
                top = inc.split("/")[0]
                if top not in allowed:
                    failures.append(f"{path.relative_to(root)}: includes \"{inc}\" "
                                    f"but {folder}/ may only include {sorted(allowed)}")
    for f in failures:
        print(f)
    print(f"checked {checked} files")
    failed = 1 if failures else 0
    print(f"[doctest] test cases: 1 | {1 - failed} passed | {failed} failed | 0 skipped")
    return failed


if __name__ == "__main__":
    sys.exit(main(pathlib.Path(sys.argv[1])))
