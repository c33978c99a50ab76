"""No traceback anywhere: the guard at the shims, `lvsim exec`, the CLI and SimBackend; output
as bytes in any locale; a committed command on a closed or broken stdout exits as LVM 2.03.16 does
(measured in the VM: a broken pipe kills it with SIGPIPE, a closed stdout or /dev/full go unnoticed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim import guard

ROOT = Path(__file__).resolve().parent.parent
INTERNAL = "  Internal error: lvsim "


@pytest.fixture
def shims(tmp_path: Path) -> dict[str, str]:
    """Shims with a VG (vg on a 100 MiB loop device) in a fresh state."""
    bin_dir = tmp_path / "bin"
    subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "shims", str(bin_dir)], check=True, capture_output=True
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LVSIM_STATE": str(tmp_path / "state")}
    img = tmp_path / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 100 << 20)
    setup = f'dev=$(losetup -f --show {img}) && vgcreate vg "$dev" >/dev/null'
    subprocess.run(["bash", "-c", setup], env=env, check=True)
    return env


def _stream(mode: str, argv: list[str], env: dict[str, str]) -> tuple[int, bytes]:
    """Run argv with stdout closed, on a pipe whose reader is gone, or on /dev/full: (rc, stderr)."""
    kwargs: dict = {"stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "env": env}
    if mode == "closed":
        proc = subprocess.Popen(argv, stdout=None, preexec_fn=lambda: os.close(1), **kwargs)
    elif mode == "pipe":
        r, w = os.pipe()
        os.close(r)
        proc = subprocess.Popen(argv, stdout=w, restore_signals=True, **kwargs)
        os.close(w)
    else:
        with open("/dev/full", "w") as full:
            proc = subprocess.Popen(argv, stdout=full, **kwargs)
    _, err = proc.communicate()
    return proc.returncode, err


@pytest.mark.parametrize(("mode", "rc"), [("closed", 0), ("pipe", -signal.SIGPIPE), ("full", 0)])
def test_committed_command_on_a_bad_stdout_exits_as_lvm(shims: dict[str, str], mode: str, rc: int) -> None:
    name = f"lv{mode}"
    got, err = _stream(mode, ["lvcreate", "-L", "4M", "-n", name, "vg"], shims)
    assert (got, err) == (rc, b"")
    listed = subprocess.run(
        ["lvs", "--noheadings", "-o", "lv_name"], env=shims, capture_output=True, text=True
    )
    assert name in listed.stdout.split()  # the command committed before its output was lost
    got, err = _stream(mode, ["lvs"], shims)
    assert (got, err) == (rc, b"")


def test_lvsim_exec_on_a_broken_pipe(shims: dict[str, str]) -> None:
    got, err = _stream("pipe", [sys.executable, "-m", "lvsim.cli", "exec", "--", "vgs"], shims)
    assert (got, err) == (-signal.SIGPIPE, b"")


@pytest.mark.parametrize("locale", ["C", "C.UTF-8", "POSIX"])
def test_undecodable_argv_comes_back_as_the_same_bytes(shims: dict[str, str], locale: str) -> None:
    env = {**shims, "LC_ALL": locale}
    out = subprocess.run([b"lvs", b"vg/\xff"], env=env, capture_output=True)
    assert (out.returncode, out.stderr) == (5, b'  Failed to find logical volume "vg/\xff"\n')  # as LVM (VM)
    out = subprocess.run([b"lvcreate", b"-L", b"4M", b"-n", b"\xff\xfe", b"vg"], env=env, capture_output=True)
    assert out.stderr.startswith(b'  Logical volume name "\xff\xfe" is invalid.\n')


def test_binary_stdin_and_stdout_round_trip_in_a_utf8_locale(shims: dict[str, str], tmp_path: Path) -> None:
    env = {**shims, "LC_ALL": "C.UTF-8"}
    payload = bytes(range(256)) * 64 + b"\r\n\xff\xfe"
    subprocess.run(["lvcreate", "-L", "4M", "-n", "data", "vg"], env=env, check=True, capture_output=True)
    wrote = subprocess.run(
        ["dd", "of=/dev/vg/data", "bs=512", "status=none"], input=payload, env=env, capture_output=True
    )
    assert (wrote.returncode, wrote.stderr) == (0, b"")
    read = subprocess.run(
        ["dd", "if=/dev/vg/data", f"count={len(payload)}", "iflag=count_bytes", "status=none"],
        env=env,
        capture_output=True,
    )
    assert read.stdout == payload


BUGGY = textwrap.dedent(
    """
    import sys
    sys.path.insert(0, {root!r})
    def broken(ctx):
        ctx.state.vgs.clear()  # half-way through a change...
        raise KeyError("boom")  # ... a bug
    from lvsim import dispatch
    from lvsim.core import context
    spec, _ = dispatch.lookup("lvcreate")
    context.COMMANDS["lvcreate"] = (spec, broken)
    sys.argv = ["lvcreate", "-L", "4M", "-n", "x", "vg"]
    from lvsim.shim import main
    sys.exit(main({state!r}, True))
    """
)


def test_a_bug_is_one_line_rc_5_and_the_state_is_not_saved(shims: dict[str, str]) -> None:
    state = Path(shims["LVSIM_STATE"])
    before = state.read_bytes()
    code = BUGGY.format(root=str(ROOT), state=str(state))
    out = subprocess.run([sys.executable, "-c", code], env=shims, capture_output=True, text=True)
    assert out.returncode == 5 and out.stdout == ""
    assert out.stderr.startswith(INTERNAL) and out.stderr.count("\n") == 1
    assert "KeyError at test" not in out.stderr and "KeyError at <string>:" in out.stderr
    assert "please report it with the command line" in out.stderr
    assert state.read_bytes() == before


def test_the_cli_guard(tmp_path: Path) -> None:
    code = textwrap.dedent(
        f"""
        import sys
        sys.path.insert(0, {str(ROOT)!r})
        from lvsim import cli
        def broken() -> None:
            raise RuntimeError("x" * 1000)
        cli.app.command("boom")(broken)
        sys.argv = ["lvsim", "boom"]
        cli.main()
        """
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 5 and "Traceback" not in out.stderr
    assert out.stderr.startswith(INTERNAL + "0.1.0: RuntimeError at <string>:")
    assert len(out.stderr) < 500 and out.stderr.count("\n") == 1


def test_simbackend_runs_behind_the_guard(monkeypatch: pytest.MonkeyPatch) -> None:
    from lvsim import dispatch

    def broken(*args: object, **kwargs: object) -> None:
        raise ZeroDivisionError("integer division or modulo by zero")

    monkeypatch.setattr(dispatch, "run", broken)
    with SimBackend() as backend:
        result = backend.run(["lvs"])
    assert result.rc == 5 and result.stderr.startswith(INTERNAL)
    assert "ZeroDivisionError" in result.stderr


def test_internal_error_line_is_bounded() -> None:
    try:
        raise ValueError("a\nb" + "c" * 5000)
    except ValueError as exc:
        line = guard.internal_error(exc)
    assert line.count("\n") == 1 and len(line) < 500 and "a b" in line


def test_dd_to_a_closed_stdout_or_dev_full_says_what_coreutils_says(shims: dict[str, str]) -> None:
    subprocess.run(["lvcreate", "-L", "4M", "-n", "d", "vg"], env=shims, check=True, capture_output=True)
    rc, err = _stream("closed", ["dd", "if=/dev/vg/d", "bs=4k", "count=1"], shims)
    assert (rc, err) == (  # as dd 9.1 in the VM
        1,
        b"dd: error writing 'standard output': Bad file descriptor\n"
        b"dd: closing output file 'standard output': Bad file descriptor\n",
    )
    rc, err = _stream("full", ["dd", "if=/dev/vg/d", "bs=4k", "count=1", "status=none"], shims)
    assert (rc, err) == (1, b"dd: error writing 'standard output': No space left on device\n")
    rc, err = _stream("full", ["dd", "if=/dev/vg/d", "bs=4k", "count=1"], shims)
    assert rc == 1 and err.startswith(
        b"dd: error writing 'standard output': No space left on device\n1+0 records in\n0+0 records out\n0 bytes copied, "
    )
