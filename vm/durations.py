"""Write tests/real_durations.json from the JUnit reports of the last `make test-real`.

`pytest --shard I/N` (tests/conftest.py) balances the VMs by these durations; refresh them after
adding real tests:  python vm/durations.py
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def node_id(case: ET.Element) -> str:
    """pytest's node id from a JUnit testcase (classname "tests.test_x" + name "test_y[p]")."""
    module = case.get("classname", "").replace(".", "/")
    return f"{module}.py::{case.get('name')}"


def main() -> int:
    reports = sorted((ROOT / "vm" / "out").glob("junit-real-*.xml"))
    if not reports:
        print("vm/durations.py: no vm/out/junit-real-*.xml: run `make test-real` first", file=sys.stderr)
        return 1
    durations = {}
    for report in reports:
        for case in ET.parse(report).getroot().iter("testcase"):
            durations[node_id(case)] = round(float(case.get("time", 0)), 1)
    path = ROOT / "tests" / "real_durations.json"
    path.write_text(json.dumps(dict(sorted(durations.items())), indent=1) + "\n")
    print(f"{path.relative_to(ROOT)}: {len(durations)} tests, {sum(durations.values()):.0f} s in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
