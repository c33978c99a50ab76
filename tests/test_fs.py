"""Filesystems on simulated LVs: mkfs, the mount shim, snapshots' point-in-time trees, repair, trim."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest
from simhost import SimHost

from lvsim.core import devmap, fsimage, usage
from lvsim.core.devmap import Device
from lvsim.core.model import GiB, MiB
from lvsim.tools.filesystems import Ext4Geometry, XfsGeometry, human_size

DMESG = "       dmesg(1) may have more information after failed mount system call.\n"


@pytest.fixture
def sim(sim: type[SimHost]) -> SimHost:
    """One 2 GiB disk (`.with_vg()` makes it VG "vg")."""
    return sim(2 * GiB)


def test_geometry_matches_the_real_tools() -> None:
    ext = Ext4Geometry.for_size(200 * MiB)
    assert (ext.blocks, ext.block_size, ext.inodes, ext.groups, ext.journal) == (
        204800,
        1024,
        51200,
        25,
        4096,
    )
    assert ext.backups() == [8193, 24577, 40961, 57345, 73729]
    assert Ext4Geometry.for_size(100 * MiB).inodes == 25584
    xfs = XfsGeometry.for_size(400 * MiB, 0)
    assert (xfs.agcount, xfs.agsize, xfs.blocks, xfs.log) == (4, 25600, 102400, 16384)
    thin = XfsGeometry.for_size(GiB, 16)
    assert (thin.agcount, thin.agsize, thin.log) == (8, 32768, 16384)
    big = XfsGeometry.for_size(5 * 1024 * GiB, 0)
    assert (big.agcount, big.agsize, big.blocks, big.log) == (5, 268435455, 1342177275, 521728)
    assert human_size(419430400) == "400 MiB"
    assert human_size(1288490189) == "1.2 GiB"


def test_mkfs_xfs_output_limits_and_refusals(sim: SimHost) -> None:
    sim.with_vg()("lvcreate", "-L", "400M", "-n", "db", "vg")
    out = sim("mkfs.xfs", "-L", "dbdata", "/dev/vg/db")
    assert (
        out.stdout.splitlines()[0]
        == "meta-data=/dev/vg/db             isize=512    agcount=4, agsize=25600 blks"
    )
    assert "log      =internal log           bsize=4096   blocks=16384, version=2\n" in out.stdout
    out = sim("mkfs.xfs", "/dev/vg/db", rc=1)
    assert out.stderr == (
        "mkfs.xfs: /dev/vg/db appears to contain an existing filesystem (xfs).\n"
        "mkfs.xfs: Use the -f option to force overwrite.\n"
    )
    assert sim("mkfs.xfs", "-q", "-f", "/dev/vg/db").stdout == ""
    sim("lvcreate", "-L", "200M", "-n", "small", "vg")
    out = sim("mkfs.xfs", "/dev/vg/small", rc=1)
    assert out.stderr.startswith("Filesystem must be larger than 300MB.\nUsage: mkfs.xfs\n")
    out = sim("mkfs.xfs", "-L", "abcdefghijklmn", "/dev/vg/db", rc=1)
    assert out.stderr.startswith("Invalid value abcdefghijklmn for -L option\n")
    out = sim("blkid", "/dev/vg/db")
    assert out.stdout.endswith('BLOCK_SIZE="512" TYPE="xfs"\n') and out.stdout.startswith("/dev/vg/db: UUID=")


def test_mkfs_ext4_output(sim: SimHost) -> None:
    sim.with_vg()("lvcreate", "-L", "200M", "-n", "e", "vg")
    out = sim("mkfs.ext4", "-L", "elab", "/dev/vg/e")
    assert out.stderr == "mke2fs 1.47.0 (5-Feb-2023)\n"
    uuid = fsimage.probe(sim.state, fs_dev(sim, "/dev/vg/e")).uuid
    b13, b5 = "\b" * 13, "\b" * 5
    assert out.stdout == (
        f"Discarding device blocks:      0/204800{b13}             {b13}done                            \n"
        "Creating filesystem with 204800 1k blocks and 51200 inodes\n"
        f"Filesystem UUID: {uuid}\n"
        "Superblock backups stored on blocks: \n\t8193, 24577, 40961, 57345, 73729\n\n"
        f"Allocating group tables:  0/25{b5}     {b5}done                            \n"
        f"Writing inode tables:  0/25{b5}     {b5}done                            \n"
        "Creating journal (4096 blocks): done\n"
        f"Writing superblocks and filesystem accounting information:  0/25{b5}     {b5}done\n\n"
    )
    assert sim("blkid", "/dev/vg/e").stdout == (
        f'/dev/vg/e: LABEL="elab" UUID="{uuid}" BLOCK_SIZE="1024" TYPE="ext4"\n'
    )
    assert sim("mkfs.ext4", "-q", "/dev/vg/e").stdout == ""
    assert sim("mkfs.ext4", "/dev/nope", rc=1).stderr.endswith(
        "The file /dev/nope does not exist and no size was specified.\n"
    )


def fs_dev(sim: SimHost, path: str) -> Device:
    dev = devmap.resolve(sim.state, path)
    assert dev is not None
    return dev


def test_workflow1_xfs_snapshot_backup(sim: SimHost, tmp_path: Path) -> None:
    """The origin's XFS backup: snapshot a mounted XFS, xfs_repair -L, mount ro,nouuid, back up, clean up."""
    sim.with_vg()("lvcreate", "-L", "400M", "-n", "db", "vg")
    sim("mkfs.xfs", "-q", "/dev/vg/db")
    data, snap = tmp_path / "data", tmp_path / "snap"
    data.mkdir()
    snap.mkdir()
    sim("mount", "/dev/vg/db", str(data))
    assert sim.state.vgs["vg"].lvs["db"].open_count == 1
    (data / "orders.sql").write_text("INSERT 1\n")
    (data / "dir").mkdir()
    (data / "dir" / "blob").write_bytes(os.urandom(300_000))
    out = sim("lvcreate", "--snapshot", "/dev/vg/db", "--name", "dbsnap", "-l", "80%FREE")
    assert 'Logical volume "dbsnap" created.' in out.stdout
    (data / "late.sql").write_text("INSERT 2\n")
    (data / "orders.sql").write_text("changed after the snapshot\n")
    out = sim("xfs_repair", "/dev/vg/dbsnap", rc=2)
    assert "ERROR: The filesystem has valuable metadata changes in a log which needs to\n" in out.stderr
    out = sim("xfs_repair", "-L", "/dev/vg/dbsnap")
    assert "ALERT: The filesystem has valuable metadata changes" in out.stderr
    assert out.stderr.endswith("Format log to cycle 4.\ndone\n")
    out = sim("mount", "-o", "ro", "/dev/vg/dbsnap", str(snap), rc=32)
    assert out.stderr == (
        f"mount: {snap}: wrong fs type, bad option, bad superblock on /dev/mapper/vg-dbsnap, "
        f"missing codepage or helper program, or other error.\n{DMESG}"
    )
    out = sim("mount", "-v", "-o", "ro,nouuid", "/dev/vg/dbsnap", str(snap))
    assert out.stdout == f"mount: /dev/mapper/vg-dbsnap mounted on {snap}.\n"
    assert sorted(os.listdir(snap)) == ["dir", "orders.sql"]
    assert (snap / "orders.sql").read_text() == "INSERT 1\n"
    assert (snap / "dir" / "blob").read_bytes() == (data / "dir" / "blob").read_bytes()
    assert (
        sim("lvremove", "-f", "vg/dbsnap", rc=5).stderr
        == "  Logical volume vg/dbsnap contains a filesystem in use.\n"
    )
    assert sim("umount", "-v", str(snap)).stderr == f"umount: {snap} (/dev/mapper/vg-dbsnap) unmounted\n"
    assert os.listdir(snap) == []
    assert 'Logical volume "dbsnap" successfully removed.' in sim("lvremove", "-f", "vg/dbsnap").stdout
    sim("umount", str(data))
    assert sim.state.vgs["vg"].lvs["db"].open_count == 0
    sim("mount", "/dev/vg/db", str(data))
    assert (data / "orders.sql").read_text() == "changed after the snapshot\n"
    assert (data / "late.sql").exists()


def test_read_only_mount_never_changes_the_lv(sim: SimHost, tmp_path: Path) -> None:
    sim.with_vg()("lvcreate", "-L", "400M", "-n", "db", "vg")
    sim("mkfs.ext4", "-q", "/dev/vg/db")
    sim("mount", "-o", "ro", "/dev/vg/db", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["lost+found"]
    dev = fs_dev(sim, "/dev/vg/db")
    before = fsimage.probe(sim.state, dev).sb
    (tmp_path / "new").write_text("x")  # the directory is a plain host directory: writes land there
    sim("umount", str(tmp_path))
    assert fsimage.probe(sim.state, dev).sb == before
    sim("mount", "/dev/vg/db", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["lost+found"]


def test_mount_errors(sim: SimHost, tmp_path: Path) -> None:
    sim.with_vg()("lvcreate", "-L", "400M", "-n", "db", "vg")
    target = str(tmp_path)
    assert sim("mount", "/dev/vg/db", target, rc=32).stderr.startswith(
        f"mount: {target}: wrong fs type, bad option, bad superblock on /dev/mapper/vg-db,"
    )
    assert sim("mount", "/dev/vg/nope", target, rc=32).stderr == (
        f"mount: {target}: special device /dev/vg/nope does not exist.\n{DMESG}"
    )
    assert sim("mount", "/dev/vg/db", target + "/missing", rc=32).stderr == (
        f"mount: {target}/missing: mount point does not exist.\n{DMESG}"
    )
    sim("mkfs.xfs", "-q", "/dev/vg/db")
    sim("mount", "-t", "ext4", "/dev/vg/db", target, rc=32)
    sim("mount", "-o", "ro,bogus", "/dev/vg/db", target, rc=32)
    sim("mount", "-t", "xfs", "/dev/vg/db", target)
    assert sim("mount", "/dev/vg/db", target, rc=32).stderr == (
        f"mount: {target}: /dev/mapper/vg-db already mounted on {target}.\n{DMESG}"
    )
    out = sim("mkfs.xfs", "-f", "/dev/vg/db", rc=1)
    assert out.stderr.startswith("mkfs.xfs: /dev/vg/db contains a mounted filesystem\n")
    out = sim("xfs_repair", "/dev/vg/db", rc=1)
    assert out.stderr == (
        "xfs_repair: /dev/vg/db contains a mounted filesystem\n"
        "xfs_repair: /dev/vg/db contains a mounted and writable filesystem\n\n"
        "fatal error -- couldn't initialize XFS library\n"
    )
    assert (
        sim("lvchange", "-an", "vg/db", rc=5).stderr
        == "  Logical volume vg/db contains a filesystem in use.\n"
    )
    sim("fsfreeze", "-f", target)
    assert (
        sim("fsfreeze", "-f", target, rc=1).stderr
        == f"fsfreeze: {target}: freeze failed: Device or resource busy\n"
    )
    sim("fsfreeze", "-u", target)
    assert sim("xfs_freeze", "-u", target, rc=1).stderr == (
        f"xfs_freeze: cannot unfreeze filesystem mounted at {target}: Invalid argument\n"
    )
    sim("umount", target)
    assert sim("umount", target, rc=32).stderr == f"umount: {target}: not mounted.\n"


def test_files_consume_thin_pool_chunks_and_fstrim_returns_them(sim: SimHost, tmp_path: Path) -> None:
    sim.with_vg()("lvcreate", "-L", "1G", "-T", "vg/pool")
    sim("lvcreate", "-V", "1G", "-T", "vg/pool", "-n", "thin")
    sim("mkfs.xfs", "-q", "/dev/vg/thin")
    vg = sim.state.vgs["vg"]
    pool = vg.lvs["pool"]

    def used() -> int:
        return usage.pool_data_usage(sim.state, vg, pool)[0] * pool.chunk_size

    after_mkfs = used()
    sim("mount", "/dev/vg/thin", str(tmp_path))
    (tmp_path / "big").write_bytes(os.urandom(40 * MiB))
    sim("lvs")  # writeback happens before any command
    assert 40 * MiB <= used() - after_mkfs <= 41 * MiB
    (tmp_path / "big").unlink()
    out = sim("fstrim", "-v", str(tmp_path))
    assert out.stdout.startswith(f"{tmp_path}: ") and out.stdout.endswith(" trimmed\n")
    assert used() <= after_mkfs + 2 * pool.chunk_size  # the 40 MiB went back to the pool
    sim("umount", str(tmp_path))


def test_mount_follows_a_renamed_lv_and_discard_option(sim: SimHost, tmp_path: Path) -> None:
    sim.with_vg()("lvcreate", "-L", "1G", "-T", "vg/pool")
    sim("lvcreate", "-V", "1G", "-T", "vg/pool", "-n", "thin")
    sim("mkfs.ext4", "-q", "/dev/vg/thin")
    sim("mount", "-o", "discard", "/dev/vg/thin", str(tmp_path))
    sim("lvrename", "vg", "thin", "renamed")
    (tmp_path / "f").write_bytes(os.urandom(8 * MiB))
    sim("lvs")
    vg = sim.state.vgs["vg"]
    mapped = usage.thin_mapped_chunks(sim.state, vg, vg.lvs["renamed"])
    (tmp_path / "f").unlink()
    sim("umount", str(tmp_path))
    assert (
        usage.thin_mapped_chunks(sim.state, vg, vg.lvs["renamed"])
        <= mapped - 8 * MiB // vg.lvs["pool"].chunk_size
    )
    assert (
        sim("fstrim", "-v", str(tmp_path), rc=1).stderr
        == f"fstrim: {tmp_path}: the discard operation is not supported\n"
    )
    sim("mount", "/dev/vg/renamed", str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["lost+found"]
    out = sim("fstrim", "-v", str(tmp_path))
    assert (
        out.stdout != ""
        and sim("fstrim", "-v", str(tmp_path)).stdout == f"{tmp_path}: 0 B (0 bytes) trimmed\n"
    )
    sim("umount", str(tmp_path))


def test_mkfs_xfs_takes_a_thin_lvs_chunk_size_as_stripe_unit_from_1_gib(sim: SimHost) -> None:
    """A thin LV's chunk size is the stripe unit (more, smaller AGs), except under 1 GiB, where
    xfsprogs ignores it with a warning (recorded in the dm-sfdisk-xfs golden case)."""
    sim.with_vg()("lvcreate", "-L", "1G", "-T", "vg/pool")
    sim("lvcreate", "-V", "500M", "-T", "vg/pool", "-n", "small")
    out = sim("mkfs.xfs", "/dev/vg/small")
    assert (
        out.stderr
        == "mkfs.xfs: small data volume, ignoring data volume stripe unit 128 and stripe width 128\n"
    )
    assert "agcount=4, agsize=32000 blks" in out.stdout and "sunit=0      swidth=0 blks" in out.stdout
    sim("lvcreate", "-V", "1G", "-T", "vg/pool", "-n", "big")
    out = sim("mkfs.xfs", "/dev/vg/big").stdout
    assert "agcount=8, agsize=32768 blks" in out and "sunit=16     swidth=16 blks" in out


def test_free_space_is_taken_first_fit_as_the_free_runs_say() -> None:
    """FreeSpace keeps its free runs as they change: each take is the first fit over what
    free_extents reports for the used extents plus everything taken before (unaligned used extents
    and partly taken runs included), and a take that cannot fit takes nothing."""
    rng = random.Random(7)
    for _ in range(200):
        bs = rng.choice([512, 4096])
        size = rng.randrange(64, 512) * bs
        fs = fsimage.Filesystem(Device("/dev/x", "x", 0, size), {"block_size": bs, "size": size})
        used = sorted([o, rng.randrange(1, 3 * bs)] for o in rng.sample(range(0, size - 3 * bs), 12))
        space = fsimage.FreeSpace(fs, used)
        for _ in range(30):
            want = rng.randrange(0, 40 * bs)
            before = [list(r) for r in space.runs]
            assert before == [list(r) for r in fsimage.free_extents(fs, used)]
            try:
                got = space.take(want)
            except fsimage.NoSpace:
                assert sum(length for _, length in before) < -(-want // bs) * bs
                assert space.runs == before
                continue
            need, first_fit = -(-want // bs) * bs, []
            for off, length in before:
                if need <= 0:
                    break
                first_fit.append([off, min(length, need)])
                need -= min(length, need)
            assert got == first_fit
            used = sorted(used + got)
