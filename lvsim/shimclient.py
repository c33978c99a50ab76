"""A command shim's fast path: hand the command to lvsim's command server (`lvsim.shimserver`).

Every shim `lvsim shims` writes (`lvsim.shim`) imports this module first, so it imports only what
the interpreter has built in (`posix`, `_signal`, `sys`) and `_socket`.  `served` connects to the
server of this shim's interpreter and lvsim, sends the command line, working directory, environment,
umask, signal dispositions and descriptors 0-2, passes SIGHUP/SIGINT/SIGQUIT/SIGTERM on to the
command (and stops and continues it with this process), and ends as the command ended: its exit
code, or the signal it died of.  When no server takes the command (or a terminal's job control
would stop this process, which is in the background), nothing has run: the shim runs the command
in-process and `start_server` starts a server in the background for the next calls.
LVSIM_SERVER=0 turns the server off.
"""

import _signal
import _socket
import posix
import sys

PROTOCOL = "lvsim-shim-1"
FORWARDED = (_signal.SIGHUP, _signal.SIGINT, _signal.SIGQUIT, _signal.SIGTERM, _signal.SIGCONT)
STOP = _signal.SIGTSTP  # stops the command with this process (Ctrl-Z)
# What a server process fixes when it starts: its user and groups, and the locale Python reads.
LOCALE_VARS = (b"LC_ALL", b"LC_CTYPE", b"LANG")
SERVER_CODE = (
    "import sys;sys.path.insert(0,sys.argv[1]);from lvsim.shimserver import serve;serve(sys.argv[2])"
)
STARTING = b"+"  # suffix of the name a server holds while it starts


def enabled() -> bool:
    return posix.environ.get(b"LVSIM_SERVER") != b"0"


def socket_name(key: str) -> bytes:
    """The abstract socket of the server for key (a hash of the interpreter and lvsim's root), this
    user and groups and this locale."""
    env = posix.environ
    groups = b",".join(b"%d" % g for g in sorted(posix.getgroups()))
    ident = b"%d:%d:%s" % (posix.geteuid(), posix.getegid(), groups)
    ident += b"".join(b":" + env.get(name, b"-") for name in LOCALE_VARS)
    digest = 0xCBF29CE484222325  # FNV-1a, 64 bits: no hashlib at a shim's start
    for byte in ident:
        digest = ((digest ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return b"\0lvsim-%s-%016x" % (key.encode(), digest)


def _closed(fd: int) -> bool:
    try:
        posix.fstat(fd)
    except OSError:
        return True
    return False


def _request(key: str, pinned: str, explicit: bool, closed: list[int]) -> bytes:
    """The command as the server reads it: NUL-separated fields after an 8-byte length."""
    enc, errors = sys.getfilesystemencoding(), sys.getfilesystemencodeerrors()
    umask = posix.umask(0o22)
    posix.umask(umask)
    ignored = [s for s in range(1, _signal.NSIG) if _signal.getsignal(s) == _signal.SIG_IGN]
    blocked = _signal.pthread_sigmask(_signal.SIG_BLOCK, [])
    fields = [
        PROTOCOL.encode(),
        key.encode(),
        pinned.encode(enc, errors),
        b"1" if explicit else b"0",
        b"".join(b"%d" % fd for fd in closed),
        b"%d" % umask,
        b",".join(b"%d" % s for s in ignored),
        b",".join(b"%d" % s for s in sorted(blocked)),
        b"%d" % len(sys.argv),
        *(arg.encode(enc, errors) for arg in sys.argv),
        *(k + b"=" + v for k, v in posix.environ.items()),
    ]
    payload = b"\0".join(fields)
    return len(payload).to_bytes(8, "little") + payload


def served(key: str, pinned: str, explicit: bool) -> int | None:
    """Run this shim's command in the server and return its exit code (a command killed by a signal
    kills this process with it); None when no server took the command (then nothing ran)."""
    if not enabled():
        return None
    closed = [fd for fd in (0, 1, 2) if _closed(fd)]  # before this process opens anything
    if _in_background(closed):
        return None  # the terminal's job control stops this process if it reads: not a server's
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(socket_name(key))
        cred = sock.getsockopt(_socket.SOL_SOCKET, _socket.SO_PEERCRED, 12)
        if int.from_bytes(cred[4:8], sys.byteorder) != posix.geteuid():
            sock.close()  # a server of another user: never hand it anything
            return None
        cwd = posix.open(".", posix.O_PATH | posix.O_DIRECTORY | posix.O_CLOEXEC)
    except OSError:
        sock.close()
        return None
    worker: list[int] = []  # the worker's pidfd, once the command runs
    pending: list[int] = []  # signals caught before

    def forward(signum: int, frame: object) -> None:
        if signum == STOP:  # stop the command, then this process; both go on together
            if worker:
                _signal_worker(worker[0], _signal.SIGSTOP)
            _signal.signal(STOP, _signal.SIG_DFL)
            posix.kill(posix.getpid(), STOP)
            _signal.signal(STOP, forward)
            signum = _signal.SIGCONT
        if worker:
            _signal_worker(worker[0], signum)
        elif signum != _signal.SIGCONT:
            pending.append(signum)

    previous = {s: h for s in (*FORWARDED, STOP) if (h := _signal.getsignal(s)) != _signal.SIG_IGN}
    for signum in previous:
        _signal.signal(signum, forward)
    fds = [fd for fd in (0, 1, 2) if fd not in closed] + [cwd]
    replies = _exchange(sock, _request(key, pinned, explicit, closed), fds, worker, pending)
    if not worker:  # nothing ran: the shim runs the command itself, unless interrupted
        for signum, handler in previous.items():
            _signal.signal(signum, handler)
        for signum in pending:
            _die(signum)
        return None
    status = next(
        (int(line[1:]) for line in replies.split(b"\n") if line[:1] == b"S" and line[1:].isdigit()), None
    )
    if status is None:
        if 2 not in closed:
            posix.write(2, b"lvsim: the command server stopped before the command ended\n")
        return 5
    if posix.WIFSIGNALED(status):
        _die(posix.WTERMSIG(status))
    return posix.WEXITSTATUS(status)


def _in_background(closed: list[int]) -> bool:
    """Whether a standard descriptor is a terminal whose foreground this process is not in."""
    group = posix.getpgrp()
    for fd in (0, 1, 2):
        if fd not in closed and posix.isatty(fd):
            try:
                if posix.tcgetpgrp(fd) != group:
                    return True
            except OSError:
                return True  # not the controlling terminal
    return False


def _exchange(
    sock: _socket.socket, request: bytes, fds: list[int], worker: list[int], pending: list[int]
) -> bytes:
    """Send the request with fds (closing the last, the working directory) and read the replies to
    the end: "P<pid>\n" with the worker's pidfd once the command runs (into worker; the signals
    pending go to it), "S<wait status>\n" when it has ended."""
    replies = b""
    try:
        rights = b"".join(fd.to_bytes(4, sys.byteorder) for fd in fds)
        try:
            sent = sock.sendmsg([request], [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, rights)])
        finally:
            posix.close(fds[-1])
        if sent < len(request):
            sock.sendall(request[sent:])
        space = _socket.CMSG_SPACE(4)
        while True:
            chunk, ancillary, _, _ = sock.recvmsg(256, space)
            for level, kind, raw in ancillary:
                if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS and len(raw) >= 4:
                    worker.append(int.from_bytes(raw[:4], sys.byteorder))
                    for signum in pending:
                        _signal_worker(worker[0], signum)
            if not chunk:
                break
            replies += chunk
    except OSError:
        pass
    sock.close()
    return replies


def _signal_worker(pidfd: int, signum: int) -> None:
    try:  # noqa: SIM105 (contextlib is no built-in module)
        _signal.pidfd_send_signal(pidfd, signum)
    except OSError:
        pass  # it has ended


def _die(signum: int) -> None:
    """End this process by signal signum, as the command ended (or 128+signum if it survives it)."""
    _signal.signal(signum, _signal.SIG_DFL)
    _signal.pthread_sigmask(_signal.SIG_UNBLOCK, [signum])
    posix.kill(posix.getpid(), signum)
    posix._exit(128 + signum)


def _listening(name: bytes) -> bool:
    sock = _socket.socket(_socket.AF_UNIX, _socket.SOCK_STREAM | _socket.SOCK_NONBLOCK | _socket.SOCK_CLOEXEC)
    try:
        sock.connect(name)
    except BlockingIOError:
        return True  # its backlog is full: it is there
    except OSError:
        return False
    finally:
        sock.close()
    return True


def start_server(key: str, interpreter: str, home: str) -> None:
    """Start a server for key in the background (a new session, no inherited descriptors, stdio on
    /dev/null, working directory /) unless one is starting; it exits by itself when idle."""
    try:
        if enabled() and not _listening(socket_name(key) + STARTING):
            _spawn(key, interpreter, home)
    except OSError:
        pass  # no server this time: the next call tries again


def _spawn(key: str, interpreter: str, home: str) -> None:
    env = {k: v for k, v in posix.environ.items() if k in LOCALE_VARS or k == b"LVSIM_SERVER_IDLE"}
    argv = [interpreter, "-IS", "-c", SERVER_CODE, home, key]
    pid = posix.fork()
    if pid == 0:
        try:
            posix.setsid()
            if posix.fork() == 0:
                null = posix.open("/dev/null", posix.O_RDWR)
                for fd in (0, 1, 2):
                    posix.dup2(null, fd)
                try:
                    open_fds = [int(name) for name in posix.listdir("/proc/self/fd")]
                except OSError:
                    open_fds = list(range(3, posix.sysconf("SC_OPEN_MAX")))
                for fd in open_fds:
                    if fd > 2:
                        try:  # noqa: SIM105
                            posix.close(fd)
                        except OSError:
                            pass
                posix.chdir("/")
                posix.execve(interpreter, argv, env)
        finally:
            posix._exit(0)
    posix.waitpid(pid, 0)
