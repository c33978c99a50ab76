"""Field names, help text, percent formatting and sort order of the report engine."""

from __future__ import annotations

import shlex

import pytest

from backends.sim import SimBackend
from lvsim.core.model import MiB
from lvsim.lvm.report import layout
from lvsim.lvm.report.field_names import all_types, field_help, find_field
from lvsim.lvm.report.fields import BY_NAME, FIELDS, LV_TYPES, LVS, PCT, SEGS, VGS


@pytest.mark.parametrize(
    ("word", "prefix", "expected"),
    [
        ("lv_name", "lv_", "lv_name"),
        ("name", "lv_", "lv_name"),
        ("LV_NAME", "lv_", "lv_name"),
        ("lvname", "lv_", "lv_name"),
        ("size", "lv_", "lv_size"),
        ("attr", "vg_", "vg_attr"),
        ("name", "pv_", "pv_name"),
        ("size", "seg_", "seg_size"),
        ("seg_count", "lv_", "seg_count"),
        ("stripesize", "seg_", "stripe_size"),
        ("selected", "lv_", "selected"),
    ],
)
def test_find_field(word: str, prefix: str, expected: str) -> None:
    field = find_field(word, prefix)
    assert field is not None and field.name == expected


def test_unknown_names() -> None:
    assert find_field("device_id", "lv_") is None
    assert find_field("name", "seg_") is None
    assert find_field("", "lv_") is None


def test_all_expansions() -> None:
    assert all_types("lv_all", "lv_", LVS) == LV_TYPES
    assert all_types("vg_all", "lv_", LVS) == VGS
    assert all_types("all", "lv_", LVS | VGS) == LV_TYPES | VGS
    assert all_types("seg_all", "lv_", LVS) == SEGS
    assert all_types("nosuch", "lv_", LVS) == 0


def test_table_matches_columns_h() -> None:
    assert len(FIELDS) == 218
    assert BY_NAME["pe_start"].heading == "1st PE" and BY_NAME["pe_start"].width == 7
    assert BY_NAME["data_percent"].kind == PCT and not BY_NAME["data_percent"].right
    assert BY_NAME["lv_size"].right and BY_NAME["lv_skip_activation"].right
    assert not BY_NAME["lv_attr"].right


def test_help_layout() -> None:
    lines = field_help(True, False)
    assert lines[:3] == [
        "Logical Volume Fields",
        "---------------------",
        "  lv_all                      - All fields in this section.",
    ]
    assert "Logical Volume Device Info and Status Combined Fields" in lines
    assert "  pvseg_all                   - All fields in this section." in lines
    typed = field_help(False, True)
    assert "  ?                           - Show help. [unselectable number]" in typed
    assert "  lv_size                     - Size of LV in current units. [size]" in typed
    assert not any(line.endswith("All fields in this section.") for line in typed)


@pytest.mark.parametrize(
    ("p", "text"),
    [
        (0, "0.00"),
        (1, "0.01"),
        (9_999, "0.01"),
        (125_000, "0.12"),
        (10_937_500, "10.94"),
        (99_995_000, "99.99"),
        (99_999_999, "99.99"),
        (100_000_000, "100.00"),
    ],
)
def test_percent_text(p: int, text: str) -> None:
    assert layout.percent_text(p) == text


def test_percent_sort_compares_bytes_like_lvm() -> None:
    field = BY_NAME["data_percent"]
    # 256 (0x100) has a leading zero byte, so strcmp sees it as the empty string
    assert layout.sort_key(field, "", 256) < layout.sort_key(field, "", 1)


def test_truncated_headings_and_widths() -> None:
    sim = SimBackend()
    sim.add_disk(300 * MiB)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 4M -n a vg"):
        assert sim.run(shlex.split(cmd)).rc == 0
    out = sim.run(shlex.split("lvs -o lv_initial_image_sync,lv_name")).stdout
    assert out == "  InitImgSyn LV  \n             a   \n"


def test_sort_key_errors() -> None:
    sim = SimBackend()
    res = sim.run(["lvs", "-O", "-"])
    assert res.rc == 5
    assert res.stderr.startswith("  dm_report: Missing sort field name\n  Logical Volume Fields\n")
    assert res.stderr.endswith("   \n  dm_report: Unrecognised field: -\n")
    res = sim.run(["lvs", "-O", "lv_name,"])
    assert res.stderr.endswith("  dm_report: Unrecognised field: \n")
