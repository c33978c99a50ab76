"""Failure injection: make each command of a rendered script fail in turn; nothing may be left behind.

A script under `lvsim shims` starts one Python process per command, far too slow to rerun every
scenario once per command.  Here the shims are tiny `python -S` clients of a server inside the test
process, which runs each command exactly as `lvsim.shim.main` does (one locked state transaction,
`emulator.run`).  The server counts the commands that change something and answers the N-th with
exit 1; the test then checks that the script failed and that its undo stack removed everything.
"""

from __future__ import annotations

import os
import re
import shutil
import socketserver
import subprocess
import sys
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from rendered_scripts import (
    BASIC,
    INJECTABLE_HOST_TOOLS,
    READ_ONLY,
    SCENARIOS,
    expects_host,
    host_env,
    leftovers,
    make_shims,
    render_path,
    reports,
    run_script,
    run_setup,
    saved_state,
    script_args,
    write_scenario,
)

from backends.sim import SimBackend
from lvsim import dispatch
from lvsim.core import store

# The client imports only C modules (json and socket would double its start-up, which is most of
# what a rendered script's run costs here). Request: a line of field lengths, then the fields (state
# path, standard input, argv...); reply: "rc len(stdout) len(stderr)", a newline, stdout, stderr.
CLIENT = """\
#!{python} -IS
import _socket, os, sys
name = os.path.basename(sys.argv[0])
host = {host!r}
stdin = b"" if name in host else sys.stdin.buffer.read()
fields = [os.fsencode(os.environ["LVSIM_STATE"]), stdin, *map(os.fsencode, [name, *sys.argv[1:]])]
sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM)
sock.connect(os.environ["LVSIM_TEST_SOCKET"])
sock.sendall(b" ".join(b"%d" % len(f) for f in fields) + b"\\n" + b"".join(fields))
chunks = []
while chunk := sock.recv(65536):
    chunks.append(chunk)
head, _, body = b"".join(chunks).partition(b"\\n")
rc, out, err = map(int, head.split())
sys.stdout.buffer.write(body[:out])
sys.stdout.flush()
sys.stderr.buffer.write(body[out : out + err])
sys.stderr.flush()
if rc == 0 and name in host:
    os.execv(host[name], [name, *sys.argv[1:]])
sys.exit(rc)
"""


@dataclass(frozen=True)
class Call:
    """A changing command of a recorded run: its command line, its exit status, and the script's undo
    stack when it was called (what a failure of this command has to unwind)."""

    cmd: str
    rc: int
    undo: tuple[str, ...]


@dataclass
class Injector:
    """Counts changing commands; the `fail_at`-th one (1-based, 0 = none) exits 1 without running."""

    fail_at: int = 0
    count: int = 0
    calls: list[Call] | None = None  # when recording: each changing command
    log: Path | None = None  # when recording: the script's log, read for its undo stack at each call

    def changes(self, argv: list[str]) -> bool:
        if argv[0] in READ_ONLY:
            return False
        return not (argv[0] == "dmsetup" and argv[1:2] in (["ls"], ["info"]))

    def handle(self, request: dict[str, object], host: set[str]) -> dict[str, object]:
        argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
        changes = self.changes(argv)
        if changes:
            self.count += 1
            if self.count == self.fail_at:
                return {"rc": 1, "stdout": "", "stderr": f"injected failure: {' '.join(argv)}\n"}
        reply = {"rc": 0, "stdout": "", "stderr": ""}
        if argv[0] not in host:
            with store.transaction(Path(str(request["state"]))) as state:
                out = dispatch.run(state, argv, str(request["stdin"]))
            reply = {"rc": out.rc, "stdout": out.stdout, "stderr": out.stderr}
        if changes and self.calls is not None and self.log is not None:
            self.calls.append(Call(" ".join(argv), int(reply["rc"]), undo_stack(self.log.read_text())))
        return reply


def undo_stack(log: str) -> tuple[str, ...]:
    """The undo stack a rendered script's log describes so far ("undo pushed: X" / "undo popped: X")."""
    stack: list[str] = []
    for line in log.splitlines():
        _, pushed, entry = line.partition(": undo pushed: ")
        if pushed:
            stack.append(entry)
            continue
        _, popped, entry = line.partition(": undo popped: ")
        if popped:
            del stack[len(stack) - 1 - stack[::-1].index(entry)]
    return tuple(stack)


@pytest.fixture
def fast_host(tmp_path: Path) -> Iterator[tuple[dict[str, str], Injector]]:
    """A simulated host with fast shims and an injector; yields its environment."""
    bindir = tmp_path / "fastbin"
    bindir.mkdir()
    emulated = dispatch.command_names()
    host = {t: shutil.which(t) for t in INJECTABLE_HOST_TOOLS if t not in emulated}
    host_paths = {name: path for name, path in host.items() if path}
    for name in [*emulated, *host_paths]:
        client = bindir / name
        client.write_text(CLIENT.format(python=sys.executable, host=host_paths))
        client.chmod(0o755)
    injector = Injector()
    sock_path = str(tmp_path / "sim.sock")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            lengths = [int(n) for n in self.rfile.readline().split()]
            state, stdin, *argv = (self.rfile.read(n).decode("utf-8", "surrogateescape") for n in lengths)
            reply = injector.handle({"state": state, "stdin": stdin, "argv": argv}, set(host_paths))
            out, err = (str(reply[k]).encode("utf-8", "surrogateescape") for k in ("stdout", "stderr"))
            self.wfile.write(b"%d %d %d\n" % (int(reply["rc"]), len(out), len(err)) + out + err)

    server = socketserver.UnixStreamServer(sock_path, Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    env = host_env(tmp_path, bindir)
    env["LVSIM_TEST_SOCKET"] = sock_path
    try:
        yield env, injector
    finally:
        server.shutdown()
        server.server_close()


def _reset(env: dict[str, str]) -> None:
    state_dir = Path(env["LVSIM_STATE"]).parent
    shutil.rmtree(state_dir, ignore_errors=True)
    for entry in Path(env["TMPDIR"]).iterdir():
        shutil.rmtree(entry, ignore_errors=True) if entry.is_dir() else entry.unlink()


def _record(script: Path, env: dict[str, str], injector: Injector, args: Sequence[str]) -> list[Call]:
    """Run the script once without failures, recording its changing commands."""
    log = Path(env["HOME"]) / "recording.log"
    injector.calls, injector.log = [], log
    with log.open("w") as err:
        clean = subprocess.run(
            ["bash", str(script), *args],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
            timeout=900,
            check=False,
        )
    assert clean.returncode == 0, log.read_text()[-3000:]
    calls, injector.calls, injector.log = injector.calls, None, None
    assert calls, "the script changed nothing"
    return calls


def _inject_every_command(
    script: Path, env: dict[str, str], injector: Injector, scenario: Path | None = None
) -> None:
    """Fail each changing command in turn, once per distinct situation: commands of one kind called
    with the same undo stack (the writes of a loop, say) unwind alike, so the first stands for all.
    A scenario over existing storage runs on the host its setup makes, which must be all that is left."""
    args = script_args(scenario, Path(env["HOME"])) if scenario else ["--loop"]

    def prepare() -> list[str]:
        _reset(env)
        if scenario is None or not expects_host(scenario):
            return []
        run_setup(scenario, SimBackend(state_path=env["LVSIM_STATE"]))
        return leftovers(saved_state(env))

    seen: set[tuple[str, tuple[str, ...]]] = set()
    prepare()
    for n, call in enumerate(_record(script, env, injector, args), 1):
        situation = (call.cmd.split()[0], call.undo)
        if call.rc != 0 or situation in seen:
            continue  # a command the scenario expects to fail: failing it is no injection
        seen.add(situation)
        host = prepare()
        injector.fail_at, injector.count = n, 0
        result = run_script(script, env, *args)
        assert result.returncode != 0, f"failing command {n} ({call.cmd}) did not fail the script"
        assert f"injected failure: {call.cmd.split()[0]} " in result.stderr
        assert f"undoing {len(call.undo)} change(s)" in result.stderr
        left = [thing for thing in leftovers(saved_state(env)) if thing not in host]
        assert not left, f"failing command {n} ({call.cmd}) left {left}:\n{result.stderr[-3000:]}"
        mounted = [p for p in Path(env["TMPDIR"]).rglob("*") if p.is_dir() and os.path.ismount(p)]
        assert not mounted


def test_every_failure_of_the_basic_scenario_is_undone(
    tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    env, injector = fast_host
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    _inject_every_command(script, env, injector)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_failure_of_a_shipped_scenario_is_undone(
    path: Path, tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    env, injector = fast_host
    _inject_every_command(render_path(path, tmp_path), env, injector, path)


def test_fast_shims_agree_with_lvsim_shims(
    tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    """The fast shims are a test device only: they must give what the real shims give."""
    env, _ = fast_host
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    fast = run_script(script, env, "--loop")
    assert fast.returncode == 0, fast.stderr
    other = tmp_path / "real"
    other.mkdir()
    real_env = host_env(other, make_shims(other))
    real = run_script(script, real_env, "--loop")
    assert real.returncode == 0, real.stderr
    assert reports(saved_state(env)) == reports(saved_state(real_env))
    assert _masked(fast.stdout, env) == _masked(real.stdout, real_env)


def _masked(text: str, env: dict[str, str]) -> str:
    """Output with the temporary directories' random names masked."""
    return re.sub(r"tmp\.\w+", "tmp.X", text.replace(env["TMPDIR"], "T"))
