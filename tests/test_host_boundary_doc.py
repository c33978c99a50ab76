"""docs/host-boundary.md maps each host-boundary failure to its regression tests: every test and golden
case it names exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "host-boundary.md"


def test_every_test_the_audit_names_exists() -> None:
    text = DOC.read_text()
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) > 40
    missing = [f"{path}::{name}" for path, name in named if f"\ndef {name}(" not in (ROOT / path).read_text()]
    assert not missing, missing


def test_every_golden_case_the_audit_names_is_recorded() -> None:
    cases = set(re.findall(r"golden `([\w-]+)`", DOC.read_text()))
    assert len(cases) >= 5
    golden = ROOT / "tests" / "golden"
    missing = [c for c in cases if not (golden / "recorded" / f"{c}.json").exists()]
    assert not missing and all((golden / "cases" / f"{c}.yaml").exists() for c in cases), missing
