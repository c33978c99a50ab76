"""LVM's metadata text: real vgcfgbackup files (tests/golden/metadata, written by LVM 2.03.16 in the VM)
read into the simulator and written back byte for byte; the config syntax's errors; the text's size in
vg_mda_free.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from lvsim import dispatch
from lvsim.core import config_text
from lvsim.core.model import PV, Disk, LVKind, State
from lvsim.lvm.metadata import install, reader, writer

METADATA = Path(__file__).parent / "golden" / "metadata"
TEXTS = ["rich.vg", "no-lvs.vg", "linear-cow.vg"]


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """The texts' time comments and the reports' lv_time are in the VM's time zone, UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def _installed(text: str) -> tuple[State, reader.Metadata]:
    md = reader.read(text)
    state = State()
    for record in md.pvs:
        state.disks[record.device] = Disk(record.device, record.dev_size)
        state.pvs[record.device] = PV(record.device, record.uuid)
    install.install_vg(state, md, {r.uuid: r.device for r in md.pvs})
    return state, md


@pytest.mark.parametrize("name", TEXTS)
def test_real_text_comes_back_byte_for_byte(name: str) -> None:
    text = (METADATA / name).read_text()
    state, md = _installed(text)
    head = writer.Header(md.description, md.creation_time, md.creation_host, md.uname)
    assert writer.vg_text(state, state.vgs[md.vg.name], head) == text


def test_what_the_rich_text_holds() -> None:
    """Two PVs, tags everywhere, a linear LV in two segments, a thin pool with a thin volume and a
    thin snapshot, a COW snapshot: the model gets each as the simulator's own commands make it."""
    md = reader.read((METADATA / "rich.vg").read_text())
    vg = md.vg
    assert (vg.name, vg.seqno, vg.tags, vg.extent_size) == ("vg", 15, ["site_a", "nightly"], 4 << 20)
    assert [(p.device, p.tags, p.pe_count) for p in md.pvs] == [
        ("/dev/loop0", ["fast"], 24),
        ("/dev/loop1", [], 14),
    ]
    kinds = {lv.name: (lv.kind, lv.role, lv.visible) for lv in vg.lvs.values()}
    assert kinds == {
        "lin": (LVKind.LINEAR, "", True),
        "lin2": (LVKind.LINEAR, "", True),
        "pool": (LVKind.THIN_POOL, "", True),
        "thin1": (LVKind.THIN, "", True),
        "tsnap": (LVKind.THIN, "", True),
        "cowsnap": (LVKind.COW, "", True),
        "lvol0_pmspare": (LVKind.LINEAR, "pmspare", False),
        "pool_tmeta": (LVKind.LINEAR, "tmeta", False),
        "pool_tdata": (LVKind.LINEAR, "tdata", False),
    }
    lin, tsnap, cow = vg.lvs["lin"], vg.lvs["tsnap"], vg.lvs["cowsnap"]
    assert [(s.le_start, s.extents, s.pv, s.pe_start) for s in lin.segments] == [
        (0, 3, "/dev/loop0", 0),
        (3, 1, "/dev/loop1", 3),
    ]
    assert lin.tags == ["web", "x.y"] and vg.lvs["thin1"].tags == ["db"]
    assert (tsnap.origin, tsnap.thin_id, tsnap.transaction_id, tsnap.skip_activation) == ("thin1", 2, 1, True)
    assert (cow.origin, cow.chunk_size, cow.snapshot_name, cow.snapshot_after) == (
        "lin",
        4096,
        "snapshot0",
        "pool_tdata",
    )
    pool = vg.lvs["pool"]
    assert (pool.chunk_size, pool.transaction_id, pool.zero, pool.discards) == (64 << 10, 2, True, "passdown")


def test_pending_thin_messages_are_refused() -> None:
    """An archive taken between two of lvcreate's commits holds a pool message lvsim does not model."""
    with pytest.raises(reader.Unsupported, match="pending thin messages"):
        reader.read((METADATA / "thin-messages.vg").read_text())


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a = ", "Parse error at byte 5 (line 1): expected a value"),
        ("a {\n b = 1\n", "Parse error at byte 12 (line 3): unexpected token"),
        ('a = [1, "x" = ]', "Parse error at byte 13 (line 1): expected a value"),
        ("a = 9223372036854775808", "Failed to read int token."),  # strtoll's ERANGE
        ('a = "', "Parse error at byte 5 (line 1): expected a string token."),
    ],
)
def test_config_text_errors(text: str, message: str) -> None:
    with pytest.raises(config_text.ConfigSyntaxError, match=message.replace("(", r"\(").replace(")", r"\)")):
        config_text.parse(text)


def test_config_values() -> None:
    tree, _ = config_text.parse(
        'v { n = 010  s = "a\\"b"  l = ["x", 2, -3]  f = 1.5  b = bare  v2 { e = [] } }\nv { n = 3 }'
    )
    assert tree == {"v": {"n": 3, "s": 'a"b', "l": ["x", 2, -3], "f": 1.5, "b": "bare", "v2": {"e": []}}}


def test_config_text_escapes_and_paths() -> None:
    """libdm-config's rules, the same for lvm.conf and metadata text: only a quote or a backslash is
    escaped, a slash path makes the sections on the way, a repeated value replaces the first with a
    warning."""
    tree, warnings = config_text.parse('s = "a\\\\b\\qc\\"d"\nx/y = 1\nx/y = 2\n')
    assert tree == {"s": 'a\\b\\qc"d', "x": {"y": 2}}
    assert warnings == ["WARNING: Ignoring duplicate config value: x/y"]


@pytest.mark.parametrize(
    ("sectors", "comment"),
    [(8192, "# 4 Megabytes"), (2048, "# 1024 Kilobytes"), (204800, "# 100 Megabytes"), (128, "# 64 Kilobytes"),
     (3 << 31, "# 3 Terabytes"), (12289, "# 6.00049 Megabytes")],
)  # fmt: skip
def test_size_comments(sectors: int, comment: str) -> None:
    assert writer.size_comment(sectors) == comment


def test_mda_free_follows_the_text() -> None:
    """Half the 1020 KiB area less a sector, less the text: 509.00k with no VG, less as the VG grows."""
    assert writer.mda_free(1044480, 0) == 521216
    assert writer.mda_free(1044480, 768) == 520704 and writer.mda_free(1044480, 769) == 520192
    assert writer.mda_free(1044480, 10 << 20) == 0


def _derived(good: str) -> dict[str, str]:
    """The broken files record2.sh made from a good backup (its sed and printf lines, in Python)."""
    first_id = re.compile(r'\tid = "[^"]*"')
    return {
        "empty": "",
        "garbage": "garbage here\n",
        "truncated": good[:600],
        "contents": re.sub(r"^contents = .*$", 'contents = "Something"', good, flags=re.M),
        "nocontents": re.sub(r"^contents = .*\n", "", good, flags=re.M),
        "version": re.sub(r"^version = 1$", "version = 2", good, flags=re.M),
        "noseqno": re.sub(r".*seqno = .*\n", "", good),
        "baduuid": first_id.sub('\tid = "not-a-uuid"', good, count=1),
        "mirror": good.replace('type = "striped"', 'type = "mirror"'),
        "stripes": good.replace("stripe_count = 1\t# linear", "stripe_count = 2"),
        "nopv": good.replace('"pv0", 0', '"pv7", 0'),
        "segcount": good.replace("segment_count = 1", "segment_count = 2"),
        "eof": "a {\n b = 1\n",
        "novalue": "a = \n",
        "badarray": 'a = [1, "x" = ]\n',
    }


# lvsim refuses (exit 95) what it does not model, where LVM's error is about the missing fields
REFUSED = {"mirror": "segment type mirror", "stripes": "a striped segment of 2 stripes"}


def test_broken_files_get_lvms_words(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The same broken files as in the VM, from a byte-for-byte equal good backup, give what LVM said."""
    monkeypatch.chdir(tmp_path)
    state = State(host="virtme-ng")
    state.disks["/dev/loop3"] = Disk("/dev/loop3", 64 << 20)
    for cmd in (
        "vgcreate vgb /dev/loop3",
        "lvcreate -L 8M -n a vgb",
        "vgchange -an vgb",
        "vgcfgbackup -f good.vg vgb",
    ):
        assert dispatch.run(state, shlex.split(cmd)).rc == 0
    recorded = json.loads((METADATA / "broken.json").read_text())["cases"]
    for name, text in _derived((tmp_path / "good.vg").read_text()).items():
        (tmp_path / f"{name}.vg").write_text(text)
        out = dispatch.run(state, ["vgcfgrestore", "-f", f"{name}.vg", "vgb"])
        if name in REFUSED:
            assert (out.rc, REFUSED[name] in out.stderr) == (95, True), out.stderr
            continue
        assert (out.rc, out.stdout + out.stderr) == (
            recorded[name]["rc"],
            recorded[name]["stderr_and_stdout"],
        ), name
