"""The simulated /etc/lvm: a backup after every metadata change, an archive per metadata commit (as the
VM's LVM 2.03.16 made them: 3 for a new pool, 2 for a thin volume or a snapshot, 1 otherwise), texts
kept for the newest ten, vgcfgrestore from an archive, cat of the files, nothing on the host."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from lvsim import dispatch
from lvsim.core.model import Disk, State
from lvsim.lvm.metadata import files


def _run(state: State, cmd: str, stdin: str = "") -> dispatch.Outcome:
    return dispatch.run(state, shlex.split(cmd), stdin)


@pytest.fixture
def state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> State:
    monkeypatch.chdir(tmp_path)
    st = State()
    st.disks["/dev/sdb"] = Disk("/dev/sdb", 256 << 20)
    assert _run(st, "vgcreate vg /dev/sdb").rc == 0
    return st


def _archives(state: State) -> list[tuple[int, str, bool]]:
    return [
        (state.lvm_files[p].seqno, state.lvm_files[p].description, bool(state.lvm_files[p].body))
        for p, _ in files.archives(state, "/etc/lvm", "vg")
    ]


def test_archives_per_commit_and_backup_after(state: State) -> None:
    for cmd in ("lvcreate -L 40M -T vg/pool", "lvcreate -V 20M -T vg/pool -n t", "lvcreate -s vg/t -n s"):
        assert _run(state, cmd).rc == 0
    before = "Created *before* executing '{}'"
    assert _archives(state) == [
        (1, before.format("lvcreate -L 40M -T vg/pool"), True),
        (2, before.format("lvcreate -L 40M -T vg/pool"), False),
        (3, before.format("lvcreate -L 40M -T vg/pool"), False),
        (4, before.format("lvcreate -V 20M -T vg/pool -n t"), True),
        (5, before.format("lvcreate -V 20M -T vg/pool -n t"), False),
        (6, before.format("lvcreate -s vg/t -n s"), True),
        (7, before.format("lvcreate -s vg/t -n s"), False),
    ]
    backup = state.lvm_files["/etc/lvm/backup/vg"]
    assert (backup.seqno, backup.description) == (8, "Created *after* executing 'lvcreate -s vg/t -n s'")
    out = _run(state, "cat /etc/lvm/backup/vg")
    assert out.rc == 0 and "\tseqno = 8\n" in out.stdout and "\t\ts {\n" in out.stdout
    assert not Path("/etc/lvm/backup/vg").exists() or Path("/etc/lvm/backup/vg").read_text() != out.stdout


def test_only_the_newest_ten_archives_keep_their_text(state: State) -> None:
    for i in range(14):
        assert _run(state, f"lvcreate -L 4M -n l{i} vg").rc == 0
    kept = [seqno for seqno, _, has_text in _archives(state) if has_text]
    assert kept == list(range(5, 15))
    oldest = files.archives(state, "/etc/lvm", "vg")[0][0]
    assert _run(state, "vgchange -an vg").rc == 0
    out = _run(state, f"vgcfgrestore -f {oldest} vg")
    assert (out.rc, out.stderr) == (
        95,
        f"lvsim: reading {oldest} (the simulator does not keep this archive's text) is not emulated\n",
    )
    listing = _run(state, "vgcfgrestore --list vg").stdout
    assert listing.count("File:\t\t/etc/lvm/archive/vg_") == 14  # every archive stays listed


def test_restore_an_lv_from_its_archive(state: State) -> None:
    """The classic recovery: an LV removed by mistake comes back from the archive made before."""
    for cmd in ("lvcreate -L 8M -n data vg", "lvremove -f vg/data", "lvcreate -L 4M -n other vg"):
        assert _run(state, cmd).rc == 0
    path = files.archives(state, "/etc/lvm", "vg")[-2][0]
    assert state.lvm_files[path].description == "Created *before* executing 'lvremove -f vg/data'"
    out = _run(state, f"vgcfgrestore -f {path} vg")
    assert (out.rc, out.stderr) == (5, "  WARNING: Found 1 active volume(s) in volume group \"vg\".\n"
        "Do you really want to proceed with restore of volume group \"vg\", while 1 volume(s) are active? "
        "[y/n]: [n]\n  Restore aborted.\n")  # fmt: skip
    assert _run(state, "vgchange -an vg").rc == 0
    out = _run(state, f"vgcfgrestore -f {path} vg")
    assert (out.rc, out.stdout) == (0, "  Restored volume group vg.\n")
    out = _run(state, "lvs --noheadings -o lv_name,lv_attr,seg_pe_ranges vg")
    assert out.stdout == "  data -wi------- /dev/sdb:0-1\n"
    assert state.vgs["vg"].seqno == 3  # the archive's 2, plus the restore's write
    assert state.lvm_files["/etc/lvm/backup/vg"].seqno == 4  # vgcfgrestore leaves the backup stale ...
    assert _run(state, "vgs").rc == 0
    assert state.lvm_files["/etc/lvm/backup/vg"].seqno == 3  # ... and vgs renews it
    assert [(n, d) for n, d, _ in _archives(state)][-2:] == [
        (4, "Created *before* executing 'vgs'"),
        (3, "Created *before* executing 'vgs'"),
    ]


def test_no_autobackup_and_rename(state: State) -> None:
    out = _run(state, "lvcreate -An -L 4M -n a vg")
    assert out.stderr == "  WARNING: This metadata update is NOT backed up.\n"
    assert state.lvm_files["/etc/lvm/backup/vg"].seqno == 1 and _archives(state) == []  # -A n: no archive
    assert _run(state, "vgrename vg renamed").rc == 0
    assert "/etc/lvm/backup/vg" not in state.lvm_files
    assert state.lvm_files["/etc/lvm/backup/renamed"].seqno == 3
    assert _run(state, "vgremove -f renamed").rc == 0  # with an LV: two archives, the backup stays (recorded)
    kept = state.lvm_files["/etc/lvm/backup/renamed"]
    assert (kept.seqno, kept.description) == (5, "Created *after* executing 'vgremove -f renamed'")
    assert [n for _, n in files.archives(state, "/etc/lvm", "renamed")] == [0, 1]
    assert _run(state, "vgcreate renamed /dev/sdb").rc == 0
    assert _run(state, "vgremove renamed").rc == 0  # empty: its backup goes
    assert "/etc/lvm/backup/renamed" not in state.lvm_files


def test_backup_files_in_the_simulated_directory_and_on_the_host(state: State, tmp_path: Path) -> None:
    assert _run(state, "vgcfgbackup -f /etc/lvm/backup/copy").rc == 0
    assert "/etc/lvm/backup/copy" in state.lvm_files
    assert _run(state, "vgcfgbackup -f here.cfg").rc == 0
    text = (tmp_path / "here.cfg").read_text()
    assert text.startswith("# Generated by LVM2 version 2.03.16(2) (2022-05-18): ")
    assert 'description = "vgcfgbackup -f here.cfg"' in text
    assert _run(state, "cat here.cfg").stdout == text


def test_lvm_conf_switches_backups_and_archives_off(state: State) -> None:
    """backup/backup = 0 is -A n for every command (and vgs renews nothing); backup/archive = 0 keeps
    no archives (lvsim capture reports with both off, so that not even /etc/lvm changes)."""
    out = _run(state, "lvcreate --config 'backup { backup = 0 archive = 0 }' -L 4M -n a vg")
    assert (out.rc, out.stderr) == (0, "  WARNING: This metadata update is NOT backed up.\n")
    assert _archives(state) == [] and state.lvm_files["/etc/lvm/backup/vg"].seqno == 1
    assert _run(state, "vgs --config backup/backup=0").rc == 0
    assert state.lvm_files["/etc/lvm/backup/vg"].seqno == 1
    out = _run(state, "lvcreate --config backup/archive=0 -L 4M -n b vg")
    assert (out.rc, out.stderr) == (0, "")
    assert _archives(state) == [] and state.lvm_files["/etc/lvm/backup/vg"].seqno == 3


def test_restore_onto_a_pv_another_vg_took_is_refused(state: State) -> None:
    assert _run(state, "vgcfgbackup -f vg.cfg").rc == 0
    assert _run(state, "vgremove -f vg").rc == 0
    assert _run(state, "vgcreate other /dev/sdb").rc == 0
    out = _run(state, "vgcfgrestore -f vg.cfg vg")
    assert (out.rc, out.stderr) == (
        95,
        "lvsim: vgcfgrestore onto /dev/sdb, a PV of VG other is not emulated\n",
    )
    assert state.vgs["other"].pvs == ["/dev/sdb"] and "vg" not in state.vgs
