"""-S/--select: LVM's selection syntax on lvs/vgs/pvs."""

from __future__ import annotations

import shlex

import pytest

from backends.sim import SimBackend
from lvsim.backend import Result
from lvsim.core.model import MiB


@pytest.fixture
def sim() -> SimBackend:
    b = SimBackend()
    b.add_disk(300 * MiB)
    b.add_disk(100 * MiB)
    for cmd in (
        "vgcreate vg /dev/loop0",
        "vgcreate other /dev/loop1",
        "lvcreate -L 12M -n small vg",
        "lvcreate -L 40M -n big vg",
        "lvcreate -L 8M -n data other",
        "lvchange -an vg/big",
    ):
        assert b.run(shlex.split(cmd)).rc == 0, cmd
    return b


def run(sim: SimBackend, cmd: str) -> Result:
    return sim.run(shlex.split(cmd))


def names(sim: SimBackend, selection: str) -> list[str]:
    res = run(sim, f"lvs --noheadings -o lv_name -S {shlex.quote(selection)}")
    assert res.rc == 0, res.stderr
    return res.stdout.split()


@pytest.mark.parametrize(
    ("selection", "expected"),
    [
        ("lv_size>10m", ["big", "small"]),
        ("lv_size>12m", ["big"]),
        ("lv_size>=12m", ["big", "small"]),
        ("size<12", ["data"]),
        ("lv_size=12582912b", ["small"]),
        ("lv_name=big", ["big"]),
        ("name!=big", ["data", "small"]),
        ("lv_name=~^s", ["small"]),
        ("lv_name!~a", ["big"]),
        ("lv_name=~'(l|t)'", ["data", "small"]),
        ("vg_name=vg && lv_size<20m", ["small"]),
        ("vg_name=other || lv_name=big", ["data", "big"]),
        ("vg_name=vg,lv_name=small", ["small"]),
        ("!(vg_name=vg)", ["data"]),
        ("(lv_name=big || lv_name=data) && vg_name=vg", ["big"]),
        ("lv_active=active", ["data", "small"]),
        ("lv_attr=~'^-wi-a'", ["data", "small"]),
        ("seg_count=1", ["data", "big", "small"]),
        ("lv_role=public", ["data", "big", "small"]),
        ("lv_active_locally=1", ["data", "small"]),
        ("lv_active_locally=active", ["data", "small"]),
        ("all", ["data", "big", "small"]),
        ("lv_name='big'", ["big"]),
    ],
)
def test_selections(sim: SimBackend, selection: str, expected: list[str]) -> None:
    assert names(sim, selection) == expected


def test_vgs_and_pvs_selection(sim: SimBackend) -> None:
    assert run(sim, "vgs --noheadings -o vg_name -S 'lv_count>=2'").stdout == "  vg\n"
    assert run(sim, "pvs --noheadings -o pv_name -S vg_name=other").stdout == "  /dev/loop1\n"


def test_selected_field_shows_every_row(sim: SimBackend) -> None:
    res = run(sim, "lvs --noheadings -o lv_name,selected -S lv_name=big")
    assert res.stdout == "  data         0\n  big          1\n  small        0\n"


def test_unknown_selection_field(sim: SimBackend) -> None:
    res = run(sim, "lvs -S 'nosuch>1'")
    assert (res.rc, res.stdout) == (5, "")
    assert (
        "    lv_name                     - Name.  LVs created for internal use are enclosed in brackets. [string]\n"
        in (res.stderr)
    )
    assert res.stderr.endswith(
        "  Unrecognised selection field: nosuch\n"
        "  Selection syntax error at 'nosuch>1'.\n"
        "  Use 'help' for selection to get more help.\n"
    )


def test_selection_syntax_errors(sim: SimBackend) -> None:
    res = run(sim, "lvs -S 'lv_name=a lv_name=b'")
    assert res.rc == 5
    assert res.stderr == (
        "  Expecting logical operator\n"
        "  Selection syntax error at 'lv_name=b'.\n"
        "  Use 'help' for selection to get more help.\n"
    )
    res = run(sim, "lvs -S 'lv_name>a'")
    assert res.rc == 5
    assert res.stderr.endswith(
        "  Operator can be used only with number, size, time or percent fields: lv_name>a\n"
        "  Selection syntax error at 'lv_name>a'.\n"
        "  Use 'help' for selection to get more help.\n"
    )
    assert "  Selection operators\n" in res.stderr
    res = run(sim, "lvs -S 'lv_size=1%'")
    assert "  Found percent value but size value expected for selection field lv_size.\n" in res.stderr
    res = run(sim, "lvs -S '(lv_name=a'")
    assert res.stderr == "  Syntax error: right parenthesis expected at ''\n"
