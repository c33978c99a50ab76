"""The shims' command server (lvsim.shimserver): a command a shim hands to the server gives the bytes,
exit code and signals it gives when the shim runs it in-process; the server takes a shim's signals,
is never used stale, off (LVSIM_SERVER=0) or by another interpreter or lvsim, exits when idle and
leaves no process behind; the shim's fast path imports no heavy module.

The tests run a copy of lvsim (its own server, LVSIM_SERVER_IDLE short; each test on a state of its
own), those that stop or change their server a copy of their own, so none of another module's
servers is used and none of theirs outlives them.  A call counts as served when the shim, run with
`python -X importtime`, did not import lvsim.shim (which runs a command in the shim).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import pty
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from lvsim import dispatch
from lvsim.core import store
from lvsim.dispatch import Outcome

ROOT = Path(__file__).resolve().parent.parent
IDLE = 10  # seconds a test's server lives after its last command
WAIT = 30.0  # seconds to wait for a server to come up or go (a loaded machine is slow)
# Modules the fast path must not import (each alone costs more than a bare interpreter start).
HEAVY = {"socket", "json", "enum", "re", "pathlib", "typing", "dataclasses", "inspect", "os", "subprocess"}


@dataclass
class Run:
    rc: int
    stdout: bytes
    stderr: bytes  # without -X importtime's lines
    imported: list[str]  # what the shim imported itself (-X importtime)

    @property
    def served(self) -> bool:
        return "lvsim.shim" not in self.imported  # what runs a command in the shim


@dataclass
class Shims:
    home: Path  # the copy of lvsim the shims run
    bin: Path
    state: Path
    env: dict[str, str]
    interpreter: str = sys.executable

    def run(self, *argv: str | bytes, server: bool = True, **kwargs: object) -> Run:
        """Run a shim (served if a server takes it; in-process with server=False), -X importtime on."""
        env = {**self.env, **kwargs.pop("env", {})}  # type: ignore[dict-item]
        if not server:
            env["LVSIM_SERVER"] = "0"
        name = argv[0] if isinstance(argv[0], str) else argv[0].decode()
        cmd = [self.interpreter, "-X", "importtime", "-IS", str(self.bin / name), *argv[1:]]
        kwargs.setdefault("stdin", subprocess.DEVNULL)
        proc = subprocess.run(cmd, env=env, capture_output=True, timeout=120, **kwargs)  # type: ignore[call-overload]
        return _split(proc.returncode, proc.stdout, proc.stderr)

    def until_served(self, *argv: str) -> Run:
        """Run argv until a server takes it (the first call starts one)."""
        deadline = time.monotonic() + WAIT
        while True:
            run = self.run(*argv)
            if run.served or time.monotonic() > deadline:
                assert run.served, "no server took the command"
                return run
            time.sleep(0.2)

    def servers(self) -> list[int]:
        return _server_pids(self.home)


def _split(rc: int, stdout: bytes, stderr: bytes) -> Run:
    imported, rest = [], []
    for line in stderr.splitlines(keepends=True):
        if line.startswith(b"import time:"):
            name = line.rsplit(b"|", 1)[-1].strip().decode()
            if name != "imported package":
                imported.append(name)
        else:
            rest.append(line)
    return Run(rc, stdout, b"".join(rest), imported)


def _server_pids(home: Path) -> list[int]:
    """The processes of the servers of the lvsim at home (server, spare supervisor and worker)."""
    return list(_servers(home))


def _servers(home: Path) -> dict[int, bytes]:
    """The processes of the servers of the lvsim at home and their interpreters."""
    found = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
                if any(b"lvsim.shimserver" in a for a in args) and str(home).encode() in args:
                    found[int(entry)] = args[0]
    return found


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])


def _ended(pid: int) -> bool:
    """Whether a process has ended: gone, or a zombie (its parent, init here, reaps orphans only every
    second or two)."""
    try:
        return _state(pid) == "Z"
    except OSError:
        return True


def _gone(pids: list[int], timeout: float = WAIT) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all(_ended(pid) for pid in pids):
            return True
        time.sleep(0.05)
    return False


def _copy_lvsim(where: Path) -> Path:
    """A copy of lvsim (its compiled files too, still valid: times are kept) whose server is its own."""
    shutil.copytree(ROOT / "lvsim", where / "lvsim", symlinks=True)
    return where


def _write_shims(home: Path, bin_dir: Path, state: Path, interpreter: str = sys.executable) -> None:
    code = (
        "import sys; from pathlib import Path; sys.path.insert(0, sys.argv[1]); "
        "from lvsim.shim import write_shims; write_shims(Path(sys.argv[2]), Path(sys.argv[3]))"
    )
    subprocess.run([interpreter, "-I", "-S", "-c", code, str(home), str(bin_dir), str(state)], check=True)


def _make_shims(home: Path, where: Path, interpreter: str = sys.executable) -> Shims:
    """Shims of the lvsim at home on a fresh state with VG vg (lv0, lv1 of 8 MiB) on a 64 MiB disk."""
    bin_dir, state = where / "bin", where / "state"
    _write_shims(home, bin_dir, state, interpreter)
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "LVSIM_SERVER_IDLE": str(IDLE)}
    env.pop("LVSIM_SERVER", None)
    img = where / "pv.img"
    img.write_bytes(b"")
    os.truncate(img, 64 << 20)
    with store.transaction(state) as machine:  # in this process: the shims' start-up is not under test here
        dev = _ok(dispatch.run(machine, ["losetup", "-f", "--show", str(img)])).strip()
        for argv in (
            ["vgcreate", "vg", dev],
            *(["lvcreate", "-L", "8M", "-n", lv, "vg"] for lv in ("lv0", "lv1")),
        ):
            _ok(dispatch.run(machine, argv))
    return Shims(home, bin_dir, state, env, interpreter)


def _ok(outcome: Outcome) -> str:
    assert outcome.rc == 0, outcome.stderr
    return outcome.stdout


def _stop(home: Path) -> None:
    """End the servers of a test's copy of lvsim (started by the test) and check they end."""
    pids = _server_pids(home)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    assert _gone(pids)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A copy of lvsim for this module's tests: one server serves them (each on its own state)."""
    copy = _copy_lvsim(tmp_path_factory.mktemp("home"))
    yield copy
    _stop(copy)


@pytest.fixture
def shims(home: Path, tmp_path: Path) -> Shims:
    return _make_shims(home, tmp_path)


@pytest.fixture
def own_shims(tmp_path: Path) -> Iterator[Shims]:
    """Shims of a copy of lvsim of the test's own (a server no other test uses)."""
    copy = _copy_lvsim(tmp_path / "home")
    yield _make_shims(copy, tmp_path)
    _stop(copy)


def _same(shims: Shims, *argv: str | bytes, **kwargs: object) -> Run:
    """Run argv in-process, then on the same state again through the server: the same bytes and code."""
    before = shims.state.read_bytes()
    alone = shims.run(*argv, server=False, **kwargs)
    after = shims.state.read_bytes()
    shims.state.write_bytes(before)
    served = shims.run(*argv, **kwargs)
    assert not alone.served and served.served
    assert (served.rc, served.stdout, served.stderr) == (alone.rc, alone.stdout, alone.stderr)
    assert shims.state.read_bytes() == after
    return served


COMMANDS = [
    ["lvs"],
    ["lvs", "-a", "-o", "lv_name,lv_size,lv_attr", "--units", "b", "--separator", "|", "vg"],
    ["vgs", "nosuchvg"],
    ["lvcreate", "-L", "4M", "-n", "new", "vg"],
    ["lvcreate", "-L", "4M", "-n", "bad name", "vg"],
    ["lvm", "version"],
    ["lvm", "nosuchcommand"],
    ["lvs", "--help"],
    ["lvchange", "--persistent", "y", "vg/lv0"],
    ["vgs", "--badoption"],
]


def test_commands_give_the_same_bytes_and_code_served_and_in_process(shims: Shims) -> None:
    shims.until_served("lvs")
    codes = set()
    for argv in COMMANDS:
        codes.add(_same(shims, *argv).rc)
    assert len(codes) > 2  # successes and failures of several kinds
    run = _same(shims, b"lvs", b"vg/\xff")  # argv's bytes come back as they came
    assert run.rc == 5 and b"\xff" in run.stderr


@pytest.mark.parametrize("answer", [b"n\n", b"y\n", b""])
def test_a_prompt_reads_the_shims_stdin(shims: Shims, answer: bytes) -> None:
    shims.until_served("lvs")
    run = _same(shims, "lvremove", "vg/lv0", input=answer, stdin=None)
    assert b"Do you really want to remove" in run.stdout + run.stderr


def test_binary_stdin_and_stdout_and_the_environment(shims: Shims) -> None:
    shims.until_served("lvs")
    payload = bytes(range(256)) * 64
    _same(shims, "dd", "of=/dev/vg/lv0", "bs=512", "status=none", input=payload, stdin=None)
    read = _same(shims, "dd", "if=/dev/vg/lv0", f"count={len(payload)}", "iflag=count_bytes", "status=none")
    assert read.stdout == payload
    times = [
        _same(shims, "lvs", "--noheadings", "-o", "lv_name,lv_time", "vg/lv0", env={"TZ": zone}).stdout
        for zone in ("UTC0", "EST+5")
    ]
    assert times[0] != times[1]  # the command sees the shim's TZ


def test_working_directory_and_umask(shims: Shims, tmp_path: Path) -> None:
    shims.until_served("lvs")
    work = tmp_path / "work"
    work.mkdir()
    made = []
    for server in (False, True):
        target = work / "copy.img"
        run = shims.run(
            "dd",
            "if=/dev/vg/lv0",
            "of=copy.img",
            "bs=1M",
            "count=1",
            "status=none",
            server=server,
            cwd=work,
            preexec_fn=lambda: os.umask(0o027),
        )
        assert run.rc == 0 and run.served == server
        made.append((target.stat().st_mode & 0o777, target.stat().st_size))
        target.unlink()
    assert made[0] == made[1] == (0o640, 1 << 20)


@pytest.mark.parametrize("mode", ["closed", "broken pipe", "full", "closed early"])
def test_a_bad_or_closed_stdout(shims: Shims, mode: str) -> None:
    shims.until_served("lvs")
    results = []
    for server in (False, True):
        cmd = [sys.executable, "-X", "importtime", "-IS", str(shims.bin / "dd"), "if=/dev/vg/lv1", "bs=64k"]
        env = {**shims.env} if server else {**shims.env, "LVSIM_SERVER": "0"}
        kwargs: dict = {"stderr": subprocess.PIPE, "stdin": subprocess.DEVNULL, "env": env}
        if mode == "closed":
            proc = subprocess.Popen(cmd, preexec_fn=lambda: os.close(1), **kwargs)
            err = proc.communicate(timeout=120)[1]
        elif mode == "broken pipe":
            r, w = os.pipe()
            os.close(r)
            proc = subprocess.Popen(cmd, stdout=w, **kwargs)
            os.close(w)
            err = proc.communicate(timeout=120)[1]
        elif mode == "full":
            with open("/dev/full", "wb") as full:
                proc = subprocess.Popen(cmd, stdout=full, **kwargs)
                err = proc.communicate(timeout=120)[1]
        else:  # the reader takes a little and goes: 8 MiB do not fit in the pipe
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, **kwargs)
            assert proc.stdout is not None
            proc.stdout.read(100)
            proc.stdout.close()
            err = proc.stderr.read() if proc.stderr else b""
            proc.wait(timeout=120)
        run = _split(proc.returncode, b"", err)
        assert run.served == server
        results.append((run.rc, run.stderr))
    assert results[0] == results[1]
    if mode in ("broken pipe", "closed early"):
        assert results[0][0] == -signal.SIGPIPE


def test_a_terminal_stays_a_terminal(shims: Shims) -> None:
    shims.until_served("lvs")
    outputs = []
    for server in (False, True):
        env = {**shims.env} if server else {**shims.env, "LVSIM_SERVER": "0"}
        pid, fd = pty.fork()
        if pid == 0:
            os.execve(sys.executable, [sys.executable, "-IS", str(shims.bin / "lvremove"), "vg/lv0"], env)
        os.write(fd, b"n\n")  # the terminal echoes it at once, and keeps it for the prompt
        data = b""
        with contextlib.suppress(OSError):
            while chunk := os.read(fd, 1024):
                data += chunk
        _, status = os.waitpid(pid, 0)
        os.close(fd)
        outputs.append((os.waitstatus_to_exitcode(status), data))
    assert outputs[0] == outputs[1]
    assert b"not removed" in outputs[0][1]


def _prompting(shims: Shims, server: bool, **kwargs: object) -> subprocess.Popen[bytes]:
    """lvremove waiting for its prompt's answer, holding the state's lock (lvsim shows the prompt
    with the command's other output, once it has the answer)."""
    env = {**shims.env} if server else {**shims.env, "LVSIM_SERVER": "0"}
    proc = subprocess.Popen(
        [str(shims.bin / "lvremove"), "vg/lv0"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        preexec_fn=_default_signals,
        **kwargs,  # type: ignore[arg-type]
    )
    lock = shims.state.with_name(shims.state.name + ".lock")
    deadline = time.monotonic() + WAIT
    while not _locked(lock):
        assert time.monotonic() < deadline and proc.poll() is None
        time.sleep(0.05)
    return proc


def _default_signals() -> None:
    """What a shell's foreground command has (a background job of a script ignores SIGINT, nohup SIGHUP)."""
    for signum in (signal.SIGHUP, signal.SIGINT, signal.SIGQUIT, signal.SIGTERM, signal.SIGTSTP):
        signal.signal(signum, signal.SIG_DFL)


def _locked(lock: Path) -> bool:
    try:
        fd = os.open(lock, os.O_RDONLY)
    except FileNotFoundError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _workers_of(pid: int) -> list[int]:
    """The server's workers running a command for the shim pid (their comm names it)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if Path(f"/proc/{entry}/comm").read_text().strip() == f"lvsim@{pid}":
                    found.append(int(entry))
    return found


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_to_the_shim_reaches_the_command(shims: Shims, signum: int) -> None:
    shims.until_served("lvs")
    results = []
    for server in (False, True):
        proc = _prompting(shims, server)
        workers = _workers_of(proc.pid)
        assert len(workers) == int(server)
        proc.send_signal(signum)
        proc.wait(timeout=WAIT)  # before its stdin ends
        _, err = proc.communicate(timeout=WAIT)
        assert _gone(workers)
        results.append((proc.returncode, err))
    assert results[0] == results[1]
    assert results[0][0] == -signum
    assert b"Traceback" not in results[0][1]
    assert "lv0" in shims.run("lvs", "--noheadings", "-o", "lv_name").stdout.decode()


def _state(pid: int) -> str:
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]


def _until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def test_a_stopped_shim_stops_its_command(shims: Shims) -> None:
    shims.until_served("lvs")
    proc = _prompting(shims, True, process_group=0)  # a job of its own, as a shell makes it
    (worker,) = _workers_of(proc.pid)
    proc.send_signal(signal.SIGTSTP)  # Ctrl-Z
    assert _until(lambda: _state(proc.pid) == _state(worker) == "T")
    proc.send_signal(signal.SIGCONT)  # fg
    assert _until(lambda: "T" not in (_state(proc.pid), _state(worker)))
    _, err = proc.communicate(b"n\n", timeout=WAIT)
    assert proc.returncode == 5 and err.endswith(b"Logical volume vg/lv0 not removed.\n")


def test_a_shim_killed_takes_its_command_with_it(shims: Shims) -> None:
    shims.until_served("lvs")
    proc = _prompting(shims, True)
    workers = _workers_of(proc.pid)
    assert len(workers) == 1
    proc.kill()
    proc.communicate(timeout=WAIT)
    assert _gone(workers)


def test_a_lock_wait_names_the_shim_not_the_server(shims: Shims) -> None:
    shims.until_served("lvs")
    holder = _prompting(shims, True)
    try:
        run = shims.run("lvcreate", "-L", "4M", "-n", "x", "vg", env={"LVSIM_LOCK_TIMEOUT": "2"})
    finally:
        holder.communicate(b"n\n", timeout=WAIT)
    assert run.served and run.rc == 5
    shim_line = f"{sys.executable} -IS {shims.bin / 'lvremove'} vg/lv0"  # the shim's own command line
    assert f"(held by pid {holder.pid} ({shim_line[:120]}))".encode() in run.stderr


def test_two_commands_at_once_on_one_state(shims: Shims) -> None:
    shims.until_served("lvs")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-X",
                "importtime",
                "-IS",
                str(shims.bin / "lvcreate"),
                "-L",
                "4M",
                "-n",
                name,
                "vg",
            ],
            env=shims.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for name in ("one", "two")
    ]
    runs = [_split(p.returncode, *p.communicate(timeout=120)) for p in procs]
    runs = [_split(p.returncode, r.stdout, r.stderr) for p, r in zip(procs, runs, strict=True)]
    assert all(r.served and r.rc == 0 for r in runs)
    names = shims.run("lvs", "--noheadings", "-o", "lv_name").stdout.split()
    assert {b"one", b"two"} <= set(names)


def test_the_fast_path_imports_no_heavy_module(shims: Shims) -> None:
    run = shims.until_served("lvs")
    bare = _split(
        0,
        b"",
        subprocess.run([sys.executable, "-X", "importtime", "-IS", "-c", "pass"], capture_output=True).stderr,
    )
    mine = set(run.imported) - set(bare.imported)
    assert mine == {"_socket", "lvsim", "lvsim.shimclient"}
    assert not mine & HEAVY
    alone = shims.run("lvs", server=False)
    assert {"json", "lvsim.shim"} <= set(alone.imported)  # the check sees imports when there are some


def test_lvsim_server_0_runs_in_process_and_starts_no_server(own_shims: Shims) -> None:
    for _ in range(3):
        run = own_shims.run("lvs", server=False)
        assert run.rc == 0 and not run.served
    time.sleep(1)
    assert own_shims.servers() == []


def test_the_first_call_starts_a_detached_server_and_returns(own_shims: Shims) -> None:
    start = time.monotonic()
    first = own_shims.run("lvs")  # its stdout and stderr are pipes: a server holding them would block this
    assert first.rc == 0 and not first.served
    assert time.monotonic() - start < IDLE
    own_shims.until_served("lvs")
    pids = own_shims.servers()
    (server,) = [pid for pid in pids if _parent(pid) not in pids]  # not a supervisor or worker
    fds = {os.readlink(f"/proc/{server}/fd/{fd}") for fd in os.listdir(f"/proc/{server}/fd")}
    assert {f for f in fds if not f.startswith(("socket:", "pipe:", "anon_inode:"))} == {"/dev/null"}
    assert os.readlink(f"/proc/{server}/cwd") == "/"
    assert os.getsid(server) != os.getsid(0)  # a session of its own
    assert Path(f"/proc/{server}/stat").read_text().rsplit(")", 1)[1].split()[4] == "0"  # no terminal


def test_an_idle_server_exits_and_leaves_no_process(own_shims: Shims) -> None:
    own_shims.env["LVSIM_SERVER_IDLE"] = "2"  # what the shim that starts the server has
    own_shims.until_served("lvs")
    deadline = time.monotonic() + WAIT
    while len(pids := own_shims.servers()) < 3 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(pids) >= 3  # the server, its spare supervisor and the spare's worker
    assert _gone(pids)
    assert own_shims.servers() == []


def test_a_stale_server_is_not_used(own_shims: Shims) -> None:
    own_shims.until_served("lvs")
    old = own_shims.servers()
    dispatch = own_shims.home / "lvsim" / "dispatch.py"
    text = dispatch.read_text()
    assert "No such command.  Try 'lvm help'." in text
    dispatch.write_text(text.replace("No such command.  Try 'lvm help'.", "No such command (changed)."))
    run = own_shims.run("lvm", "nosuchcommand")
    assert b"No such command (changed)." in run.stderr  # never the old code
    assert not run.served
    assert _gone(old)
    run = own_shims.until_served("lvm", "nosuchcommand")
    assert b"No such command (changed)." in run.stderr


def test_a_touched_module_makes_the_server_stale(own_shims: Shims) -> None:
    own_shims.until_served("lvs")
    old = own_shims.servers()
    reporter = own_shims.home / "lvsim" / "lvm" / "reporter.py"
    st = reporter.stat()
    os.utime(reporter, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    run = own_shims.run("lvs")
    assert run.rc == 0 and not run.served
    assert _gone(old)


def test_servers_of_other_interpreters_and_lvsims_are_never_used(shims: Shims, tmp_path: Path) -> None:
    shims.until_served("lvs")
    # the same lvsim under another interpreter path (a link to this one)
    link = tmp_path / "python"
    link.symlink_to(sys.executable)
    other = _make_shims(shims.home, tmp_path / "other", str(link))
    run = other.run("lvs")
    assert run.rc == 0 and not run.served
    other.until_served("lvs")
    shims.until_served("lvs")
    assert {bytes(link), sys.executable.encode()} <= set(_servers(shims.home).values())  # one each
    # another copy of lvsim on this interpreter
    home = _copy_lvsim(tmp_path / "home2")
    try:
        third = _make_shims(home, tmp_path / "third")
        run = third.run("lvs")
        assert run.rc == 0 and not run.served
    finally:
        _stop(home)


def test_one_server_serves_each_shim_its_own_state(shims: Shims, tmp_path: Path) -> None:
    other = _make_shims(shims.home, tmp_path / "other")
    other.until_served("lvs")
    assert other.run("lvcreate", "-L", "4M", "-n", "only_here", "vg").served
    assert b"only_here" in other.run("lvs").stdout
    assert b"only_here" not in shims.run("lvs").stdout
