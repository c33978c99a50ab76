"""The lvsim command line: exec, shims (losetup included) and disk add, through real subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

LVSIM = [sys.executable, "-m", "lvsim.cli"]


def run(args: list[str], tmp_path: Path, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LVSIM_STATE": str(tmp_path / "state")}
    return subprocess.run(args, env=env, capture_output=True, text=True, input=stdin)


def test_disk_add_then_exec(tmp_path: Path) -> None:
    assert run([*LVSIM, "disk", "add", "/dev/vdb", "1G"], tmp_path).returncode == 0
    out = run([*LVSIM, "exec", "--", "pvcreate", "/dev/vdb"], tmp_path)
    assert (out.returncode, out.stdout, out.stderr) == (
        0,
        '  Physical volume "/dev/vdb" successfully created.\n',
        "",
    )
    out = run([*LVSIM, "exec", "--", "vgcreate", "vg", "/dev/vdb"], tmp_path)
    assert out.stdout == '  Volume group "vg" successfully created\n'
    out = run([*LVSIM, "exec", "--", "lvcreate", "-L", "10M", "-n", "a", "vg"], tmp_path)
    assert (
        out.stdout == '  Rounding up size to full physical extent 12.00 MiB\n  Logical volume "a" created.\n'
    )


def test_exec_state_option_and_errors(tmp_path: Path) -> None:
    state = tmp_path / "other"
    out = run([*LVSIM, "exec", "--state", str(state), "--", "vgcreate", "vg", "/dev/nonexist"], tmp_path)
    assert (out.returncode, out.stderr) == (5, "  No device found for /dev/nonexist.\n")
    out = run([*LVSIM, "exec", "--", "lvm", "foo"], tmp_path)
    assert (out.returncode, out.stderr) == (2, "  No such command.  Try 'lvm help'.\n")
    out = run([*LVSIM, "disk", "add", "/dev/vdb", "lots"], tmp_path)
    assert out.returncode == 3 and "invalid size" in out.stderr


def test_disk_add_takes_ascii_numbers_of_any_length_without_a_traceback(tmp_path: Path) -> None:
    """Non-ASCII digits, 5,000-digit and overflowing sizes are one usage error; 5,000 leading zeros are
    still a number (C's strtod, as LVM reads sizes)."""
    for size in ("²G", "３G", "9" * 5000 + "G", "1e400G", "nanG"):
        out = run([*LVSIM, "disk", "add", "/dev/vdb", size], tmp_path)
        assert (out.returncode, out.stdout, out.stderr) == (3, "", f"lvsim: invalid size: {size}\n")
    assert not (tmp_path / "state").exists()
    out = run([*LVSIM, "disk", "add", "/dev/vdb", "0" * 5000 + "1G"], tmp_path)
    assert (out.returncode, out.stderr) == (0, "")
    assert run([*LVSIM, "exec", "--", "pvcreate", "/dev/vdb"], tmp_path).returncode == 0
    out = run([*LVSIM, "exec", "--", "pvs", "-o", "dev_size", "--noheadings"], tmp_path)
    assert out.stdout.split() == ["1.00g"]


def test_prompt_answered_from_stdin(tmp_path: Path) -> None:
    run([*LVSIM, "disk", "add", "/dev/vdb", "1G"], tmp_path)
    run([*LVSIM, "exec", "--", "vgcreate", "vg", "/dev/vdb"], tmp_path)
    run([*LVSIM, "exec", "--", "lvcreate", "-L", "4M", "-n", "a", "vg"], tmp_path)
    out = run([*LVSIM, "exec", "--", "lvremove", "vg/a"], tmp_path, stdin="n\n")
    assert out.returncode == 5
    assert (
        out.stderr
        == "Do you really want to remove active logical volume vg/a? [y/n]:   Logical volume vg/a not removed.\n"
    )
    out = run([*LVSIM, "exec", "--", "lvremove", "vg/a"], tmp_path, stdin="y\n")
    assert (out.returncode, out.stdout) == (0, '  Logical volume "a" successfully removed.\n')


def test_shims_and_losetup(tmp_path: Path) -> None:
    bin_dir = tmp_path / "bin"
    assert run([*LVSIM, "shims", str(bin_dir)], tmp_path).returncode == 0
    for name in ("lvcreate", "vgcreate", "pvcreate", "losetup", "lvm"):
        assert os.access(bin_dir / name, os.X_OK)
    for name in ("a.img", "b.img"):
        (tmp_path / name).write_bytes(b"")
        os.truncate(tmp_path / name, 100 * 2**20)
    script = f"""
set -e
a=$(losetup -f --show {tmp_path}/a.img)
b=$(losetup -f --show {tmp_path}/b.img)
echo "$a $b"
losetup -f
vgcreate vg "$a" "$b"
"""
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LVSIM_STATE": str(tmp_path / "state")}
    out = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "/dev/loop0 /dev/loop1"
    assert lines[1] == "/dev/loop2"
    assert '  Volume group "vg" successfully created' in lines


def test_command_homes_match_registrations() -> None:
    """Each shim imports only its command's module: the table must name the module that registers it."""
    import importlib

    from lvsim import dispatch

    for name, home in dispatch.COMMAND_HOMES.items():
        module = importlib.import_module(f"lvsim.{home}")
        _, handler = dispatch.COMMANDS[name]
        assert handler.__module__ == module.__name__, name
    assert set(dispatch.COMMANDS) == set(dispatch.COMMAND_HOMES)
