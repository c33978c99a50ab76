"""A VG with missing PVs (lvsim.lvm.missing_pvs): what the golden cases boundary-missing-pv-wiped,
-thin and -activation do not show by themselves. The state keeps a missing PV across saves; what LVM
was not seen doing with such a VG is refused (rc 95) and changes nothing."""

from __future__ import annotations

import json

import pytest

from lvsim.core.errors import NOT_EMULATED
from lvsim.core.model import MiB, State
from tests.simhost import SimHost


def _with_missing_pv(*extra: str) -> SimHost:
    """vg on /dev/loop0 and /dev/loop1 (c on loop0, b inactive on loop1), /dev/loop2 a free PV, other
    on /dev/loop3; then /dev/loop1's label wiped."""
    host = SimHost(100 * MiB, 100 * MiB, 100 * MiB, 100 * MiB)
    for cmd in (
        "pvcreate /dev/loop0 /dev/loop1 /dev/loop2 /dev/loop3",
        "vgcreate vg /dev/loop0 /dev/loop1",
        "vgcreate other /dev/loop3",
        "lvcreate -L 8M -n c vg /dev/loop0",
        "lvcreate -L 8M -n b vg /dev/loop1",
        "lvchange -an vg/b",
        *extra,
        "pvremove -ff -y /dev/loop1",
    ):
        host.ok(cmd)
    return host


def _snapshot(host: SimHost) -> str:
    return json.dumps(host.state.to_json(), sort_keys=True)


def test_the_missing_pv_goes_by_its_uuid_and_its_device_is_free() -> None:
    host = _with_missing_pv()
    uuid = next(pv.uuid for pv in host.state.pvs.values() if pv.missing)
    assert host.state.vgs["vg"].pvs == ["/dev/loop0", f"[unknown]/{uuid}"]
    assert "/dev/loop1" not in host.state.pvs and host.state.disks["/dev/loop1"].size == 100 * MiB
    assert host.lv("b").segments[0].pv == f"[unknown]/{uuid}"
    pv = host.state.pvs[f"[unknown]/{uuid}"]
    assert (pv.missing, pv.missing_hint, pv.size) == (True, "/dev/loop1", 100 * MiB)


def test_a_state_with_a_missing_pv_is_saved_and_read_back() -> None:
    host = _with_missing_pv()
    raw = json.loads(json.dumps(host.state.to_json()))
    again = State.from_json(raw)
    assert again.to_json() == raw
    report = "lvs -a -o lv_name,lv_attr,devices"
    assert SimHost(state=again).run(report) == host.run(report)


def test_pv_records_of_an_earlier_lvsim_load_as_pvs_found() -> None:
    host = SimHost(100 * MiB).with_vg()
    raw = json.loads(json.dumps(host.state.to_json()))
    for pv in raw["pvs"].values():
        del pv["missing_hint"]  # lvsim before missing PVs wrote no such field
    pvs = State.from_json(raw).pvs
    assert list(pvs) == ["/dev/loop0"] and not pvs["/dev/loop0"].missing


@pytest.mark.parametrize(
    ("cmd", "what"),
    [
        ("vgdisplay", "vgdisplay while VG vg has missing PVs"),
        ("pvcreate /dev/loop1", "pvcreate while VG vg has missing PVs"),
        ("lvconvert -y --thinpool vg/c", "lvconvert while VG vg has missing PVs"),
        ("vgextend --restoremissing vg /dev/loop1", "vgextend --restoremissing"),
        ("vgextend vg /dev/loop1", "vgextend of VG vg with missing PVs by a device that is no PV yet"),
        ("lvchange --addtag t vg/c", "lvchange --addtag on VG vg with missing PVs"),
        ("lvchange -ay @t", "lvchange while VG vg has missing PVs"),
        ("vgchange --addtag t vg", "vgchange --addtag on VG vg with missing PVs"),
        ("vgreduce vg /dev/loop0", "vgreduce of a VG with missing PVs without --removemissing"),
        ("vgreduce --removemissing other", "vgreduce --removemissing of a VG without missing PVs"),
        ("vgremove vg", "vgremove of VG vg with missing PVs without --force"),
        ("pvremove /dev/loop2", "pvremove without -ff while a VG has missing PVs"),
        ("vgcfgbackup", "vgcfgbackup of VG vg with missing PVs but as -f FILE VG"),
        ("pvs -o +pe_start", "pvs field pe_start of a VG with missing PVs"),
        ("lvs --segments vg", "lvs field stripes of a VG with missing PVs"),
    ],
)
def test_what_lvm_was_not_seen_doing_with_missing_pvs_is_refused(cmd: str, what: str) -> None:
    host = _with_missing_pv()
    before = _snapshot(host)
    out = host.run(cmd)
    assert (out.rc, out.stdout) == (NOT_EMULATED, "")
    assert out.stderr.endswith(f"lvsim: {what} is not emulated\n"), out.stderr
    assert _snapshot(host) == before


def test_another_vg_is_read_without_warnings_and_the_refusals_leave_it_alone() -> None:
    host = _with_missing_pv()
    out = host.ok("lvcreate -L 4M -n o other")
    assert out.stderr == ""
    assert host.ok("lvs other").stderr == ""


def test_vgreduce_force_refuses_a_partial_snapshot_before_changing_anything() -> None:
    host = _with_missing_pv("lvcreate -s -L 4M -n snap vg/b /dev/loop1")
    before = _snapshot(host)
    out = host.run("vgreduce --removemissing --force vg")
    assert out.rc == NOT_EMULATED and "is not emulated" in out.stderr
    assert _snapshot(host) == before


def test_the_last_pv_of_a_vg_found_is_not_wiped() -> None:
    host = SimHost(100 * MiB)
    host.ok("vgcreate vg /dev/loop0")
    host.ok("lvcreate -an -L 8M -n b vg")
    before = _snapshot(host)
    out = host.run("pvremove -ff -y /dev/loop0")
    assert out.rc == NOT_EMULATED
    assert out.stderr.endswith("lvsim: pvremove -ff of the last PV of VG vg found is not emulated\n")
    assert _snapshot(host) == before


def test_a_pv_under_an_active_pool_cannot_be_wiped() -> None:
    """device-mapper holds the PV of an active pool's data and metadata (as it holds an active linear
    LV's: golden boundary-missing-pv)."""
    host = SimHost(100 * MiB, 100 * MiB).with_vg()
    host.ok("lvcreate -L 8M -T vg/pool /dev/loop1")
    host.ok("lvchange -an vg/pool")
    host.ok("lvchange -ay vg/pool")
    out = host.run("pvremove -ff -y /dev/loop1")
    assert out.rc == 5 and "Can't open /dev/loop1 exclusively." in out.stderr
    assert host.state.vgs["vg"].pvs == ["/dev/loop0", "/dev/loop1"]


def test_the_backup_lvm_writes_names_the_missing_pv_unknown() -> None:
    """As vgcfgbackup -f wrote it in the VM (golden boundary-missing-pv-wiped), so the backup LVM
    writes after changing such a VG (lvremove, recorded) holds the missing PV as [unknown], MISSING."""
    host = _with_missing_pv()
    host.ok("lvremove -f vg/b")
    text = host.out("cat /etc/lvm/backup/vg")
    section = text[text.index("pv1 {") : text.index("}", text.index("pv1 {"))]
    assert 'device = "[unknown]"\t# Hint only' in section and 'flags = ["MISSING"]' in section


def test_dmeventd_does_not_extend_a_pool_of_a_vg_with_missing_pvs() -> None:
    """dmeventd's lvextend --use-policies gets lvextend's recorded answer ('Cannot change VG') in its
    journal, and the pool keeps its size."""
    from lvsim.lvm import dmeventd

    host = SimHost(400 * MiB, 100 * MiB)
    host.backend.set_lvm_conf(
        "activation {\n\tthin_pool_autoextend_threshold = 70\n\tthin_pool_autoextend_percent = 20\n}\n"
    )
    for cmd in (
        "vgcreate vg /dev/loop0 /dev/loop1",
        "lvcreate -L 100M -T vg/pool /dev/loop0",
        "lvcreate -V 200M -T vg/pool -n t",
        "lvcreate -an -L 8M -n b vg /dev/loop1",
        "pvremove -ff -y /dev/loop1",
        "dd if=/dev/urandom of=/dev/vg/t bs=1M count=80 oflag=direct status=none",
    ):
        host.ok(cmd)
    host.backend.wait(60)
    assert host.lv("pool").le_count == 25
    journal = [e["msg"] for e in dmeventd.journal(host.state)]
    assert "Cannot change VG vg while PVs are missing." in journal
