"""Safety of RealBackend: it refuses unsafe machines, sees only its own devices, and always cleans up.

The `real` tests run as root inside the VM (`make test-real`); the refusal tests run anywhere.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from backends import real
from backends.real import RealBackend, RealBackendUnavailable

ROOT = Path(__file__).resolve().parent.parent
MiB = 1 << 20


def test_refuses_without_root(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(RealBackendUnavailable, match="needs root"):
        RealBackend()


def test_refuses_without_device_mapper(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    exists = os.path.exists
    monkeypatch.setattr(os.path, "exists", lambda p: False if p == "/dev/mapper/control" else exists(p))
    with pytest.raises(RealBackendUnavailable, match="device-mapper"):
        RealBackend()


def test_lvm_conf_accepts_only_the_given_loops() -> None:
    conf = real._lvm_conf(["/dev/loop3", "/dev/loop12"])
    assert '"a|^/dev/loop3$|", "a|^/dev/loop12$|", "r|.*|"' in conf
    assert real._lvm_conf([]).count('"r|.*|"') == 2


# -- on real LVM --------------------------------------------------------------------------------------


def _loops_of(workdir: Path) -> list[str]:
    out = subprocess.run(["losetup", "-l", "-n", "-O", "NAME,BACK-FILE"], capture_output=True, text=True)
    return [line.split()[0] for line in out.stdout.splitlines() if str(workdir) in line]


def _dm_names() -> list[str]:
    out = subprocess.run(["dmsetup", "ls"], capture_output=True, text=True).stdout
    return [line.split()[0] for line in out.splitlines() if line.strip() and "No devices found" not in line]


def _all_vgs() -> list[str]:
    """VG names on any loop device of the machine (an lvm.conf-free scan that accepts all loops)."""
    config = 'devices { filter = [ "a|^/dev/loop|", "r|.*|" ] }'
    out = subprocess.run(
        ["vgs", "--noheadings", "-o", "vg_name", "--config", config],
        capture_output=True,
        text=True,
        env={**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"},
    )
    return [line.strip() for line in out.stdout.splitlines() if line.strip()]


def _assert_nothing_left(workdir: Path, vg: str) -> None:
    assert not workdir.exists(), f"{workdir} left behind"
    assert not _loops_of(workdir), f"loop devices left behind: {_loops_of(workdir)}"
    assert not [n for n in _dm_names() if n.startswith(f"{vg}-")], f"dm devices left behind: {_dm_names()}"
    assert vg not in _all_vgs()
    assert not Path("/dev", vg).exists(), f"/dev/{vg} left behind"


@pytest.mark.real
def test_session_lifecycle_and_data_path() -> None:
    with RealBackend() as b:
        workdir = b.workdir
        disk = b.add_disk(64 * MiB)
        assert disk.startswith("/dev/loop")
        assert b.run(["vgcreate", "lvsimt1", disk]).rc == 0
        assert b.run(["lvcreate", "-L", "8M", "-n", "lin", "lvsimt1"]).rc == 0
        assert b.report("vg", "-o", "vg_name,vg_tags") == [{"vg_name": "lvsimt1", "vg_tags": "lvsim"}]
        b.write("/dev/lvsimt1/lin", 4096, b"x" * 8192)
        assert b.read("/dev/lvsimt1/lin", 4096, 8192) == b"x" * 8192
        assert b.read("/dev/lvsimt1/lin", 0, 512) == bytes(512)
        b.discard("/dev/lvsimt1/lin", 0, 1 * MiB)
        with pytest.raises(ValueError):
            b.write("/dev/lvsimt1/lin", 100, b"y")
        assert b.vgs == {"lvsimt1"}
    _assert_nothing_left(workdir, "lvsimt1")


@pytest.mark.real
def test_untagged_vgs_for_byte_identical_output() -> None:
    with RealBackend(tag_vgs=False) as b:
        b.run(["vgcreate", "lvsimt2", b.add_disk(16 * MiB)])
        assert b.report("vg", "-o", "vg_name,vg_tags") == [{"vg_name": "lvsimt2", "vg_tags": ""}]


@pytest.mark.real
def test_cleanup_on_exception_with_stacked_and_mounted_devices(tmp_path: Path) -> None:
    workdir = None
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    with pytest.raises(RuntimeError, match="boom"), RealBackend() as b:
        workdir = b.workdir
        b.run(["vgcreate", "lvsimt3", b.add_disk(64 * MiB), b.add_disk(64 * MiB)])
        b.run(["lvcreate", "-L", "20M", "-T", "lvsimt3/pool"])
        b.run(["lvcreate", "-V", "40M", "-T", "lvsimt3/pool", "-n", "thin"])
        b.run(["lvcreate", "-L", "8M", "-n", "lin", "lvsimt3"])
        b.run(["lvcreate", "-s", "-L", "4M", "-n", "snap", "lvsimt3/lin"])
        assert b.run(["mkfs.ext4", "-q", "/dev/lvsimt3/thin"]).rc == 0
        assert b.run(["mount", "/dev/lvsimt3/thin", str(mnt)]).rc == 0
        raise RuntimeError("boom")
    assert workdir is not None
    assert not os.path.ismount(mnt)
    _assert_nothing_left(workdir, "lvsimt3")


@pytest.mark.real
def test_sees_and_touches_only_its_own_devices(tmp_path: Path) -> None:
    """A VG on a loop device the backend did not make stays invisible and untouched."""
    image = tmp_path / "foreign.img"
    image.write_bytes(b"")
    os.truncate(image, 32 * MiB)
    foreign = subprocess.run(["losetup", "-f", "--show", str(image)], capture_output=True, text=True)
    loop = foreign.stdout.strip()
    config = f'devices {{ filter = [ "a|^{loop}$|", "r|.*|" ] }}'
    env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    try:
        subprocess.run(
            ["vgcreate", "--config", config, "foreignvg", loop], check=True, env=env, capture_output=True
        )
        with RealBackend() as b:
            b.run(["vgcreate", "lvsimt4", b.add_disk(16 * MiB)])
            assert [row["vg_name"] for row in b.report("vg")] == ["lvsimt4"]
            result = b.run(["pvcreate", loop])
            assert result.rc == 5 and "rejected by filter" in result.stderr
            assert b.run(["vgremove", "-f", "foreignvg"]).rc == 5
            with pytest.raises(PermissionError):
                b.write(loop, 0, bytes(512))
        vgs = subprocess.run(
            ["vgs", "--config", config, "--noheadings", "-o", "vg_name"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert vgs.stdout.split() == ["foreignvg"]
    finally:
        subprocess.run(["vgremove", "-f", "--config", config, "foreignvg"], env=env, capture_output=True)
        subprocess.run(["losetup", "-d", loop], capture_output=True)


SESSION = textwrap.dedent(
    """
    import sys, time
    sys.path.insert(0, sys.argv[1])
    from backends.real import RealBackend
    vg = sys.argv[2]
    b = RealBackend()
    print(b.workdir, flush=True)
    disks = [b.add_disk(64 << 20), b.add_disk(64 << 20)]
    b.run(["vgcreate", vg, *disks])
    b.run(["lvcreate", "-L", "20M", "-T", f"{vg}/pool"])
    b.run(["lvcreate", "-V", "40M", "-T", f"{vg}/pool", "-n", "thin"])
    b.write(f"/dev/{vg}/thin", 0, bytes(65536))
    b.run(["lvcreate", "-L", "8M", "-n", "lin", vg])
    b.run(["lvcreate", "-s", "-L", "4M", "-n", "snap", f"{vg}/lin"])
    i = 0
    while True:
        b.run(["lvcreate", "-L", "4M", "-n", f"x{i}", vg])
        b.run(["lvremove", "-f", f"{vg}/x{i}"])
        i += 1
    """
)


@pytest.mark.real
@pytest.mark.parametrize("first", [0, 10], ids=["sessions-0-9", "sessions-10-19"])
def test_killed_sessions_leave_nothing_behind(first: int) -> None:
    """20 sessions (two batches of 10 side by side; the VM harness may run the batches in different
    VMs) killed at random points (SIGINT, SIGTERM or SIGKILL) leave no loop, dm device or VG."""
    rng = random.Random(20240611 + first)
    sigs = [signal.SIGINT, signal.SIGTERM, signal.SIGKILL]
    batch = 10  # sessions run side by side (each only sees its own devices): start-up dominates in the VM
    outcomes = []
    sessions = []
    for n in range(first, first + batch):
        vg = f"lvsimkill{n}"
        proc = subprocess.Popen(  # -I -S: the session needs only the standard library
            [sys.executable, "-I", "-S", "-c", SESSION, str(ROOT), vg], stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        workdir = Path(proc.stdout.readline().strip())
        sessions.append((proc, workdir, vg, rng.uniform(0, 12), rng.choice(sigs)))
    start = time.monotonic()
    for proc, _, _, delay, sig in sorted(sessions, key=lambda s: s[3]):
        time.sleep(max(0.0, start + delay - time.monotonic()))
        proc.send_signal(sig)
    for proc, workdir, vg, delay, sig in sessions:
        proc.wait(timeout=300)
        assert real.wait_for_cleanup(workdir, timeout=300), f"{vg}: not cleaned up after {sig.name}"
        _assert_nothing_left(workdir, vg)
        outcomes.append((vg, sig.name, round(delay, 1)))
    assert len(outcomes) == batch


DEAD_SESSION = textwrap.dedent(
    """
    import os, sys
    sys.path.insert(0, sys.argv[1])
    from backends.real import RealBackend
    b = RealBackend(base_dir=sys.argv[2])
    disk = b.add_disk(16 << 20)
    b.run(["vgcreate", "lvsimdead", disk])
    print(b.workdir, b._reaper.pid, flush=True)
    os.kill(b._reaper.pid, 9)  # the machine stops: neither the session nor its reaper cleans up
    os.kill(os.getpid(), 9)
    """
)


@pytest.mark.real
def test_refuses_what_is_not_its_own(tmp_path: Path) -> None:
    """On real devices: host tools, foreign devices and dm devices, filter-widening
    options and host VG names are refused (rc 95, one line); a filesystem right on one of its loops
    is unmounted at close; the work directory of a dead session is swept by the next backend; the VG
    name of another session's active VG is taken until that session closes."""
    image = tmp_path / "foreign.img"
    image.write_bytes(b"")
    os.truncate(image, 32 * MiB)
    loop = subprocess.run(
        ["losetup", "-f", "--show", str(image)], capture_output=True, text=True
    ).stdout.strip()
    config = f'devices {{ filter = [ "a|^{loop}$|", "r|.*|" ] }}'
    env = {**os.environ, "LVM_SUPPRESS_FD_WARNINGS": "1"}
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    try:
        subprocess.run(
            ["vgcreate", "--config", config, "lvsimhost", loop], check=True, env=env, capture_output=True
        )
        subprocess.run(
            ["lvcreate", "--config", config, "-L", "8M", "-n", "h", "lvsimhost"],
            check=True,
            env=env,
            capture_output=True,
        )
        dead = subprocess.run(
            [sys.executable, "-I", "-S", "-c", DEAD_SESSION, str(ROOT), str(tmp_path)],
            capture_output=True,
            text=True,
        )
        dead_workdir = Path(dead.stdout.split()[0])
        assert dead_workdir.exists()
        with RealBackend(base_dir=str(tmp_path)) as b:
            assert not dead_workdir.exists()  # swept at start
            disk = b.add_disk(32 * MiB)
            refused = {
                ("rm", "-rf", str(tmp_path / "x")): "the real backend runs only LVM and the tools lvsim simulates, not rm",
                ("dd", "if=/dev/zero", f"of={loop}", "bs=512", "count=1"): f"{loop} is not a device of this real backend",
                ("dmsetup", "remove", "lvsimhost-h"): "dmsetup remove lvsimhost-h: not a device-mapper device of this real backend",
                ("pvs", "--config", config): "--config may not change which devices LVM sees on the real backend",
                ("vgcreate", "lvsimhost", disk): "VG name lvsimhost is taken on this host: a real-backend VG must not share it",
                ("losetup", "-f", str(image)): f"losetup: {image} is not a file of this real backend's work directory",
            }  # fmt: skip
            for argv, message in refused.items():
                result = b.run(argv)
                assert (result.rc, result.stdout, result.stderr) == (95, "", f"lvsim: {message}\n"), argv
            with RealBackend(base_dir=str(tmp_path)) as other:  # another session's active VG: taken too
                assert other.run(["vgcreate", "lvsimother", other.add_disk(16 * MiB)]).rc == 0
                assert other.run(["lvcreate", "-L", "4M", "-n", "o", "lvsimother"]).rc == 0
                taken = b.run(["vgcreate", "lvsimother", disk])
                assert (taken.rc, taken.stderr) == (95, "lvsim: VG name lvsimother is taken on this host: "
                                                        "a real-backend VG must not share it\n")  # fmt: skip
            freed = b.run(["vgcreate", "lvsimother", disk])  # the session closed: the name is free
            assert freed.rc == 0, freed.stderr
            assert b.run(["vgremove", "-f", "lvsimother"]).rc == 0
            assert b.run(["mkfs.ext4", "-q", disk]).rc == 0
            assert b.run(["mount", disk, str(mnt)]).rc == 0
            workdir = b.workdir
        assert not os.path.ismount(mnt)
        _assert_nothing_left(workdir, "lvsimt9")
        _assert_nothing_left(dead_workdir, "lvsimdead")
        assert Path("/dev/mapper/lvsimhost-h").exists()  # the host's own stayed
    finally:
        subprocess.run(["umount", str(mnt)], capture_output=True)
        subprocess.run(["vgremove", "-f", "--config", config, "lvsimhost"], env=env, capture_output=True)
        subprocess.run(["losetup", "-d", loop], capture_output=True)
