#!/usr/bin/env python3
"""Reports the skipped integration tests of a pytest JUnit XML file, and fails (exit 1) when any
skip is unexpected: in CI (`CI=true`) with the Reflex broker under test, every prerequisite is
installed by .ci/run, so no test may skip. Against mosquitto the Reflex-only tests skip by design.

    scripts/count-skips.py REPORT.xml
"""

from __future__ import annotations

import os
import sys
import xml.etree.ElementTree as ET


def main(path: str) -> int:
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as err:
        print(f"count-skips: cannot read the pytest report {path}: {err}", file=sys.stderr)
        return 1
    skipped = []
    for case in root.iter("testcase"):
        for skip in case.findall("skipped"):
            name = f"{case.get('classname', '')}::{case.get('name', '')}"
            skipped.append((name, skip.get("message", "")))
    in_ci = os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")
    broker = os.environ.get("REFLEX_TEST_BROKER", "reflex").strip().lower() or "reflex"
    print(f"==> integration tests skipped: {len(skipped)}")
    for name, message in skipped:
        print(f"    {name}: {message}")
    if skipped and in_ci and broker == "reflex":
        print("count-skips: CI=true with the Reflex broker: no integration test may skip; install the "
              "missing prerequisite in .ci/run or fix the test", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sys.exit(main(sys.argv[1]))
