"""lvsim's command server: the shims' commands run in forks of one process that has lvsim's command
modules imported, instead of each shim starting Python and importing them again.

A shim (`lvsim.shimclient`) connects to the server's abstract Unix socket (`shimclient.socket_name`:
named by the interpreter, lvsim's root, the user, groups and locale) and sends its command.  The
server keeps one spare ready: a supervisor that waits for the next connection and the worker it forked
(warmed up by a throwaway command on a state in memory).  The supervisor takes a connection (the server
then forks the next spare), checks it comes from this user and that lvsim's code is unchanged, hands
the command and the shim's descriptors to the worker and tells the shim the worker's pid; it passes the
shim's signals on to the worker, kills it if the shim goes away, and sends the shim its wait status.
The worker takes on the shim's descriptors 0-2, working directory, umask, environment, argv, signal
dispositions and mask and resource limits, then runs exactly what the shim runs in-process
(`lvsim.shim.main`) and exits with its code.

The server exits when it has had no command for LVSIM_SERVER_IDLE seconds (default IDLE), and when a
module of lvsim it loaded or its interpreter changed on disk (checked before each command, which the
shim then runs itself; the next shim starts a new server).
"""

from __future__ import annotations

import array
import atexit
import contextlib
import gc
import importlib
import io
import json
import os
import pkgutil
import resource
import select
import signal
import socket
import sys
import time
from pathlib import Path
from typing import NoReturn

from lvsim import guard, shim, shimclient

IDLE = 30.0  # seconds without a command before the server exits (LVSIM_SERVER_IDLE overrides)
# What the server imports before it serves (the commands' modules); the rest loads on first use.
PRELOADED = ("lvsim.core", "lvsim.lvm", "lvsim.tools")
PRELOADED_MODULES = ("lvsim.dispatch", "lvsim.guard", "lvsim.shim", "lvsim.testing.faults")
WARM_UP = ("pvcreate /dev/vdb", "vgcreate vg /dev/vdb", "lvcreate -L 8M -n lv vg", "lvs", "vgs", "pvs")
MAX_FDS = 4  # descriptors 0-2 and the working directory
# What a supervisor tells the server: it took a connection, it is done with it, lvsim's code
# changed, it cannot serve.
ACCEPTED, DONE, STALE, FAILED = b"a", b"d", b"x", b"f"
Stat = tuple[int, int, int, int]


def serve(key: str) -> None:
    """The server's process (started by `shimclient.start_server`): serve until idle or stale."""
    home = str(Path(shim.__file__).resolve().parent.parent)
    if shim.server_key(sys.executable, home) != key:
        return  # started for another interpreter or lvsim: never serve their shims
    try:
        os.close(os.pidfd_open(os.getpid()))
    except OSError:
        return  # a kernel without pidfds (before Linux 5.3): shims run their commands themselves
    signal.pthread_sigmask(signal.SIG_SETMASK, [])
    name = shimclient.socket_name(key)
    starting = _listener(name + shimclient.STARTING)
    if starting is None:
        return  # another server is starting
    snapshot = _code_stats(Path(home) / "lvsim")
    _preload()
    _warm_up()
    watched = _watched(snapshot)
    if watched is None or _changed(watched):
        return
    listener = _listener(name)
    starting.close()
    if listener is None:
        return  # another server serves
    listener.setblocking(False)  # the spare polls it
    gc.freeze()  # the forks leave the loaded modules' pages shared
    notes, note = os.pipe()  # from the supervisors
    control, stop = os.pipe()  # closed when the server exits: an idle spare then exits too
    try:
        _loop(listener, notes, note, control, stop, key, watched)
    finally:
        listener.close()
        os.close(stop)


def _loop(
    listener: socket.socket,
    notes: int,
    note: int,
    control: int,
    stop: int,
    key: str,
    watched: list[tuple[str, Stat]],
) -> None:
    """Keep a spare supervisor: a new one once the last command ended (the spare's warm-up does not
    compete with a command for the CPU), or at once when a shim is waiting; return when idle or stale."""
    idle = _idle()
    spare, busy, waiting = False, 0, False
    while True:
        _reap()
        if not spare and (busy == 0 or waiting):
            if os.fork() == 0:
                os.close(notes)
                os.close(stop)
                _spare(listener, control, note, key, watched)
            spare = True
        ready, _, _ = select.select([notes] if spare else [notes, listener], [], [], idle)
        if not ready:
            return
        waiting = listener in ready
        if notes in ready:
            for byte in os.read(notes, 64):
                if byte == ACCEPTED[0]:
                    spare, busy = False, busy + 1
                elif byte == DONE[0]:
                    busy -= 1
                else:
                    return


def _reap() -> None:
    """Collect the supervisors that have ended (their and their workers' CPU time then counts as
    the server's children's, where `make bench` reads it)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _idle() -> float:
    try:
        idle = float(os.environ.get("LVSIM_SERVER_IDLE", ""))
    except ValueError:
        return IDLE
    return idle if idle > 0 else IDLE


def _listener(name: bytes) -> socket.socket | None:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(name)
        sock.listen(128)
    except OSError:
        sock.close()
        return None
    return sock


def _peer(conn: socket.socket) -> tuple[int, int, int]:
    """The connected process's pid, user and group (SO_PEERCRED)."""
    raw = conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12)
    pid, uid, gid = array.array("i", raw)
    return pid, uid, gid


def _stat(path: str) -> Stat:
    st = os.stat(path)
    return st.st_mtime_ns, st.st_size, st.st_ino, st.st_dev


def _code_stats(package: Path) -> dict[str, Stat]:
    """Every Python file of lvsim as it is before the server imports any, and the interpreter."""
    stats = {}
    for directory, _, files in os.walk(package):
        for file in files:
            if file.endswith(".py"):
                path = os.path.join(directory, file)
                with contextlib.suppress(OSError):
                    stats[path] = _stat(path)
    for path in {sys.executable, os.path.realpath(sys.executable)}:
        stats[path] = _stat(path)
    return stats


def _preload() -> None:
    """Import the commands' modules (one that fails to import is left to its commands to report)."""
    names = list(PRELOADED_MODULES)
    for package in PRELOADED:
        module = importlib.import_module(package)
        names += [info.name for info in pkgutil.walk_packages(module.__path__, package + ".")]
    for name in names:
        with contextlib.suppress(Exception):
            importlib.import_module(name)


def _watched(snapshot: dict[str, Stat]) -> list[tuple[str, Stat]] | None:
    """The files whose change makes the server stale: the lvsim modules it loaded and the
    interpreter, as they were before it loaded them (None if one appeared since)."""
    package = os.path.dirname(shim.__file__) + os.sep
    paths = [sys.executable, os.path.realpath(sys.executable)]
    paths += [
        f for m in list(sys.modules.values()) if (f := getattr(m, "__file__", None)) and f.startswith(package)
    ]
    if any(path not in snapshot for path in paths):
        return None
    return [(path, snapshot[path]) for path in dict.fromkeys(paths)]


def _changed(watched: list[tuple[str, Stat]]) -> bool:
    for path, before in watched:
        try:
            if _stat(path) != before:
                return True
        except OSError:
            return True
    return False


def _warm_up() -> None:
    """Run a few commands on a state in memory: what they load and compute once is there for the next
    (a failure here is the commands' own to report when they run)."""
    from lvsim import dispatch
    from lvsim.core.model import Disk, State

    with contextlib.suppress(Exception):
        state = State()
        state.disks["/dev/vdb"] = Disk("/dev/vdb", 1 << 30)
        for line in WARM_UP:
            dispatch.run(state, line.split(), "", {})
        State.from_json(json.loads(json.dumps(state.to_json(), separators=(",", ":"))))  # as the store does


def _spare(
    listener: socket.socket, control: int, note: int, key: str, watched: list[tuple[str, Stat]]
) -> NoReturn:
    """A supervisor: fork a worker, take the next connection, hand its command to the worker and
    report the worker's end to the shim."""
    code = 1
    try:
        mine, its = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        worker = os.fork()
        if worker == 0:
            for fd in (listener.fileno(), control, note, mine.fileno()):
                os.close(fd)
            _worker(its)
        its.close()
        if mine.recv(1) != b"r":
            os.write(note, FAILED)
            return
        ready, _, _ = select.select([listener, control], [], [])
        if control in ready:
            return  # the server has exited
        try:
            conn, _ = listener.accept()
        except BlockingIOError:
            conn = None  # the shim went away
        listener.close()
        os.write(note, ACCEPTED)
        try:
            if conn is not None:
                with conn:
                    conn.setblocking(True)
                    code = _supervise(conn, mine, worker, key, note, watched)
        finally:
            os.write(note, DONE)
    finally:
        os._exit(code)


def _supervise(
    conn: socket.socket,
    worker_channel: socket.socket,
    worker: int,
    key: str,
    note: int,
    watched: list[tuple[str, Stat]],
) -> int:
    """Serve one connection with the spare worker; the supervisor's exit code."""
    client, uid, _ = _peer(conn)
    if uid != os.geteuid():
        return 1
    request, fds = _receive(conn)
    fields = request.split(b"\0")
    if not _valid(fields, fds, key):
        return 1
    handed = b"%d\0" % client + request
    rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", fds))]
    worker_channel.sendmsg([len(handed).to_bytes(8, "little") + handed], rights)  # it gets ready
    for fd in fds:
        os.close(fd)
    if _changed(watched):  # meanwhile: then the worker ends without running anything
        os.write(note, STALE)  # the server exits; the shim runs its command itself and starts another
        return 1
    pidfd = os.pidfd_open(worker)  # the shim signals the worker through it (never a reused pid)
    conn.sendmsg([b"P%d\n" % worker], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [pidfd]))])
    worker_channel.send(b"g")  # the shim knows: the command runs
    status = _wait(worker, pidfd, conn)
    with contextlib.suppress(OSError):
        conn.sendall(b"S%d\n" % status)
    return 0


def _worker(channel: socket.socket) -> NoReturn:
    """The worker: warm up, wait for a command, become the shim's command and run it as the shim would."""
    code = 1
    try:
        signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())  # until it is the shim's command
        _warm_up()
        channel.send(b"r")
        handed, fds = _receive(channel)
        client, *fields = handed.split(b"\0")
        try:
            _take_on(fields, fds, int(client))
        except Exception as exc:  # a bug of the server's: reported as lvsim reports its bugs
            error = exc
        else:
            error = None
        if channel.recv(1) != b"g":
            return  # not to run (lvsim's code changed): the shim runs the command itself
        channel.close()
        if error is not None:
            with contextlib.suppress(OSError):
                os.write(2, guard.encode(guard.internal_error(error)))
            code = guard.INTERNAL_ERROR_RC
            return
        code = _run(os.fsdecode(fields[2]), fields[3] == b"1")
    finally:
        os._exit(code)


def _valid(fields: list[bytes], fds: list[int], key: str) -> bool:
    """Whether a request is one this server's shims send (else the shim runs its command itself)."""
    if fields[:2] != [shimclient.PROTOCOL.encode(), key.encode()] or len(fields) < 9:
        return False
    closed = fields[4]
    if not fields[8].isdigit() or len(fields) < 9 + int(fields[8]) or closed.strip(b"012") != b"":
        return False
    return len(fds) == 4 - len(set(closed))


def _receive(conn: socket.socket) -> tuple[bytes, list[int]]:
    """The request (length-prefixed) and the descriptors sent with it."""
    data, ancillary, _, _ = conn.recvmsg(1 << 16, socket.CMSG_SPACE(MAX_FDS * 4))
    fds: list[int] = []
    for level, kind, raw in ancillary:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds += array.array("i", raw[: len(raw) - len(raw) % 4])
    if len(data) < 8:
        raise ConnectionError("no request")
    size = int.from_bytes(data[:8], "little")
    chunks = [data[8:]]
    received = len(data) - 8
    while received < size:
        chunk = conn.recv(min(size - received, 1 << 20))
        if not chunk:
            raise ConnectionError("the shim went away")
        chunks.append(chunk)
        received += len(chunk)
    return b"".join(chunks), fds


def _wait(worker: int, pidfd: int, conn: socket.socket) -> int:
    """The worker's wait status; if the shim goes away meanwhile, its command is killed."""
    poller = select.poll()
    poller.register(pidfd, select.POLLIN)
    poller.register(conn, select.POLLIN)
    while True:
        for fd, _ in poller.poll():
            if fd == pidfd:
                return os.waitpid(worker, 0)[1]
            try:
                data = conn.recv(64)
            except OSError:
                data = b""
            if not data:  # the shim is gone: so is its command
                poller.unregister(conn)
                os.kill(worker, signal.SIGKILL)


def _take_on(fields: list[bytes], fds: list[int], client: int) -> None:
    """Take on the shim's process: descriptors, directory, signals, limits, umask, environment, argv."""
    closed = {int(c) for c in fields[4].decode()}
    received = iter(fds)
    for fd in (0, 1, 2):
        if fd in closed:
            os.close(fd)
        else:
            os.dup2(next(received), fd)
    os.fchdir(next(received))
    for fd in fds:
        os.close(fd)
    ignored = {int(s) for s in fields[6].split(b",") if s}
    ignored |= {signal.SIGPIPE, signal.SIGXFSZ}  # as Python sets them at its start
    for signum in range(1, signal.NSIG):
        wanted = signal.SIG_IGN if signum in ignored else signal.SIG_DFL
        if signum == signal.SIGINT and signum not in ignored:
            wanted = signal.default_int_handler
        if signum not in (signal.SIGKILL, signal.SIGSTOP) and signal.getsignal(signum) != wanted:
            with contextlib.suppress(OSError, ValueError):
                signal.signal(signum, wanted)
    for limit in (getattr(resource, n) for n in dir(resource) if n.startswith("RLIMIT_")):
        with contextlib.suppress(OSError, ValueError):
            resource.setrlimit(limit, resource.prlimit(client, limit))
    os.umask(int(fields[5]))
    argc = int(fields[8])
    os.environb.clear()
    for entry in fields[9 + argc :]:
        name, _, value = entry.partition(b"=")
        with contextlib.suppress(ValueError):
            os.environb[name] = value
    time.tzset()
    sys.argv = [os.fsdecode(arg) for arg in fields[9 : 9 + argc]]
    sys.stdin = None if 0 in closed else _stream(0, "r", sys.__stdin__)
    sys.stdout = None if 1 in closed else _stream(1, "w", sys.__stdout__)
    sys.stderr = None if 2 in closed else _stream(2, "w", sys.__stderr__)
    with contextlib.suppress(OSError), open("/proc/self/comm", "w") as comm:
        comm.write(f"lvsim@{client}")  # a lock wait names the shim, not this fork (lvsim.core.store)
    atexit._clear()
    signal.pthread_sigmask(signal.SIG_SETMASK, [int(s) for s in fields[7].split(b",") if s])  # the last


def _stream(fd: int, mode: str, like: io.TextIOWrapper | None) -> io.TextIOWrapper:
    """A standard stream on fd as Python makes it at its start (the server's own is the model)."""
    encoding, errors = (like.encoding, like.errors) if like is not None else (None, None)
    binary = open(fd, mode + "b", closefd=False)  # noqa: SIM115
    return io.TextIOWrapper(binary, encoding, errors, line_buffering=os.isatty(fd))


def _run(pinned: str, explicit: bool) -> int:
    """`sys.exit(main(...))` of a shim, the exit code as Python makes it."""
    try:
        code: object = shim.main(pinned, explicit)
    except SystemExit as exc:
        code = exc.code
    except KeyboardInterrupt:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGINT)
        code = 130
    finally:
        atexit._run_exitfuncs()
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                if stream is not None:
                    stream.flush()
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(Exception):
        if sys.stderr is not None:
            sys.stderr.write(f"{code}\n")
            sys.stderr.flush()
    return 1
