"""The mount shim and the host's files: a mount never moves, overwrites or follows its way
out to a file it did not create; a crafted image is refused before anything is written; a mount
point swapped after the mount is left alone; a killed mount can still be unmounted; a filesystem
written past its thin pool or its snapshot loses what did not fit as on LVM; one written past its own
size is refused, with nothing lost."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from simhost import SimHost

from lvsim import dispatch
from lvsim.core import devmap, fsimage, hosttree, store
from lvsim.core.errors import NOT_EMULATED
from lvsim.core.model import GiB

DMESG = "       dmesg(1) may have more information after failed mount system call.\n"


@pytest.fixture
def sim() -> SimHost:
    """One 2 GiB disk with an ext4 LV vg/fs."""
    return _fresh()


def _fresh() -> SimHost:
    """What the `sim` fixture gives, outside a fixture."""
    host = SimHost(2 * GiB).with_vg()
    host.ok("lvcreate -L 64M -n fs vg")
    host("mkfs.ext4", "-q", "/dev/vg/fs")
    return host


def _tree(sim: SimHost) -> tuple[fsimage.Filesystem, dict]:
    dev = devmap.resolve(sim.state, "/dev/vg/fs")
    assert dev is not None
    found = fsimage.probe(sim.state, dev)
    assert found is not None
    return found, found.tree(sim.state)


def _listing(path: Path) -> list[str]:
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


def test_mount_over_a_non_empty_directory_is_refused(sim: SimHost, tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "precious").write_text("mine\n")
    out = sim("mount", "/dev/vg/fs", str(home), rc=NOT_EMULATED)
    assert out.stderr == (
        f"lvsim: mount: {home} is not empty: mounting over files (which a mount hides) is not emulated; "
        "mount on an empty directory\n"
    )
    assert _listing(home) == ["precious"] and (home / "precious").read_text() == "mine\n"
    assert fsimage.mounts(sim.state) == []
    assert not list(Path(os.environ.get("TMPDIR", "/tmp")).glob("lvsim-hidden-*x"))


def test_a_crafted_image_writes_nothing_outside_the_mount_point(sim: SimHost, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    for i, bad in enumerate(
        ("../escape", "/tmp/lvsim-abs-escape", "link/planted", "a//b", "./x", "d/../../y")
    ):
        found, tree = _tree(sim)
        tree = {**tree, "link": {"t": "l", "target": str(outside), "mode": 0o777, "mtime": 0}}
        tree[bad] = {"t": "f", "mode": 0o644, "uid": 0, "gid": 0, "mtime": 0, "size": 1}
        fsimage.store_tree(sim.state, found, tree, {bad: b"x"})
        mnt = tmp_path / f"m{i}"
        mnt.mkdir()
        out = sim("mount", "/dev/vg/fs", str(mnt), rc=32)
        assert out.stderr == (
            f"mount: {mnt}: wrong fs type, bad option, bad superblock on /dev/mapper/vg-fs, missing codepage or "
            "helper program, or other error.\n" + DMESG
        ), bad
        assert _listing(mnt) == [] and _listing(outside) == []
        assert not (tmp_path / "escape").exists() and not Path("/tmp/lvsim-abs-escape").exists()
        assert not (tmp_path / "y").exists()
        del tree[bad]
        fsimage.store_tree(sim.state, found, tree, {})


@pytest.mark.parametrize("unwritten", [[[0, 2]], [[-1, 1]], [[0]], "x", [[True, 1]]])
def test_crafted_unwritten_ranges_are_a_bad_superblock(
    sim: SimHost, tmp_path: Path, unwritten: object
) -> None:
    """The ranges of a file that read as zeroes must lie inside the file."""
    found, tree = _tree(sim)
    tree["f"] = {"t": "f", "mode": 0o644, "uid": 0, "gid": 0, "mtime": 0, "size": 1, "unwritten": unwritten}
    fsimage.store_tree(sim.state, found, tree, {"f": b"x"})
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    assert "wrong fs type" in sim("mount", "/dev/vg/fs", str(mnt), rc=32).stderr
    assert _listing(mnt) == []


def test_links_are_materialised_as_links_and_never_followed(sim: SimHost, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "keep").write_text("keep\n")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "/dev/vg/fs", str(mnt))
    (mnt / "link").symlink_to(outside)
    (mnt / "etc").symlink_to("/etc")
    sim("umount", str(mnt))
    sim("mount", "/dev/vg/fs", str(mnt))
    assert os.readlink(mnt / "link") == str(outside) and os.readlink(mnt / "etc") == "/etc"
    sim("umount", str(mnt))
    assert _listing(outside) == ["keep"] and (outside / "keep").read_text() == "keep\n"
    assert Path("/etc/passwd").exists()


def test_no_setuid_bit_or_foreign_owner_reaches_the_host(sim: SimHost, tmp_path: Path) -> None:
    found, tree = _tree(sim)
    tree["suid"] = {"t": "f", "mode": 0o6755, "uid": 1234, "gid": 4321, "mtime": 10**18, "size": 3}
    tree["sdir"] = {"t": "d", "mode": 0o2775, "uid": 1234, "gid": 4321, "mtime": 10**18}
    fsimage.store_tree(sim.state, found, tree, {"suid": b"run"})
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "/dev/vg/fs", str(mnt))
    for name, mode in (("suid", 0o755), ("sdir", 0o775)):
        st = (mnt / name).lstat()
        assert stat.S_IMODE(st.st_mode) == mode
        assert (st.st_uid, st.st_gid) == (os.geteuid(), os.getegid())
    sim("umount", str(mnt))
    _, kept = _tree(sim)  # the image keeps what the host copy could not carry
    assert (kept["suid"]["mode"], kept["suid"]["uid"], kept["suid"]["gid"]) == (0o6755, 1234, 4321)
    assert (kept["sdir"]["mode"], kept["sdir"]["uid"]) == (0o2775, 1234)


def test_umount_of_a_mount_point_swapped_for_a_link_touches_nothing(sim: SimHost, tmp_path: Path) -> None:
    mnt, target = tmp_path / "mnt", tmp_path / "target"
    mnt.mkdir()
    target.mkdir()
    (target / "keep").write_text("keep\n")
    sim("mount", "/dev/vg/fs", str(mnt))
    (mnt / "written").write_text("in the fs\n")
    sim("lvs")  # writeback: `written` is in the image now
    mnt.rename(tmp_path / "mnt.real")
    mnt.symlink_to(target)
    out = sim("umount", "/dev/vg/fs", rc=NOT_EMULATED)
    assert out.stderr == (
        f"lvsim: umount: {mnt} is no longer the directory that was mounted (moved or replaced): the mount "
        "is dropped, nothing was written back and no file was touched\n"
    )
    assert _listing(target) == ["keep"]
    assert _listing(tmp_path / "mnt.real") == ["lost+found", "written"]
    assert fsimage.mounts(sim.state) == []
    assert "written" in _tree(sim)[1]


def test_a_killed_mount_is_on_record_and_can_be_unmounted(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "state"
    with store.transaction(path) as state:
        state.__dict__.update(_fresh().state.__dict__)
    mnt = tmp_path / "mnt"
    mnt.mkdir()

    def killed(root: int, tree: dict, read) -> None:
        fd = os.open("partial", os.O_WRONLY | os.O_CREAT, 0o600, dir_fd=root)
        os.close(fd)
        raise KeyboardInterrupt

    monkeypatch.setattr(hosttree, "materialise", killed)
    with pytest.raises(KeyboardInterrupt), store.transaction(path) as state:
        dispatch.run(state, ["mount", "/dev/vg/fs", str(mnt)])
    monkeypatch.undo()
    saved = store.load(path)
    assert [m["target"] for m in fsimage.mounts(saved)] == [str(mnt)]
    assert fsimage.mounts(saved)[0]["filling"] is True
    with store.transaction(path) as state:
        assert dispatch.run(state, ["lvs"]).rc == 0  # writeback leaves a half-filled mount alone
        assert "partial" not in _tree(SimHost(state=state))[1]
        out = dispatch.run(state, ["umount", str(mnt)])
    assert (out.rc, out.stderr) == (0, "")
    assert _listing(mnt) == [] and fsimage.mounts(store.load(path)) == []


def _refusal(mnt: Path, why: str) -> str:
    return (
        f"lvsim: {mnt}: its files do not fit ({why}): a filesystem written past its space is not emulated "
        "(the host took the writes, so they cannot fail as the kernel fails them); nothing was written back, "
        "the mount and its files are as they were: remove what does not fit and run the command again\n"
    )


def _saved_run(path: Path, *argv: str) -> dispatch.Outcome:
    """One command line on the state file at `path`, as a shim runs it (the state saved after)."""
    with store.transaction(path) as state:
        return dispatch.run(state, list(argv))


def _pool_report(path: Path) -> str:
    return _saved_run(
        path, "lvs", "--noheadings", "-o", "lv_attr,data_percent,lv_health_status,lv_when_full", "vg/pool"
    ).stdout.strip()


def _thin_fs(tmp_path: Path, fs: str, pool: str, when_full: str, *more: str) -> tuple[Path, Path]:
    """A state file with `fs` on vg/t (320 MiB) of a thin pool vg/pool, and an empty mount point
    (`more`: command lines run after mkfs, whatever their exit codes)."""
    sim = SimHost(2 * GiB).with_vg()
    for cmd in (
        f"lvcreate -L {pool} -T vg/pool --errorwhenfull {when_full}",
        "lvcreate -V 320M -T vg/pool -n t",
        f"mkfs.{fs} -q /dev/vg/t",
    ):
        sim.ok(cmd)
    for cmd in more:
        sim.run(cmd)
    path = tmp_path / "state"
    with store.transaction(path) as state:
        state.__dict__.update(sim.state.__dict__)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    return path, mnt


def _index(path: Path, lv: str = "vg/t") -> dict:
    state = store.load(path)
    dev = devmap.resolve(state, f"/dev/{lv}")
    assert dev is not None
    found = fsimage.probe(state, dev)
    assert found is not None
    return found.tree(state)


# XFS in queue mode is in the golden case fs-thin-full-xfs only: a queued write waits in the data path,
# which both filesystems share, and the ext4 cases show that through a mount (XFS needs a 120 MiB file
# to fill its pool, about 2.5 s of CPU for each case).
@pytest.mark.parametrize(
    ("fs", "pool", "mib", "when_full"),
    [
        pytest.param("ext4", "16M", 40, "y", id="ext4-16M-40-error"),
        pytest.param("ext4", "16M", 40, "n", id="ext4-16M-40-queue"),
        pytest.param("xfs", "100M", 120, "y", id="xfs-100M-120-error"),
    ],
)
def test_files_past_the_thin_pool_are_written_as_far_as_it_goes(
    tmp_path: Path, fs: str, pool: str, mib: int, when_full: str
) -> None:
    """As on LVM (golden fs-thin-full-ext4, fs-thin-full-xfs): the commands and umount exit 0, the
    pool is out of data space, and after a new mount ext4's file has its full size with the blocks
    that did not fit reading as zeroes, XFS's is cut to what was written; lvextend brings it back."""
    path, mnt = _thin_fs(tmp_path, fs, pool, when_full)
    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    (mnt / "small").write_text("fits\n")
    assert _saved_run(path, "lvs").rc == 0  # writeback: `small` is in the image now
    big = os.urandom(mib << 20)
    (mnt / "big").write_bytes(big)
    clock = store.load(path).clock
    out = _saved_run(path, "lvs", "--noheadings", "-o", "lv_attr,data_percent,lv_health_status", "vg/pool")
    assert (out.rc, out.stdout.split(), out.stderr) == (0, ["twi-aotzD-", "100.00", "out_of_data"], "")
    waited = store.load(path).clock - clock  # queue mode: the writeback waited no_space_timeout
    assert waited == (0 if when_full == "y" else 60)
    assert (mnt / "big").read_bytes() == big  # the page cache still has it
    for argv in (["lvs"], ["blkid", "/dev/vg/t"], ["lvcreate", "-L", "4M", "-n", "other", "vg"]):
        out = _saved_run(path, *argv)
        assert out.rc == 0 and "lvsim" not in out.stderr, argv
    assert store.load(path).clock - clock == waited  # written back once: the lost blocks are not retried
    stored = _index(path)["big"]
    if fs == "ext4":
        assert stored["size"] == len(big) and stored["unwritten"]
    else:
        assert 0 < stored["size"] < len(big) and "unwritten" not in stored
    assert _saved_run(path, "umount", str(mnt)).rc == 0
    assert _listing(mnt) == [] and fsimage.mounts(store.load(path)) == []
    assert _pool_report(path).split() == [
        "twi-aotzD-",
        "100.00",
        "out_of_data",
        "error" if when_full == "y" else "queue",
    ]

    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    assert (mnt / "small").read_text() == "fits\n"
    got = (mnt / "big").read_bytes()
    if fs == "ext4":
        expected = bytearray(big)
        for start, length in stored["unwritten"]:
            expected[start : start + length] = bytes(length)
        assert len(got) == len(big) and got == bytes(expected) and got != big
    else:
        assert got == big[: stored["size"]]
    assert _saved_run(path, "umount", str(mnt)).rc == 0

    assert _saved_run(path, "lvextend", "-L", "+200M", "vg/pool").rc == 0
    assert _pool_report(path).split()[0] == "twi-aotz--"
    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    again = os.urandom(8 << 20)
    (mnt / "again").write_bytes(again)
    assert _saved_run(path, "umount", str(mnt)).rc == 0
    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    assert (mnt / "again").read_bytes() == again and (mnt / "big").read_bytes() == got
    (mnt / "big").write_bytes(big)  # written again: now it fits
    assert _saved_run(path, "umount", str(mnt)).rc == 0
    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    assert (mnt / "big").read_bytes() == big
    assert _saved_run(path, "umount", str(mnt)).rc == 0


@pytest.mark.parametrize("fs", ["ext4", "xfs"])
def test_what_survives_a_full_thin_pool_is_the_same_every_time(tmp_path: Path, fs: str) -> None:
    """lvsim's writeback is deterministic (files in path order, blocks in file order), where the
    kernel's order varies."""
    outcomes = []
    for run in ("one", "two"):
        (tmp_path / run).mkdir()
        path, mnt = _thin_fs(tmp_path / run, fs, "16M" if fs == "ext4" else "100M", "y")
        _saved_run(path, "mount", "/dev/vg/t", str(mnt))
        for name in ("b", "a", "c/d"):
            (mnt / name).parent.mkdir(exist_ok=True)
            (mnt / name).write_bytes(b"x" * (30 << 20))
        assert _saved_run(path, "umount", str(mnt)).rc == 0
        tree = _index(path)
        outcomes.append({p: (e["size"], e.get("unwritten")) for p, e in tree.items() if e["t"] == "f"})
    assert outcomes[0] == outcomes[1]
    sizes = {p: size for p, (size, _) in outcomes[0].items()}
    if fs == "xfs":  # a, b, c/d in path order: a fits, b is cut short, nothing of c/d fits
        assert sizes["a"] == 30 << 20 and 0 < sizes["b"] < 30 << 20 and sizes["c/d"] == 0
    else:  # all keep their size; what did not fit is mostly b's end and c/d
        lost = {p: sum(n for _, n in ranges or []) for p, (_, ranges) in outcomes[0].items()}
        assert (
            set(sizes.values()) == {30 << 20}
            and lost["a"] < lost["b"] < lost["c/d"]
            and lost["c/d"] > 29 << 20
        )


def test_a_pool_dmeventd_grows_in_time_keeps_the_whole_file(tmp_path: Path) -> None:
    """In queue mode the write-back waits for the full pool, and dmeventd extends it meanwhile."""
    sim = SimHost(2 * GiB).with_vg()
    sim.backend.set_lvm_conf(
        "activation {\n\tthin_pool_autoextend_threshold = 70\n\tthin_pool_autoextend_percent = 20\n}\n"
    )
    for cmd in ("lvcreate -L 16M -T vg/pool", "lvcreate -V 320M -T vg/pool -n t", "mkfs.ext4 -q /dev/vg/t"):
        sim.ok(cmd)
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "/dev/vg/t", str(mnt))
    big = os.urandom(40 << 20)
    (mnt / "big").write_bytes(big)
    assert sim.rows("-o lv_name,lv_attr,lv_size vg")["pool"] == ["twi-aotz--", "72.00m"]
    sim("umount", str(mnt))
    sim("mount", "/dev/vg/t", str(mnt))
    assert (mnt / "big").read_bytes() == big
    sim("umount", str(mnt))


def test_a_pool_that_cannot_take_the_metadata_is_refused(tmp_path: Path) -> None:
    """A pool already full when the files come, with no room even for the filesystem's index: on
    LVM the filesystem's metadata writes fail (ext4 aborts its journal), which lvsim does not emulate."""
    path, mnt = _thin_fs(
        tmp_path, "ext4", "16M", "y",
        "lvcreate -V 64M -T vg/pool -n filler",
        "dd if=/dev/urandom of=/dev/vg/filler bs=1M count=16 oflag=direct",
    )  # fmt: skip
    assert _saved_run(path, "mount", "/dev/vg/t", str(mnt)).rc == 0
    for i in range(3000):
        (mnt / f"file-{i:04}").write_text("x")
    before = store.load(path)
    for argv in (["lvs"], ["umount", str(mnt)]):
        out = _saved_run(path, *argv)
        why = "thin pool vg/pool is out of data space, even for the filesystem's metadata"
        assert (out.rc, out.stdout, out.stderr) == (NOT_EMULATED, "", _refusal(mnt, why)), argv
        assert store.load(path).to_json() == before.to_json()
    for i in range(3000):
        (mnt / f"file-{i:04}").unlink()
    assert _saved_run(path, "umount", str(mnt)).rc == 0


def test_a_full_filesystem_is_refused_too(sim: SimHost, tmp_path: Path) -> None:
    """Files larger than the filesystem (64 MiB) fail on LVM with the filesystem's ENOSPC."""
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "/dev/vg/fs", str(mnt))
    (mnt / "big").write_bytes(b"x" * (40 << 20))
    (mnt / "more").write_bytes(b"y" * (40 << 20))
    for argv in (["lvs"], ["umount", str(mnt)]):
        assert sim(*argv, rc=NOT_EMULATED).stderr == _refusal(
            mnt, "the ext4 filesystem on /dev/mapper/vg-fs is full"
        )
    (mnt / "more").unlink()
    sim("umount", str(mnt))
    sim("mount", "/dev/vg/fs", str(mnt))
    assert (mnt / "big").read_bytes() == b"x" * (40 << 20)


def test_a_mounted_cow_snapshot_written_past_its_space_becomes_invalid(sim: SimHost, tmp_path: Path) -> None:
    """As on LVM (golden fs-cow-full): writes into a read-write mounted snapshot that overflow it
    succeed, umount too, and the snapshot is invalid (its file system is gone); writes into its
    origin only invalidate it."""
    sim.ok("lvcreate -s -L 8M -n snap vg/fs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "/dev/vg/snap", str(mnt))
    (mnt / "small").write_text("fits\n")
    assert sim("lvs").stderr == ""
    (mnt / "big").write_bytes(os.urandom(20 << 20))
    assert sim("lvs").stderr == ""
    assert sim.rows("-o lv_name,lv_attr vg")["snap"][0][4] == "I"
    sim("umount", str(mnt))
    assert _listing(mnt) == [] and fsimage.mounts(sim.state) == []
    assert sim.rows("-o lv_name,lv_attr vg")["snap"] == ["swi-I-s---"]
    assert sim("mount", "/dev/vg/snap", str(mnt), rc=32).stderr == (
        f"mount: {mnt}: can't read superblock on /dev/mapper/vg-snap.\n{DMESG}"
    )
    sim("mount", "/dev/vg/fs", str(mnt))
    assert _listing(mnt) == ["lost+found"]  # the origin never saw the snapshot's files
    sim("umount", str(mnt))
    sim.ok("lvremove -f vg/snap")
    sim.ok("lvcreate -s -L 8M -n snap2 vg/fs")
    sim("mount", "/dev/vg/fs", str(mnt))
    (mnt / "big").write_bytes(os.urandom(20 << 20))
    assert sim.rows("-o lv_name,lv_attr vg")["snap2"] == ["swi-I-s---"]
    sim("umount", str(mnt))
    sim("mount", "/dev/vg/fs", str(mnt))
    assert (mnt / "big").stat().st_size == 20 << 20
    sim("umount", str(mnt))


def test_a_discard_mount_on_a_device_without_discards_keeps_its_files(sim: SimHost, tmp_path: Path) -> None:
    """An origin with a COW snapshot takes no discards: the write-back stores the files, trims nothing."""
    sim.ok("lvcreate -s -L 8M -n snap vg/fs")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    sim("mount", "-o", "discard", "/dev/vg/fs", str(mnt))
    (mnt / "kept").write_text("kept\n")
    assert sim("lvs").stderr == ""
    sim("umount", str(mnt))
    sim("mount", "/dev/vg/fs", str(mnt))
    assert (mnt / "kept").read_text() == "kept\n"
    sim("umount", str(mnt))


def test_corrupt_file_index_is_a_bad_superblock_not_a_crash(sim: SimHost, tmp_path: Path) -> None:
    found, _ = _tree(sim)
    fsimage.write_at(sim.state, found.dev, found.sb["index"][0][0], b"\xb7\xff not json")
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    out = sim("mount", "/dev/vg/fs", str(mnt), rc=32)
    assert "wrong fs type, bad option, bad superblock on /dev/mapper/vg-fs" in out.stderr
    assert _listing(mnt) == []
    sim("blkid", "/dev/vg/fs")
    sim("lvs")


# -- mountpoint and findmnt see simulated mounts (formats recorded in the VM: util-linux 2.38) --------


def test_mountpoint_sees_simulated_mounts(sim: SimHost, tmp_path: Path) -> None:
    mnt, empty = tmp_path / "m", tmp_path / "empty"
    mnt.mkdir()
    empty.mkdir()
    sim("mount", "/dev/vg/fs", str(mnt))
    minor = devmap.dm_state(sim.state)["minor"]["vg-fs"]
    assert sim("mountpoint", str(mnt)).stdout == f"{mnt} is a mountpoint\n"
    assert sim("mountpoint", "-q", str(mnt)).stdout == ""
    assert sim("mountpoint", str(empty), rc=32).stdout == f"{empty} is not a mountpoint\n"
    assert (
        sim("mountpoint", str(mnt / "lost+found"), rc=32).stdout == f"{mnt}/lost+found is not a mountpoint\n"
    )
    gone = sim("mountpoint", str(tmp_path / "nonexistent"), rc=1)
    assert gone.stderr == f"mountpoint: {tmp_path}/nonexistent: No such file or directory\n"
    assert sim("mountpoint", "-q", str(tmp_path / "nonexistent"), rc=1).stderr == ""
    assert sim("mountpoint", "-d", str(mnt)).stdout == f"254:{minor}\n"
    assert sim("mountpoint", "-x", "/dev/vg/fs").stdout == f"254:{minor}\n"
    assert sim("mountpoint", "-x", "/dev/mapper/vg-fs").stdout == f"254:{minor}\n"
    usage = "mountpoint: bad usage\nTry 'mountpoint --help' for more information.\n"
    assert sim("mountpoint", rc=1).stderr == usage
    assert sim("mountpoint", str(mnt), str(empty), rc=1).stderr == usage
    bogus = "mountpoint: unrecognized option '--bogus'\nTry 'mountpoint --help' for more information.\n"
    assert sim("mountpoint", "--bogus", str(mnt), rc=1).stderr == bogus
    assert sim("mountpoint", "/").stdout == "/ is a mountpoint\n"  # the host's own, as the tool says
    sim("umount", str(mnt))
    assert sim("mountpoint", str(mnt), rc=32).stdout == f"{mnt} is not a mountpoint\n"


def test_findmnt_formats(sim: SimHost, tmp_path: Path) -> None:
    mnt = tmp_path / "m"
    mnt.mkdir()
    sim("mount", "/dev/vg/fs", str(mnt))
    pad = " " * (len(str(mnt)) - len("TARGET"))
    table = f"TARGET{pad} SOURCE            FSTYPE OPTIONS\n{mnt} /dev/mapper/vg-fs ext4   rw,relatime\n"
    for argv in (
        [str(mnt)],
        ["--source", "/dev/vg/fs"],
        ["-T", f"{mnt}/lost+found"],
        ["-M", str(mnt)],
        ["-l", str(mnt)],
    ):
        assert sim("findmnt", *argv).stdout == table, argv
    assert sim("findmnt", "-n", "-o", "SOURCE", str(mnt)).stdout == "/dev/mapper/vg-fs\n"
    assert sim("findmnt", "-no", "TARGET", "/dev/vg/fs").stdout == f"{mnt}\n"
    assert sim("findmnt", "-r", str(mnt)).stdout == (
        f"TARGET SOURCE FSTYPE OPTIONS\n{mnt} /dev/mapper/vg-fs ext4 rw,relatime\n"
    )
    assert sim("findmnt", "-P", str(mnt)).stdout == (
        f'TARGET="{mnt}" SOURCE="/dev/mapper/vg-fs" FSTYPE="ext4" OPTIONS="rw,relatime"\n'
    )
    assert sim("findmnt", "-J", str(mnt)).stdout == (
        '{\n   "filesystems": [\n      {\n'
        f'         "target": "{mnt}",\n         "source": "/dev/mapper/vg-fs",\n'
        '         "fstype": "ext4",\n         "options": "rw,relatime"\n      }\n   ]\n}\n'
    )
    assert sim("findmnt", str(tmp_path), rc=1).stdout == ""
    bogus = sim("findmnt", "-o", "BOGUS", str(mnt), rc=1)
    assert bogus.stderr == "findmnt: unknown column: BOGUS\n"
    assert sim("findmnt", "--bogus", rc=1).stderr == (
        "findmnt: unrecognized option '--bogus'\nTry 'findmnt --help' for more information.\n"
    )
    assert "is not emulated" in sim("findmnt", rc=NOT_EMULATED).stderr  # every mount: the host's too
    assert "is not emulated" in sim("findmnt", "/", rc=NOT_EMULATED).stderr
