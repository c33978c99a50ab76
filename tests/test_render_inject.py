"""Failure injection: make each command of a rendered script fail in turn; nothing may be left behind.

A script under `lvsim shims` starts one Python process per command, far too slow to rerun every
scenario once per command.  Here the shims are tiny `python -S` clients of a server inside the test
process, which runs each command exactly as `lvsim.shim.main` does (one locked state transaction,
`emulator.run`).  The server counts the commands that change something and answers the N-th with
exit 1; the test then checks that the script failed and that its undo stack removed everything.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socketserver
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_render import (
    BASIC,
    INJECTABLE_HOST_TOOLS,
    READ_ONLY,
    SCENARIOS,
    host_env,
    leftovers,
    make_shims,
    render_path,
    reports,
    run_script,
    saved_state,
    write_scenario,
)

from lvsim import dispatch
from lvsim.core import store

CLIENT = """\
#!{python} -S
import json, os, socket, sys
name = os.path.basename(sys.argv[0])
host = {host!r}
stdin = "" if name in host else sys.stdin.buffer.read().decode("utf-8", "surrogateescape")
request = {{"argv": [name, *sys.argv[1:]], "stdin": stdin, "state": os.environ["LVSIM_STATE"]}}
sock = socket.socket(socket.AF_UNIX)
sock.connect(os.environ["LVSIM_TEST_SOCKET"])
sock.sendall(json.dumps(request).encode("utf-8", "surrogateescape") + b"\\n")
reply = json.loads(sock.makefile("rb").readline())
sys.stdout.write(reply["stdout"])
sys.stderr.write(reply["stderr"])
sys.stdout.flush()
if reply["rc"] == 0 and name in host:
    os.execv(host[name], [name, *sys.argv[1:]])
sys.exit(reply["rc"])
"""


@dataclass
class Injector:
    """Counts changing commands; the `fail_at`-th one (1-based, 0 = none) exits 1 without running."""

    fail_at: int = 0
    count: int = 0
    calls: list[tuple[str, int]] | None = None  # when recording: each changing command and its exit status

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
        if changes and self.calls is not None:
            self.calls.append((" ".join(argv), int(reply["rc"])))
        return reply


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
            request = json.loads(self.rfile.readline().decode("utf-8", "surrogateescape"))
            reply = injector.handle(request, set(host_paths))
            self.wfile.write(json.dumps(reply).encode("utf-8", "surrogateescape") + b"\n")

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


def _inject_every_command(script: Path, env: dict[str, str], injector: Injector) -> None:
    injector.calls = []
    clean = run_script(script, env, "--loop")
    assert clean.returncode == 0, clean.stderr[-3000:]
    calls, injector.calls = injector.calls, None
    assert calls, "the script changed nothing"
    for n, (call, rc) in enumerate(calls, 1):
        if rc != 0:
            continue  # a command the scenario expects to fail: failing it is no injection
        _reset(env)
        injector.fail_at, injector.count = n, 0
        result = run_script(script, env, "--loop")
        assert result.returncode != 0, f"failing command {n} ({call}) did not fail the script"
        assert f"injected failure: {call.split()[0]} " in result.stderr
        left = leftovers(saved_state(env))
        assert not left, f"failing command {n} ({call}) left {left}:\n{result.stderr[-3000:]}"
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
    _inject_every_command(render_path(path, tmp_path), env, injector)


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
