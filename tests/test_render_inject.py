"""Failure injection: make each command of a rendered script fail in turn; nothing may be left behind.

A script under `lvsim shims` starts one Python process per command, far too slow to rerun every
scenario once per command.  Here the shims are tiny clients of a server inside the test process, which
runs each command exactly as `lvsim.shim.main` does (one locked state transaction, `emulator.run`).
The server counts the commands that change something and answers the N-th with exit 1; the test then
checks that the script failed and that its undo stack removed everything.

The client is a small C program built once per test session with the system's C compiler (a Python
client's start-up alone, some 7 ms of CPU, cost more than the rest of a command); where there is no C
compiler, the same client in Python (`python -S`) stands in.
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

# Request: a line of field lengths, then the fields (state path, standard input, argv...); reply:
# "rc len(stdout) len(stderr)", a newline, stdout, stderr.  A host tool (in `host`) reads no input
# and, if the server answers 0, runs the real tool in its place.  The Python client imports only C
# modules (json and socket would double its start-up).
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


# The same client in C (HOST: the host tools as "name", "path" pairs).  Like Python, it ignores
# SIGPIPE (so does the host tool it runs).
C_CLIENT = r"""
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static const char *const HOST[] = {HOST NULL};

static void fail(const char *what) {
    perror(what);
    exit(1);
}

/* All of fd's data, NUL-terminated (its length in len). */
static char *slurp(int fd, size_t *len) {
    size_t cap = 65536, n = 0;
    char *buf = malloc(cap);
    for (;;) {
        if (!buf || (n + 1 == cap && !(buf = realloc(buf, cap *= 2))))
            fail("malloc");
        ssize_t got = read(fd, buf + n, cap - n - 1);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            fail("read");
        if (got == 0)
            break;
        n += (size_t)got;
    }
    buf[n] = 0;
    *len = n;
    return buf;
}

static void put(int fd, const char *data, size_t len) {
    while (len) {
        ssize_t done = write(fd, data, len);
        if (done < 0 && errno == EINTR)
            continue;
        if (done < 0)
            fail("write");
        data += done;
        len -= (size_t)done;
    }
}

int main(int argc, char **argv) {
    signal(SIGPIPE, SIG_IGN);
    const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
    const char *tool = NULL;
    for (int i = 0; HOST[i]; i += 2)
        if (!strcmp(HOST[i], name))
            tool = HOST[i + 1];
    const char *state = getenv("LVSIM_STATE"), *where = getenv("LVSIM_TEST_SOCKET");
    if (!state || !where)
        fail("LVSIM_STATE and LVSIM_TEST_SOCKET");
    size_t stdin_len = 0;
    char *stdin_data = tool ? calloc(1, 1) : slurp(0, &stdin_len);
    int sock = socket(AF_UNIX, SOCK_STREAM, 0);
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    strncpy(addr.sun_path, where, sizeof addr.sun_path - 1);
    if (sock < 0 || connect(sock, (struct sockaddr *)&addr, sizeof addr) < 0)
        fail(where);
    char head[72];
    snprintf(head, sizeof head, "%zu %zu %zu", strlen(state), stdin_len, strlen(name));
    put(sock, head, strlen(head));
    for (int i = 1; i < argc; i++) {
        snprintf(head, sizeof head, " %zu", strlen(argv[i]));
        put(sock, head, strlen(head));
    }
    put(sock, "\n", 1);
    put(sock, state, strlen(state));
    put(sock, stdin_data, stdin_len);
    put(sock, name, strlen(name));
    for (int i = 1; i < argc; i++)
        put(sock, argv[i], strlen(argv[i]));
    size_t len;
    char *reply = slurp(sock, &len), *body = memchr(reply, '\n', len);
    int rc;
    size_t out, err;
    if (!body || sscanf(reply, "%d %zu %zu", &rc, &out, &err) != 3 || (size_t)(reply + len - body) < 1 + out + err)
        fail("bad reply");
    put(1, body + 1, out);
    put(2, body + 1 + out, err);
    if (rc == 0 && tool) {
        argv[0] = (char *)name;
        execv(tool, argv);
        fail(tool);
    }
    return rc;
}
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


def _host_tools() -> dict[str, str]:
    """The injectable host tools the fast shims stand in front of: name -> the real tool."""
    emulated = dispatch.command_names()
    host = {t: shutil.which(t) for t in INJECTABLE_HOST_TOOLS if t not in emulated}
    return {name: path for name, path in host.items() if path}


def _c_string(text: str) -> str:
    return (
        '"'
        + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\?' else f"\\{b:03o}" for b in text.encode())
        + '"'
    )


@pytest.fixture(scope="session")
def c_client(tmp_path_factory: pytest.TempPathFactory) -> Path | None:
    """The C client, built once per session; None where there is no C compiler."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        return None
    where = tmp_path_factory.mktemp("client")
    host = "".join(f"{_c_string(name)}, {_c_string(path)}, " for name, path in _host_tools().items())
    (where / "client.c").write_text(C_CLIENT.replace("{HOST NULL}", "{" + host + "NULL}"))
    built = subprocess.run(
        [compiler, "-O2", "-o", str(where / "client"), str(where / "client.c")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    return where / "client"


@pytest.fixture
def client_kind(c_client: Path | None) -> str:
    """Which client the fast shims are: the C one where it could be built."""
    return "python" if c_client is None else "c"


@pytest.fixture
def fast_host(
    tmp_path: Path, client_kind: str, c_client: Path | None
) -> Iterator[tuple[dict[str, str], Injector]]:
    """A simulated host with fast shims and an injector; yields its environment."""
    bindir = tmp_path / "fastbin"
    bindir.mkdir()
    host_paths = _host_tools()
    for name in [*dispatch.command_names(), *host_paths]:
        client = bindir / name
        if client_kind == "c":
            if c_client is None:
                pytest.skip("no C compiler: the fast shims are the Python client")
            client.symlink_to(c_client)
            continue
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
    # shutdown() waits for the loop to look again: every 50 ms rather than every 0.5 s
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
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


@pytest.mark.parametrize("client_kind", ["c", "python"])
def test_fast_shims_agree_with_lvsim_shims(
    tmp_path: Path, client_kind: str, fast_host: tuple[dict[str, str], Injector]
) -> None:
    """The fast shims are a test device only: they must give what the real shims give (both clients)."""
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
