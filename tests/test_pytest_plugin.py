"""The pytest plugin's `lvm` fixture as a user meets it: an isolated simulated host per test, reports as
Python values, faults with LVM's words, the clock, save points, and the real backend's refusals."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pytest

from lvsim.backend import Backend, Result, open_backend
from lvsim.testing.host import CommandFailed, LvmHost, SavePoint, Unsupported, _renamed, parse_size

pytest_plugins = ["pytester"]


def vg_with_lv(lvm: LvmHost, size: str = "8M", name: str = "x") -> str:
    disk = lvm.add_disk("1G")
    lvm.run(["vgcreate", "vg", disk], check=True)
    lvm.run(["lvcreate", "-L", size, "-n", name, "vg"], check=True)
    return disk


def saved_state(lvm: LvmHost) -> dict[str, object]:
    assert lvm.state_path is not None
    return json.loads(lvm.state_path.read_text())


# -- the host and its environment ------------------------------------------------------------------


def test_environment_reaches_subprocesses(lvm: LvmHost) -> None:
    assert os.environ["PATH"].split(os.pathsep)[0] == str(lvm.shims)
    assert os.environ["LVSIM_STATE"] == str(lvm.state_path) and Path(os.environ["LVSIM_STATE"]).is_absolute()
    assert os.environ["TMPDIR"] == str(lvm.tmp) == tempfile.gettempdir()
    disk = lvm.add_disk("1G")
    done = subprocess.run(["vgcreate", "vg", disk], capture_output=True, text=True, check=False)
    assert (done.returncode, done.stdout.splitlines()[-1]) == (0, '  Volume group "vg" successfully created')
    assert lvm.vg("vg")["pv_count"] == 1  # the subprocess and the fixture share one host


def test_each_test_has_its_own_host(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import os

        def test_one(lvm):
            assert lvm.add_disk("1G") == "/dev/loop0"
            lvm.run("vgcreate vg /dev/loop0", check=True)

        def test_two(lvm):
            assert lvm.add_disk("1G") == "/dev/loop0"
            assert lvm.run("vgs").stdout == ""

        def test_three_without_lvm():
            assert "LVSIM_STATE" not in os.environ
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=3)


def test_sizes() -> None:
    assert parse_size("2G") == 2 * 2**30
    assert parse_size("512M") == 512 * 2**20
    assert parse_size("100") == 100 * 2**20  # LVM's default unit: MiB
    assert parse_size(4096) == 4096
    for bad in ("lots", "-1G", 0, "0"):
        with pytest.raises(ValueError):
            parse_size(bad)


def test_run_takes_a_string_or_argv_and_can_check(lvm: LvmHost) -> None:
    disk = lvm.add_disk(2**30)
    assert lvm.run(f"pvcreate {disk}").stdout == f'  Physical volume "{disk}" successfully created.\n'
    result = lvm.run(["vgcreate", "vg", "/dev/nonexist"])
    assert (result.rc, result.stderr, result.argv) == (
        5,
        "  No device found for /dev/nonexist.\n",
        ("vgcreate", "vg", "/dev/nonexist"),
    )
    with pytest.raises(CommandFailed, match="No device found"):
        lvm.run("vgcreate vg /dev/nonexist", check=True)
    assert lvm.run("lvremove vg/x", stdin="n\n").rc == 5


def test_reports_as_python_values(lvm: LvmHost) -> None:
    disk = lvm.add_disk("1G")
    lvm.run(["vgcreate", "vg", disk], check=True)
    lvm.run("lvcreate -L 100M -T vg/pool", check=True)
    lvm.run("lvcreate -V 1G -T vg/pool -n thin", check=True)
    lvm.run("dd if=/dev/urandom of=/dev/vg/thin bs=1M count=10 oflag=direct", check=True)
    pool = lvm.lv("vg/pool")
    assert pool["lv_size"] == 100 * 2**20 and pool["chunk_size"] == 64 * 1024
    assert pool["data_percent"] == 10.0 and isinstance(pool["metadata_percent"], float)
    assert pool["segtype"] == "thin-pool" and pool["lv_layout"] == ["thin", "pool"]
    assert pool["vg_name"] == "vg"
    thin = lvm.lv("vg/thin")
    assert thin["lv_attr"] == "Vwi-a-tz--" and thin["pool_lv"] == "pool" and thin["origin"] == ""
    assert thin["lv_active_locally"] is True and thin["lv_device_open"] is False
    vg = lvm.vg("vg")
    assert (vg["vg_size"], vg["lv_count"], vg["vg_extent_size"]) == (1020 * 2**20, 2, 4 * 2**20)
    pv = lvm.pv(disk)
    assert (pv["dev_size"], pv["pe_start"], pv["vg_name"]) == (2**30, 2**20, "vg")
    assert [row["lv_name"] for row in lvm.lvs("vg")] == ["pool", "thin"]
    with pytest.raises(LookupError, match='Failed to find logical volume "vg/none"'):
        lvm.lv("vg/none")


def test_write_and_read(lvm: LvmHost) -> None:
    vg_with_lv(lvm)
    lvm.write("/dev/vg/x", 4096, b"hello" * 1000)
    assert lvm.read("/dev/vg/x", 4096, 5000) == b"hello" * 1000


# -- faults ----------------------------------------------------------------------------------------


def test_fail_hits_the_next_matching_call_and_changes_nothing(lvm: LvmHost) -> None:
    vg_with_lv(lvm)
    lvm.run("lvcreate -L 8M -n y vg", check=True)
    lvm.fail("lvremove", rc=5, stderr="  injected\n", stdout="out\n", times=2, match=r"vg/y\b")
    before = saved_state(lvm)
    for _ in range(2):
        done = subprocess.run(["lvremove", "-f", "vg/y"], capture_output=True, text=True, check=False)
        assert (done.returncode, done.stdout, done.stderr) == (5, "out\n", "  injected\n")
    after = saved_state(lvm)
    assert before["vgs"] == after["vgs"] and after["faults"] == []
    assert lvm.run("lvremove -f vg/x").rc == 0  # not matched
    assert lvm.run("lvm lvremove -f vg/y").rc == 0  # used up; `lvm lvremove` is lvremove


def test_fail_checks_its_arguments(lvm: LvmHost) -> None:
    with pytest.raises(ValueError, match=r"rc must be 1\.\.255"):
        lvm.fail("lvs", rc=0)
    with pytest.raises(ValueError, match="times must be at least 1"):
        lvm.fail("lvs", rc=5, times=0)
    with pytest.raises(ValueError, match="bad regular expression"):
        lvm.fail("lvs", rc=5, match="(")
    with pytest.raises(ValueError, match="not a command name"):
        lvm.fail("/sbin/lvs", rc=5)


def test_busy_lv_uses_lvm_words(lvm: LvmHost) -> None:
    vg_with_lv(lvm)
    lvm.faults.busy("/dev/vg/x", commands=["lvremove", "lvchange"], times=2)
    assert lvm.run("lvchange -an vg/x").stderr == "  Logical volume vg/x in use.\n"
    assert lvm.run("lvremove -f vg/x").stderr == "  Logical volume vg/x in use.\n"
    assert lvm.lv("vg/x")["lv_device_open"] is False  # held only during those calls
    assert lvm.run("lvremove -f vg/x").rc == 0


def test_busy_dm_device_and_partition(lvm: LvmHost) -> None:
    vg_with_lv(lvm, "20M", "disk")
    lvm.run("sfdisk -q --no-tell-kernel /dev/vg/disk", stdin="label: dos\nstart=2048, type=83\n", check=True)
    lvm.run("kpartx -s -a /dev/vg/disk", check=True)
    lvm.faults.busy("/dev/mapper/vg-disk1", commands=["kpartx", "dmsetup"], times=2)
    assert (lvm.run("kpartx -d -v /dev/vg/disk").rc, lvm.run("dmsetup remove vg-disk1").stderr) == (
        1,
        "device-mapper: remove ioctl on vg-disk1  failed: Device or resource busy\nCommand failed.\n",
    )
    with lvm.hold_open("/dev/mapper/vg-disk1"):
        done = lvm.run("kpartx -d -v /dev/vg/disk")
        assert (done.rc, done.stdout) == (1, "vg-disk1 is in use. Not removing\n")
    assert lvm.run("kpartx -d /dev/vg/disk").rc == 0
    with pytest.raises(ValueError, match="neither an LV"):
        lvm.faults.busy("/dev/loop0")
    with pytest.raises(ValueError, match="no device-mapper device /dev/mapper/vg-diskp1"):
        lvm.faults.busy("/dev/mapper/vg-diskp1")


def test_hold_open_an_lv(lvm: LvmHost) -> None:
    vg_with_lv(lvm)
    with lvm.hold_open("vg/x"):
        assert lvm.lv("vg/x")["lv_device_open"] is True
        assert lvm.run("dmsetup remove vg-x").stderr.startswith("device-mapper: remove ioctl on vg-x  failed")
    assert lvm.lv("vg/x")["lv_device_open"] is False


def test_mount_fails_with_mount_words(lvm: LvmHost, tmp_path: Path) -> None:
    vg_with_lv(lvm, "320M")
    lvm.run("mkfs.xfs -q /dev/vg/x", check=True)
    lvm.faults.mount_fails(match="/dev/vg/x")
    done = lvm.run(["mount", "-o", "ro", "-t", "xfs", "/dev/vg/x", str(tmp_path)])
    assert (done.rc, done.stderr) == (
        32,
        f"mount: {tmp_path}: can't read superblock on /dev/mapper/vg-x.\n"
        "       dmesg(1) may have more information after failed mount system call.\n",
    )
    assert lvm.run(["mount", "/dev/vg/x", str(tmp_path)]).rc == 0


LOCK_WORDS = "  Interrupted...\n  Giving up waiting for lock.\n  Can't get lock for vg.\n  Cannot process volume group vg\n"


def test_lock_timeout_hits_lvm_commands_naming_the_vg(lvm: LvmHost) -> None:
    vg_with_lv(lvm)
    lvm.run(["vgcreate", "other", lvm.add_disk("64M")], check=True)
    lvm.faults.lock_timeout("vg", times=3)
    assert lvm.run("vgs other").rc == 0 and lvm.run("vgs").rc == 0  # not naming vg
    for command in ("lvs vg/x", "lvcreate -L 4M -n y vg", "lvm lvremove -f /dev/vg/x"):
        result = lvm.run(command)
        assert (result.rc, result.stdout, result.stderr) == (5, "", LOCK_WORDS)
    assert lvm.run("lvs vg").rc == 0 and lvm.lv("vg/x")["lv_name"] == "x"  # all three used up
    with pytest.raises(ValueError, match="no volume group nothere"):
        lvm.faults.lock_timeout("nothere")


def test_pool_full_after(lvm: LvmHost) -> None:
    disk = lvm.add_disk("1G")
    lvm.run(["vgcreate", "vg", disk], check=True)
    lvm.run("lvcreate -L 100M -T vg/pool", check=True)
    lvm.run("lvcreate -V 200M -T vg/pool -n thin", check=True)
    assert lvm.faults.pool_full_after("vg/pool", "100k") == "vg/lvsim_fill"  # 2 chunks of 64 KiB
    assert lvm.lv("vg/lvsim_fill")["lv_size"] == 100 * 2**20  # 100 MiB - 128 KiB, rounded up to extents
    lvm.run("dd if=/dev/zero of=/dev/vg/thin bs=64K count=2 oflag=direct", check=True)
    assert lvm.lv("vg/pool")["data_percent"] == 100.0
    assert lvm.faults.pool_full_after("vg/pool", 0) == "vg/lvsim_fill1"  # nothing left to fill
    with pytest.raises(ValueError, match="has only 0 bytes free"):
        lvm.faults.pool_full_after("vg/pool", "1M")
    with pytest.raises(ValueError, match="not a thin pool"):
        lvm.faults.pool_full_after("vg/thin", "1M")


def test_snapshot_overflow_after_keeps_the_snapshot_content(lvm: LvmHost) -> None:
    vg_with_lv(lvm, "16M", "data")
    lvm.run("dd if=/dev/urandom of=/dev/vg/data bs=1M count=16 oflag=direct", check=True)
    lvm.run("lvcreate -s -L 8M -n snap vg/data", check=True)
    image = lvm.read("/dev/vg/snap", 0, 16 * 2**20)
    lvm.faults.snapshot_overflow_after("vg/snap", "64k")  # 16 chunks of 4 KiB
    assert lvm.read("/dev/vg/snap", 0, 16 * 2**20) == image
    lvm.run("dd if=/dev/zero of=/dev/vg/data bs=4K count=16 oflag=direct", check=True)
    assert lvm.lv("vg/snap")["lv_snapshot_invalid"] is False
    lvm.run("dd if=/dev/zero of=/dev/vg/data bs=4K count=1 seek=16 oflag=direct", check=True)
    assert lvm.lv("vg/snap")["lv_snapshot_invalid"] is True


# -- the clock and save points ---------------------------------------------------------------------


def test_clock(lvm: LvmHost) -> None:
    start = lvm.clock.now()
    assert lvm.clock.advance(90) == start + 90
    with pytest.raises(ValueError, match="only moves forward"):
        lvm.clock.advance(-1)
    with pytest.raises(ValueError, match="only moves forward"):
        lvm.clock.set(start)
    lvm.clock.set(1_900_000_000)
    assert lvm.clock.now() == 1_900_000_000


def test_save_and_restore_with_large_content(lvm: LvmHost, lvm_factory) -> None:  # type: ignore[no-untyped-def]
    vg_with_lv(lvm, "8M")
    payload = os.urandom(256 * 1024)  # kept in a blob file beside the state
    lvm.write("/dev/vg/x", 0, payload)
    point = lvm.save()
    lvm.run("lvremove -f vg/x", check=True)
    lvm.restore(point)
    assert lvm.read("/dev/vg/x", 0, len(payload)) == payload
    other = lvm_factory()
    other.restore(point)  # another host, another state file and blob directory
    other.write("/dev/vg/x", 1 << 20, os.urandom(128 * 1024))
    assert other.read("/dev/vg/x", 0, len(payload)) == payload
    assert lvm.lvs("vg") and lvm.read("/dev/vg/x", 1 << 20, 4) == b"\0" * 4


def test_save_point_replayed_where_files_cannot_be_copied(lvm: LvmHost, lvm_factory) -> None:  # type: ignore[no-untyped-def]
    """What real LVM gets: the disks, command lines and writes of a save point, run again on fresh disks."""
    vg_with_lv(lvm)
    second = lvm.add_disk("512M")
    lvm.run(["vgextend", "vg", second], check=True)
    lvm.write("/dev/vg/x", 0, b"data" * 128)
    lvm.run("lvs vg/nothing")  # failed then, must fail again
    point = SavePoint(None, lvm.save().steps)
    fresh = lvm_factory()
    fresh.restore(point)
    assert fresh.pv(second)["vg_name"] == "vg" and fresh.read("/dev/vg/x", 0, 512) == b"data" * 128
    with pytest.raises(ValueError, match="call it first"):
        fresh.restore(point)
    with pytest.raises(ValueError, match="replay of the save point diverged: vgs exited with 0, not 5"):
        lvm_factory().restore(SavePoint(None, [("run", (["vgs"], "", 5))]))


class _NoStateFiles(Backend):
    """The simulator seen as real LVM is seen: no state file to copy, so save points are replays."""

    name = "real"

    def __init__(self, root: Path) -> None:
        self._sim = open_backend("sim", state_path=root / "state")
        self.closed = False

    def add_disk(self, size: int) -> str:
        return self._sim.add_disk(size)

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        return self._sim.run(argv, stdin)

    def write(self, device: str, offset: int, data: bytes) -> None:
        self._sim.write(device, offset, data)

    def read(self, device: str, offset: int, length: int) -> bytes:
        return self._sim.read(device, offset, length)

    def discard(self, device: str, offset: int, length: int) -> None:
        self._sim.discard(device, offset, length)

    def close(self) -> None:
        self.closed = True
        self._sim.close()


def test_on_real_lvm_only_a_session_host_is_saved_and_saving_closes_it(tmp_path: Path) -> None:
    """Real LVM's save points: a test's own host cannot go back (a skip); a session host's is its
    disks and commands, and saving closes it, so that its VG names are free for the tests' replays."""
    test_host = LvmHost(_NoStateFiles(tmp_path / "t"), tmp_path / "t")
    with pytest.raises(Unsupported, match="real LVM cannot go back"):
        test_host.save()
    backend = _NoStateFiles(tmp_path / "s")
    session = LvmHost(backend, tmp_path / "s", session=True)
    vg_with_lv(session)
    point = session.save()
    assert backend.closed and point.directory is None
    with pytest.raises(RuntimeError, match="closed by save"):
        session.run("lvs")
    test_host.restore(point)
    assert test_host.lv("vg/x")["lv_size"] == 8 * 2**20


def test_replay_renames_disks() -> None:
    renames = {"/dev/loop0": "/dev/loop1", "/dev/loop1": "/dev/loop0"}
    assert _renamed("/dev/loop1p1", renames) == "/dev/loop0p1"
    assert _renamed("/dev/loop10", renames) == "/dev/loop10"
    assert _renamed("devices=/dev/loop0,/dev/loop1", renames) == "devices=/dev/loop1,/dev/loop0"


def test_save_refuses_while_mounted(lvm: LvmHost, tmp_path: Path) -> None:
    vg_with_lv(lvm, "320M")
    lvm.run("mkfs.xfs -q /dev/vg/x", check=True)
    lvm.run(["mount", "/dev/vg/x", str(tmp_path)], check=True)
    with pytest.raises(ValueError, match="unmount them first"):
        lvm.save()


def test_teardown_unmounts(pytester: pytest.Pytester) -> None:
    """A test that leaves a file system mounted: the fixture unmounts it (the directory is empty again)."""
    pytester.makepyfile(
        """
        from pathlib import Path

        MNT = Path(__file__).parent / "mnt"

        def test_leaves_it_mounted(lvm):
            disk = lvm.add_disk("1G")
            lvm.run(["vgcreate", "vg", disk], check=True)
            lvm.run("lvcreate -L 320M -n x vg", check=True)
            lvm.run("mkfs.xfs -q /dev/vg/x", check=True)
            MNT.mkdir()
            lvm.run(["mount", "/dev/vg/x", str(MNT)], check=True)
            (MNT / "file").write_text("data")

        def test_then(lvm):
            assert list(MNT.iterdir()) == []
        """
    )
    pytester.runpytest("-p", "no:randomly").assert_outcomes(passed=2)


# -- the real backend ------------------------------------------------------------------------------


REAL_TESTS = """
import pytest

def test_uses_lvm(lvm):
    lvm.add_disk("1G")

@pytest.mark.parametrize("lvm", ["sim", "real"], indirect=True)
def test_both(lvm):
    assert lvm.backend in ("sim", "real")

def test_without_lvm():
    pass
"""


@pytest.mark.skipif(os.geteuid() == 0 and os.path.exists("/dev/mapper/control"), reason="real LVM is here")
def test_real_backend_unavailable_skips_or_fails(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REAL_TESTS)
    result = pytester.runpytest("-rs")
    result.assert_outcomes(passed=3, skipped=1)  # the parametrized real case: skipped, with the reason
    result.stdout.fnmatch_lines(["*real LVM is not available here: RealBackend needs*"])
    explicit = pytester.runpytest("--lvm-backend=real")
    explicit.assert_outcomes(passed=2, errors=1, skipped=1)  # asked for explicitly: not there is an error
    explicit.stdout.fnmatch_lines(["*--lvm-backend=real: real LVM is not available here*"])


def test_real_cases_are_marked_real(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(REAL_TESTS)
    pytester.runpytest("-m", "not real").assert_outcomes(passed=3)
    selected = pytester.runpytest("--lvm-backend=real", "-m", "real", "--collect-only", "-q")
    selected.stdout.fnmatch_lines(["*test_uses_lvm*", "*test_both?real?*"])
    assert "test_without_lvm" not in selected.stdout.str()


def test_unsupported_on_real_lvm_is_a_skip(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        from lvsim.testing.host import Unsupported

        def test_needs_the_simulator():
            raise Unsupported("lvm.fail() needs the simulator: real LVM cannot do it")
        """
    )
    result = pytester.runpytest("-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*real LVM: lvm.fail() needs the simulator*"])


def test_bad_backend_names(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.parametrize("lvm", ["vm"], indirect=True)
        def test_x(lvm):
            pass
        """
    )
    pytester.runpytest().assert_outcomes(errors=1)
    assert pytester.runpytest("--lvm-backend=vm").ret == pytest.ExitCode.USAGE_ERROR


@pytest.mark.parametrize("lvm", ["sim", "real"], indirect=True)
def test_the_words_of_busy_devices_and_unreadable_mounts(lvm: LvmHost, tmp_path: Path) -> None:
    """The failures the ready-made faults give, made genuinely (held open, an invalid snapshot) on both
    backends: the same words as faults.busy and faults.mount_fails print (tests above)."""
    disk = lvm.add_disk("256M")
    lvm.run(["vgcreate", "vg", disk], check=True)
    lvm.run("lvcreate -L 20M -n disk vg", check=True)
    lvm.run("sfdisk -q --no-tell-kernel /dev/vg/disk", stdin="label: dos\nstart=2048, type=83\n", check=True)
    lvm.run("kpartx -s -a /dev/vg/disk", check=True)
    with lvm.hold_open("/dev/mapper/vg-disk1"):
        busy = lvm.run("kpartx -d -v /dev/vg/disk")
        assert (busy.rc, busy.stdout, busy.stderr) == (1, "vg-disk1 is in use. Not removing\n", "")
        busy = lvm.run("dmsetup remove vg-disk1")
        assert (busy.rc, busy.stderr) == (
            1,
            "device-mapper: remove ioctl on vg-disk1  failed: Device or resource busy\nCommand failed.\n",
        )
    lvm.run("kpartx -d /dev/vg/disk", check=True)
    with lvm.hold_open("/dev/vg/disk"):
        busy = lvm.run("lvremove -f vg/disk")
        assert (busy.rc, busy.stdout, busy.stderr) == (5, "", "  Logical volume vg/disk in use.\n")
    # overflowed snapshots (4 MiB of COW, 8 MiB written over the origin): of a filesystem, and of none
    lvm.run("lvcreate -L 40M -n data vg", check=True)
    lvm.run("mkfs.ext4 -q /dev/vg/data", check=True)
    lvm.run("lvcreate -s -L 4M -n snap vg/data", check=True)
    lvm.run("lvcreate -L 40M -n raw vg", check=True)
    lvm.run("lvcreate -s -L 4M -n rawsnap vg/raw", check=True)
    for origin in ("data", "raw"):
        lvm.run(f"dd if=/dev/zero of=/dev/vg/{origin} bs=1M count=8 oflag=direct", check=True)
    assert lvm.lv("vg/snap")["lv_snapshot_invalid"] is True
    assert lvm.lv("vg/rawsnap")["lv_snapshot_invalid"] is True
    dmesg = "       dmesg(1) may have more information after failed mount system call.\n"
    # a type given, the filesystem's own read fails (EIO): can't read superblock
    failed = lvm.run(["mount", "-t", "ext4", "-o", "ro", "/dev/vg/snap", str(tmp_path)])
    assert (failed.rc, failed.stderr) == (
        32,
        f"mount: {tmp_path}: can't read superblock on /dev/mapper/vg-snap.\n{dmesg}",
    )
    # with no type, real mount's words vary from run to run in the VM (whether a probe got the type
    # before the reads failed): one of these two
    failed = lvm.run(["mount", "-o", "ro", "/dev/vg/rawsnap", str(tmp_path)])
    assert failed.rc == 32
    assert failed.stderr in (
        f"mount: {tmp_path}: can't read superblock on /dev/mapper/vg-rawsnap.\n{dmesg}",
        f"mount: {tmp_path}: wrong fs type, bad option, bad superblock on /dev/mapper/vg-rawsnap, missing "
        f"codepage or helper program, or other error.\n{dmesg}",
    )
    failed = lvm.run(["mount", "-t", "xfs", "-o", "ro", "/dev/vg/rawsnap", str(tmp_path)])
    assert (failed.rc, failed.stderr) == (
        32,
        f"mount: {tmp_path}: can't read superblock on /dev/mapper/vg-rawsnap.\n{dmesg}",
    )


@pytest.mark.real
@pytest.mark.parametrize("lvm", ["real"], indirect=True)
def test_on_real_lvm(lvm: LvmHost, tmp_path: Path) -> None:
    """Real LVM through the same API: reports, the environment for subprocesses, hold_open, genuine faults."""
    disk = lvm.add_disk("1G")
    assert os.environ["LVM_SYSTEM_DIR"] == lvm.env["LVM_SYSTEM_DIR"]
    done = subprocess.run(["vgcreate", "vg", disk], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    lvm.run("lvcreate -L 100M -T vg/pool", check=True)
    lvm.run("lvcreate -V 200M -T vg/pool -n thin", check=True)
    assert lvm.lv("vg/pool")["chunk_size"] == 65536 and lvm.vg("vg")["lv_count"] == 2
    filler = lvm.faults.pool_full_after("vg/pool", "128k")
    assert filler == "vg/lvsim_fill"
    assert lvm.run("dd if=/dev/zero of=/dev/vg/thin bs=64K count=2 oflag=direct").rc == 0
    assert lvm.lv("vg/pool")["data_percent"] == 100.0
    lvm.run("lvcreate -L 8M -n x vg", check=True)
    with lvm.hold_open("/dev/vg/x"):
        assert lvm.run("lvremove -f vg/x").stderr == "  Logical volume vg/x in use.\n"
    assert lvm.run("lvremove -f vg/x").rc == 0
    lvm.run("lvcreate -L 64M -n data vg", check=True)
    lvm.run("lvcreate -s -L 16M -n snap vg/data", check=True)
    lvm.faults.snapshot_overflow_after("vg/snap", "64k")
    lvm.run("dd if=/dev/zero of=/dev/vg/data bs=4K count=16 oflag=direct", check=True)
    assert lvm.lv("vg/snap")["lv_snapshot_invalid"] is False
    lvm.run("dd if=/dev/zero of=/dev/vg/data bs=4K count=1 seek=16 oflag=direct", check=True)
    assert lvm.lv("vg/snap")["lv_snapshot_invalid"] is True
    with pytest.raises(Exception, match="needs the simulator"):
        lvm.fail("lvs", rc=5)


@pytest.mark.real
@pytest.mark.parametrize("lvm", ["real"], indirect=True)
def test_lock_timeout_words_on_real_lvm(lvm: LvmHost) -> None:
    """faults.lock_timeout's words: an LVM command waiting for a VG lock another command holds, then
    stopped as timeout(1) stops it (SIGTERM)."""
    import fcntl
    import time

    lvm.run(["vgcreate", "vg", lvm.add_disk("64M")], check=True)
    lock = Path("/run/lock/lvm/V_vg")
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        waiting = subprocess.Popen(
            ["lvcreate", "-L", "4M", "-n", "y", "vg"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(5)
        waiting.terminate()
        out, err = waiting.communicate(timeout=120)
    assert (waiting.returncode, out, err) == (5, "", LOCK_WORDS)
