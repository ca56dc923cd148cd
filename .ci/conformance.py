"""CI's ratchet on ClearML's own API test suite: every test docs/conformance.md lists as passing
must pass (a regression fails CI), and tests that pass but are not listed are named, so the
list (the floor) is raised as endpoints land.

    python .ci/conformance.py RESULTS/junit.xml docs/conformance.md
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

BEGIN, END = "<!-- passing:begin -->", "<!-- passing:end -->"
PREFIX = "upstream.apiserver.tests.automated."


def outcomes(junit: Path) -> dict[str, str]:
    """test id (file.py::Class::name) -> passed | failure | error | skipped."""
    found = {}
    for case in ET.parse(junit).iter("testcase"):
        module, _, cls = case.get("classname", "").removeprefix(PREFIX).rpartition(".")
        result = next((c.tag for c in case if c.tag in ("failure", "error", "skipped")), "passed")
        found[f"{module}.py::{cls}::{case.get('name')}"] = result
    return found


def floor(doc: Path) -> list[str]:
    text = doc.read_text()
    block = text[text.index(BEGIN) + len(BEGIN) : text.index(END)]
    return re.findall(r"^- `([^`]+)`", block, re.M)


def main(junit: Path, doc: Path) -> int:
    got = outcomes(junit)
    listed = floor(doc)
    passed = sorted(t for t, r in got.items() if r == "passed")
    regressed = [t for t in listed if got.get(t) != "passed"]
    new = [t for t in passed if t not in listed]
    for t in regressed:
        print(f"REGRESSED: {t}: {got.get(t, 'not run')}")
    for t in new:
        print(f"passes, not yet in the floor (add it to {doc}): {t}")
    print(
        f"clearml conformance: {len(passed)} of {len(got)} passed; floor {len(listed)}; "
        f"{len(regressed)} regressed"
    )
    return 1 if regressed or not got else 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]), Path(sys.argv[2])))
