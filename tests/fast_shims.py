"""Fast shims, a test device: for each emulated command a tiny C client (built once per session with the
system's C compiler) that hands its command to a server thread in the test process, which runs it as
`lvsim.shim.main` does (one locked state transaction, `dispatch.run`).  A command then costs about a
millisecond instead of a Python start; test_render_inject holds them to `lvsim shims`."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import socketserver
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from rendered_scripts import INJECTABLE_HOST_TOOLS, host_env

from lvsim import dispatch
from lvsim.core import store

Request = dict[str, object]  # "state", "stdin" and "argv", as the client sent them
Reply = dict[str, object]  # "rc", "stdout" and "stderr"

# The client: a request is a line of field lengths, then the fields (state path, standard input,
# argv...); the reply "rc len(stdout) len(stderr)", a newline, stdout, stderr.  A host tool (in HOST,
# "name", "path" pairs) reads no input and, if the server answers 0, runs the real tool in its place.
# It ignores SIGPIPE, as a Python program does (and so does the host tool it runs).
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


@functools.cache
def host_tools() -> dict[str, str]:
    """The host tools the client can stand in front of (a server may fail them): name -> the real tool."""
    emulated = dispatch.command_names()
    host = {t: shutil.which(t) for t in INJECTABLE_HOST_TOOLS if t not in emulated}
    return {name: path for name, path in host.items() if path}


def _c_string(text: str) -> str:
    return (
        '"'
        + "".join(chr(b) if 32 <= b < 127 and b not in b'"\\?' else f"\\{b:03o}" for b in text.encode())
        + '"'
    )


def compile_c(where: Path, source: str, name: str, *options: str) -> Path:
    """source built with the system's C compiler into where/name (the test skips without one, and
    fails under CI=true)."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    if compiler is None:
        reason = "NO C COMPILER (cc): the failure injection tests and the fast shims need one"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    (where / f"{name}.c").write_text(source)
    argv = [compiler, "-O2", *options, "-o", name, f"{name}.c"]
    made = subprocess.run(argv, cwd=where, capture_output=True, text=True, check=False)
    assert made.returncode == 0, made.stderr
    return where / name


def build_client(where: Path) -> Path:
    """The client, built into where (the host tools it may stand in front of compiled in)."""
    host = "".join(f"{_c_string(name)}, {_c_string(path)}, " for name, path in host_tools().items())
    return compile_c(where, C_CLIENT.replace("{HOST NULL}", "{" + host + "NULL}"), "client")


def run_command(request: Request) -> Reply:
    """A command as the shims run it (a host tool: 0, and the client runs the real one)."""
    argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
    if argv[0] in host_tools():
        return {"rc": 0, "stdout": "", "stderr": ""}
    with store.transaction(Path(str(request["state"]))) as state:
        out = dispatch.run(state, argv, str(request["stdin"]))
    return {"rc": out.rc, "stdout": out.stdout, "stderr": out.stderr}


@contextlib.contextmanager
def serving(
    tmp_path: Path, client: Path, handle: Callable[[Request], Reply], names: tuple[str, ...] = ()
) -> Iterator[dict[str, str]]:
    """A simulated host (rendered_scripts.host_env) whose emulated commands, and `names`, are the
    client, served by `handle` on a thread of this process; yields its environment."""
    bindir = tmp_path / "fastbin"
    bindir.mkdir()
    for name in [*dispatch.command_names(), *names]:
        (bindir / name).symlink_to(client)
    sock_path = str(tmp_path / "sim.sock")

    class Handler(socketserver.StreamRequestHandler):
        def handle(self) -> None:
            lengths = [int(n) for n in self.rfile.readline().split()]
            state, stdin, *argv = (self.rfile.read(n).decode("utf-8", "surrogateescape") for n in lengths)
            reply = handle({"state": state, "stdin": stdin, "argv": argv})
            out, err = (str(reply[k]).encode("utf-8", "surrogateescape") for k in ("stdout", "stderr"))
            self.wfile.write(b"%d %d %d\n" % (int(reply["rc"]), len(out), len(err)) + out + err)

    server = socketserver.UnixStreamServer(sock_path, Handler)
    # shutdown() waits for the loop to look again: every 50 ms rather than every 0.5 s
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    env = host_env(tmp_path, bindir)
    env["LVSIM_TEST_SOCKET"] = sock_path
    try:
        yield env
    finally:
        server.shutdown()
        server.server_close()
