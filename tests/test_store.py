"""The saved state: racing shim calls lose nothing; bad state files give clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from lvsim.core import store
from lvsim.core.model import Disk, LVKind, State


def _shims(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    bin_dir = tmp_path / "bin"
    subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], check=True, capture_output=True
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LVSIM_STATE": str(tmp_path / "state")}
    return bin_dir, env


def test_racing_lvcreates_lose_no_update(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 300 * 2**20)
    script = f"""
set -e
dev=$(losetup -f --show {img})
vgcreate vg "$dev" >/dev/null
for i in $(seq 1 12); do lvcreate -L 4M -n l$i vg >/dev/null & done
wait
lvs --noheadings -o lv_name vg | wc -l
"""
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "12"
    state = json.loads((tmp_path / "state").read_text())
    assert sorted(state["vgs"]["vg"]["lvs"]) == sorted(f"l{i}" for i in range(1, 13))


def test_corrupt_state_is_a_clear_error(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    (tmp_path / "state").write_text('{"vgs": {"vg": {"name": ')
    out = subprocess.run(["lvs"], env=env, capture_output=True, text=True)
    assert out.returncode == 5
    assert out.stderr.startswith(f"lvsim: state file {tmp_path / 'state'} is corrupt")
    assert "Traceback" not in out.stderr


def test_unusable_state_path_is_a_clear_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    out = subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "exec", "--state", str(blocker / "state"), "--", "lvs"],
        capture_output=True,
        text=True,
    )
    assert out.returncode == 5
    assert "cannot use state file" in out.stderr and "Traceback" not in out.stderr


def test_failed_command_does_not_write(tmp_path: Path) -> None:
    path = tmp_path / "state"
    with store.transaction(path) as state:
        state.disks["/dev/vdb"] = Disk("/dev/vdb", 2**30)
    before = path.read_bytes()
    with pytest.raises(RuntimeError), store.transaction(path) as state:
        state.disks.clear()
        raise RuntimeError("boom")
    assert path.read_bytes() == before


def test_state_round_trips(tmp_path: Path) -> None:
    from lvsim import dispatch

    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 300 * 2**20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 8M -n a vg", "lvcreate -l 10%FREE vg"):
        assert dispatch.run(state, cmd.split()).rc == 0
    path = tmp_path / "state"
    with store.transaction(path) as saved:
        saved.__dict__.update(state.__dict__)
    assert store.load(path).to_json() == state.to_json()


STATE_FILES = Path(__file__).parent / "state_files"


@pytest.mark.parametrize("name", sorted(p.name for p in STATE_FILES.glob("*.json")))
def test_state_file_of_an_earlier_lvsim_loads(tmp_path: Path, name: str) -> None:
    """A state file an earlier lvsim wrote (its commands listed in it) loads with every LV's kind an
    LVKind, saves and loads back unchanged, and the commands that lvsim ran next on that state print
    what they printed there (reports, writes to thin volumes and snapshots, lvremove)."""
    from backends.sim import SimBackend

    made = json.loads((STATE_FILES / name).read_text())
    path = tmp_path / "state"
    path.write_text(json.dumps(made["state"], separators=(",", ":")))
    state = store.load(path)
    kinds = {lv.name: lv.kind for vg in state.vgs.values() for lv in vg.lvs.values()}
    assert all(type(kind) is LVKind for kind in kinds.values()), kinds
    assert set(kinds.values()) == set(LVKind)
    saved = json.loads(json.dumps(state.to_json()))
    assert State.from_json(saved).to_json() == saved
    backend = SimBackend(state)
    for cmd, rc, stdout, stderr in made["then"]:
        res = backend.run(cmd.split())
        assert (res.rc, res.stdout, res.stderr) == (rc, stdout, stderr), cmd


# -- the host boundary: files other users plant, full disks, stale files, lock waits ------


def _save_one(path: Path, name: str = "/dev/vdb") -> None:
    with store.transaction(path) as state:
        state.disks[name] = Disk(name, 2**30)


def test_temporary_file_is_never_opened_through_a_symlink(tmp_path: Path, monkeypatch) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    names = iter([b"\x01" * 6, b"\x02" * 6])
    monkeypatch.setattr(os, "urandom", lambda n: next(names))
    first = (b"\x01" * 6).hex()
    planted = tmp_path / f".state.{os.getpid()}.{first}.tmp"
    planted.symlink_to(victim)
    _save_one(tmp_path / "state")
    assert victim.read_text() == "precious\n"
    assert planted.is_symlink()  # left alone: lvsim did not make it
    assert "/dev/vdb" in store.load(tmp_path / "state").disks


def test_lock_file_is_never_opened_through_a_symlink(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.write_text("precious\n")
    (tmp_path / "state.lock").symlink_to(victim)
    with pytest.raises(store.StateError, match="cannot use state file"):
        _save_one(tmp_path / "state")
    assert victim.read_text() == "precious\n"


@pytest.mark.parametrize("mode", [0o777, 0o1777, 0o757])
def test_state_directory_writable_by_others_is_refused(tmp_path: Path, mode: int) -> None:
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(mode)
    with pytest.raises(store.StateError, match=r"is writable by other users .*private directory"):
        _save_one(shared / "state")
    assert not (shared / "state").exists() and not (shared / "state.lock").exists()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to give a directory away")
def test_state_directory_of_another_user_is_refused(tmp_path: Path) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o755)
    os.chown(theirs, 12345, 12345)
    with pytest.raises(store.StateError, match="is owned by another user"):
        _save_one(theirs / "state")


def test_new_state_directory_is_private(tmp_path: Path) -> None:
    _save_one(tmp_path / "a" / "b" / "state")
    assert (tmp_path / "a" / "b").stat().st_mode & 0o077 == 0


@pytest.mark.parametrize("code", [28, 13])  # ENOSPC, EACCES
def test_failed_save_keeps_the_old_state_and_no_temporary(tmp_path: Path, monkeypatch, code: int) -> None:
    path = tmp_path / "state"
    _save_one(path, "/dev/vdb")
    before = path.read_bytes()

    def failing_write(fd: int, data: bytes) -> int:
        raise OSError(code, os.strerror(code))

    monkeypatch.setattr(os, "write", failing_write)
    with pytest.raises(store.StateError) as caught:
        _save_one(path, "/dev/vdc")
    assert str(caught.value) == f"cannot save state: {path}: {os.strerror(code)}"
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state", "state.lock"]


def test_failed_save_through_a_shim_is_rc_5_and_one_line(tmp_path: Path) -> None:
    """A save that cannot write its blob files (here the blob directory is a file) fails as
    `lvsim: cannot save state: ...`, rc 5, and the old state stays."""
    _, env = _shims(tmp_path)
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 64 * 2**20)
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(1 << 20))
    setup = (
        f'dev=$(losetup -f --show {img}); vgcreate vg "$dev" >/dev/null; lvcreate -L 8M -n a vg >/dev/null'
    )
    subprocess.run(["bash", "-c", setup], env=env, check=True)
    before = (tmp_path / "state").read_bytes()
    (tmp_path / "state.blobs").write_text("in the way")
    out = subprocess.run(
        ["dd", f"if={payload}", "of=/dev/vg/a", "bs=1M"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 5
    assert out.stderr.startswith(f"lvsim: cannot save state: {tmp_path / 'state.blobs'}: ")
    assert out.stderr.count("\n") == 1 and out.stdout == ""
    assert (tmp_path / "state").read_bytes() == before
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_stale_temporary_files_are_swept(tmp_path: Path) -> None:
    path = tmp_path / "state"
    _save_one(path)
    stale = [tmp_path / ".state.4242.tmp", tmp_path / f".state.4242.{'ab' * 6}.tmp"]
    for f in stale:
        f.write_text("half a state")
    other = tmp_path / ".other.4242.tmp"
    other.write_text("not ours")
    link = tmp_path / ".state.99.tmp"
    link.symlink_to(other)
    _save_one(path, "/dev/vdc")
    assert not any(f.exists() for f in stale)
    assert other.read_text() == "not ours" and link.is_symlink()


def test_unreferenced_blobs_are_swept(tmp_path: Path) -> None:
    from lvsim import dispatch

    path = tmp_path / "state"
    payload = tmp_path / "payload"
    payload.write_bytes(os.urandom(1 << 20))
    with store.transaction(path) as state:
        state.disks["/dev/loop0"] = Disk("/dev/loop0", 300 * 2**20)
        for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 8M -n a vg"):
            assert dispatch.run(state, cmd.split()).rc == 0
        assert dispatch.run(state, ["dd", f"if={payload}", "of=/dev/vg/a", "bs=1M", "status=none"]).rc == 0
    blobs = tmp_path / "state.blobs"
    assert len(list(blobs.iterdir())) == 1
    with store.transaction(path) as state:  # overwritten: nothing refers to the blob any more
        assert dispatch.run(state, ["dd", "if=/dev/zero", "of=/dev/vg/a", "bs=1M", "status=none"]).rc == 1
    assert list(blobs.iterdir()) == []


def _hold_lock(path: Path, mode: str) -> subprocess.Popen[str]:
    """A process holding the state's lock (flock -s or -x) until its stdin closes."""
    proc = subprocess.Popen(
        [
            "flock",
            f"-{mode}",
            str(path.with_name(path.name + ".lock")),
            "sh",
            "-c",
            "echo held; cat >/dev/null",
        ],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline() == "held\n"
    return proc


def test_lock_wait_says_who_holds_it_and_times_out(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    path = tmp_path / "state"
    _save_one(path)
    holder = _hold_lock(path, "x")
    try:
        out = subprocess.run(
            ["lvcreate", "-L", "4M", "vg"],
            env={**env, "LVSIM_LOCK_TIMEOUT": "2"},
            capture_output=True,
            text=True,
        )
    finally:
        holder.communicate("")
    assert out.returncode == 5
    lines = out.stderr.splitlines()
    assert lines[0].startswith(f"lvsim: waiting for the state lock on {path} (held by pid ")
    assert lines[1].startswith(f"lvsim: gave up waiting for the state lock on {path} after 2 s (held by pid ")
    assert "LVSIM_LOCK_TIMEOUT" in lines[1] and len(lines) == 2


def test_read_only_commands_share_the_lock(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    path = tmp_path / "state"
    _save_one(path)
    subprocess.run(["pvs"], env=env, check=True)  # the state as commands leave it
    holder = _hold_lock(path, "s")
    try:
        env = {**env, "LVSIM_LOCK_TIMEOUT": "2"}
        read = subprocess.run(["pvs"], env=env, capture_output=True, text=True)
        write = subprocess.run(["pvcreate", "/dev/vdb"], env=env, capture_output=True, text=True)
    finally:
        holder.communicate("")
    assert read.returncode == 0 and read.stderr == ""
    assert write.returncode == 5 and "gave up waiting" in write.stderr


def test_shims_pin_an_absolute_state_path(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    home = tmp_path / "home"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "LVSIM_STATE"}
    subprocess.run([sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], cwd=home, env=env, check=True)
    env["PATH"] = f"{bin_dir}:{env['PATH']}"
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 64 * 2**20)
    subprocess.run(["losetup", "-f", str(img)], cwd=home, env=env, check=True)
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = subprocess.run(["losetup", "-a"], cwd=elsewhere, env=env, capture_output=True, text=True)
    assert str(img) in out.stdout
    assert (home / ".lvsim" / "state").exists() and not (elsewhere / ".lvsim").exists()


def test_shims_never_replace_a_file_they_did_not_write(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    victim = tmp_path / "real-lvs"
    victim.write_text("#!/bin/sh\necho real\n")
    (bin_dir / "lvs").symlink_to(victim)
    out = subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], capture_output=True, text=True
    )
    assert out.returncode == 5
    assert (
        out.stderr
        == f"lvsim: cannot write shims: {bin_dir / 'lvs'} exists and is not an lvsim shim: not replacing it\n"
    )
    assert victim.read_text() == "#!/bin/sh\necho real\n"
    assert not (bin_dir / "lvcreate").exists()  # checked before anything was written
    (bin_dir / "lvs").unlink()
    subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], check=True, capture_output=True
    )
    subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], check=True, capture_output=True
    )


def test_shim_without_its_lvsim_fails_loudly(tmp_path: Path) -> None:
    from lvsim.shim import _shim_text

    shim = tmp_path / "lvs"
    shim.write_text(_shim_text(sys.executable, str(tmp_path / "gone"), str(tmp_path / "state"), True))
    shim.chmod(0o755)
    out = subprocess.run([str(shim)], capture_output=True, text=True)
    assert out.returncode == 5
    assert out.stderr.startswith(f"lvsim: cannot load lvsim from {tmp_path / 'gone'} (ModuleNotFoundError: ")
    assert "Traceback" not in out.stderr


def test_shim_interpreter_with_a_space_in_its_path(tmp_path: Path) -> None:
    from lvsim.shim import _shim_text

    spaced = tmp_path / "my python"
    spaced.mkdir()
    (spaced / "python").symlink_to(sys.executable)
    home = str(Path(__file__).resolve().parent.parent)
    shim = tmp_path / "pvs"
    shim.write_text(_shim_text(str(spaced / "python"), home, str(tmp_path / "state"), True))
    shim.chmod(0o755)
    out = subprocess.run([str(shim)], capture_output=True, text=True)
    assert (out.returncode, out.stdout, out.stderr) == (0, "", "")
    shim.write_text(_shim_text(str(tmp_path / "no such python"), home, str(tmp_path / "state"), True))
    out = subprocess.run([str(shim)], capture_output=True, text=True)
    assert out.returncode == 127 and "no such python" in out.stderr  # never another python


def test_endless_pipe_into_dd_stops_at_the_device_end(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 64 * 2**20)
    script = f"""
dev=$(losetup -f --show {img})
vgcreate vg "$dev" >/dev/null && lvcreate -L 8M -n d vg >/dev/null
yes | dd of=/dev/vg/d bs=1M iflag=fullblock
"""
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.startswith(
        "dd: error writing '/dev/vg/d': No space left on device\n9+0 records in\n8+0 records out\n"
    )


def test_commands_that_only_read_create_no_state(tmp_path: Path) -> None:
    _, env = _shims(tmp_path)
    for argv in (
        ["vgs"],
        ["lvs", "-a"],
        ["dmsetup", "ls"],
        ["dmsetup", "info", "-c"],
        ["findmnt", str(tmp_path)],
    ):
        subprocess.run(argv, env=env, capture_output=True, check=False)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bin"]
