"""RealBackend: the real LVM tools on loop devices, as root, fenced off from the rest of the host.

Safety rules:

* It refuses to start unless it runs as root and device-mapper works (`/dev/mapper/control` exists
  and `dmsetup version` succeeds).
* Everything it makes lives in a private work directory (`mkdtemp`): sparse backing files attached
  with `losetup -f --show`, and a private LVM system directory.  LVM runs with
  `LVM_SYSTEM_DIR=<workdir>/etc`, whose lvm.conf holds only a device filter accepting exactly this
  backend's loop devices, so LVM cannot see (let alone change) any other device or VG on the host;
  its metadata backups and archives also stay in the work directory.
* Every VG made by `vgcreate` through `run()` gets the tag `lvsim` at creation (`--addtag lvsim` is
  appended to the command line).  The tag is visible: in `vg_tags`, and it makes the VG metadata
  longer, which shows in `vg_mda_free`/`pv_mda_free` (508.00k instead of 508.50k).  So runs that must
  match the simulator byte for byte (golden transcripts, differential tests) pass `tag_vgs=False`;
  they are still confined by the device filter.  The names of the VGs seen on its devices are
  recorded after each vg* command.
* Before a command runs, `backends.real_policy` checks it: only LVM and the tools lvsim simulates run,
  only on the backend's own devices (its loop devices, known by their backing files, their partitions
  and the device-mapper devices stacked only on them); `--config` may not touch LVM's `devices`
  section and `--devices`/`--devicesfile` are refused; umount only unmounts its own filesystems; a new
  VG may not take the name of one the host has.  A refusal is one `lvsim: ...` line, exit code 95.
* The work directories of dead sessions (their process and reaper gone) are swept when a backend
  starts; every work directory records its owner ("PID START-TIME").
* `close()` removes everything it made: unmounts file systems on its LVs and loops, deactivates its VGs,
  removes any device-mapper device stacked only on its loop devices, the /dev/VG node directories,
  the loop devices and the files.  It runs on normal exit, on exceptions (context manager), on
  SIGINT/SIGTERM (signal handlers) and at interpreter exit (atexit).  A small reaper process watches
  the backend's process and runs the same clean-up if the process dies without doing it (SIGKILL).

Data access (`write`, `read`, `discard`) goes through `dd` with O_DIRECT and `blkdiscard`, so
offsets and lengths must be multiples of 512 bytes.
"""

from __future__ import annotations

import atexit
import contextlib
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from backends import real_policy
from lvsim.backend import Backend, BackendUnavailable, Result
from lvsim.core.errors import NOT_EMULATED

TAG = "lvsim"
WORKDIR_PREFIX = "lvsim-real-"
# Commands through which a VG can appear, disappear or be renamed: the VG record is refreshed after them.
VG_COMMANDS = {"vgcreate", "vgrename", "vgsplit", "vgmerge", "vgremove", "vgimportclone"}
COMMAND_TIMEOUT = 600.0
CLEANUP_TIMEOUT = 120.0


class RealBackendUnavailable(BackendUnavailable):
    """The machine cannot run real LVM safely (not root, or no device-mapper)."""


def check_prerequisites() -> None:
    """Raise RealBackendUnavailable with a clear reason unless root and device-mapper are available."""
    if os.geteuid() != 0:
        raise RealBackendUnavailable("RealBackend needs root (it attaches loop devices and runs LVM)")
    if not os.path.exists("/dev/mapper/control"):
        raise RealBackendUnavailable("RealBackend needs device-mapper: /dev/mapper/control does not exist")
    for tool in ("dmsetup", "losetup", "lvm", "dd", "blkdiscard"):
        if shutil.which(tool) is None:
            raise RealBackendUnavailable(f"RealBackend needs {tool!r} on PATH")
    proc = subprocess.run(["dmsetup", "version"], capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RealBackendUnavailable(
            f"RealBackend needs device-mapper: `dmsetup version` failed: {' '.join(proc.stderr.split())}"
        )


def _lvm_conf(loops: Sequence[str]) -> str:
    accept = "".join(f'"a|^{re.escape(loop)}$|", ' for loop in loops)
    return f'devices {{\n    filter = [ {accept}"r|.*|" ]\n    global_filter = [ {accept}"r|.*|" ]\n}}\n'


def _command_name(argv: Sequence[str]) -> str:
    if not argv:
        return ""
    name = os.path.basename(argv[0])
    if name == "lvm" and len(argv) > 1:
        return argv[1]
    return name


class _Workdir:
    """What one backend made, found again from its work directory alone (used by the reaper too)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.disks = path / "disks"
        self.etc = path / "etc"

    def env(self) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"),
            "LC_ALL": "C",
            "LVM_SYSTEM_DIR": str(self.etc),
            "LVM_SUPPRESS_FD_WARNINGS": "1",
        }

    def loops(self) -> list[str]:
        """Loop devices attached to this work directory's backing files, in name order."""
        proc = subprocess.run(
            ["losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"],
            capture_output=True,
            text=True,
            check=False,
        )
        prefix = str(self.disks) + "/"
        found = []
        for line in proc.stdout.splitlines():
            name, _, back = line.partition(" ")
            if back.startswith(prefix):
                found.append(name)
        return sorted(found, key=lambda n: int(re.sub(r"\D", "", n) or 0))

    def write_lvm_conf(self, loops: Sequence[str], extra: str = "") -> None:
        """The device filter for `loops`, then `extra` (settings a caller asked for)."""
        self.etc.mkdir(parents=True, exist_ok=True)
        tmp = self.etc / "lvm.conf.tmp"
        tmp.write_text(_lvm_conf(loops) + extra)
        tmp.replace(self.etc / "lvm.conf")

    def lvm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run an LVM command of the backend's own (not a user's), giving up after CLEANUP_TIMEOUT."""
        try:
            return subprocess.run(
                ["lvm", *args],
                capture_output=True,
                text=True,
                env=self.env(),
                stdin=subprocess.DEVNULL,
                check=False,
                timeout=CLEANUP_TIMEOUT,
            )
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess(["lvm", *args], -1, "", "timed out")

    def vgs(self) -> list[str]:
        """Names of the VGs LVM sees through this work directory's filter (only its own devices)."""
        if not (self.etc / "lvm.conf").exists():
            return []
        proc = self.lvm("vgs", "--noheadings", "-o", "vg_name")
        return [line.strip() for line in proc.stdout.splitlines() if line.strip()]

    def cleanup(self, known_vgs: Sequence[str] = ()) -> None:
        """Remove every mount, dm device, VG node, loop device and file made through this work directory."""
        loops = self.loops()
        if loops:
            self.write_lvm_conf(loops)
        vgs = sorted(set(known_vgs) | set(self.vgs() if loops else []))
        ours = _owned_dm_devices(loops)
        _unmount(ours + [_sys_block(loop) for loop in loops])  # also filesystems right on a loop
        for block in ours:  # a command killed half-way may have left a device suspended
            with contextlib.suppress(OSError):
                name = Path(f"/sys/block/{block}/dm/name").read_text().strip()
                subprocess.run(["dmsetup", "resume", name], capture_output=True, check=False)
        for vg in vgs:
            self.lvm("vgchange", "-an", vg)
        _remove_dm_devices(_owned_dm_devices(loops))
        for vg in vgs:
            _remove_vg_nodes(vg)
        for loop in loops:
            subprocess.run(["losetup", "-d", loop], capture_output=True, check=False)
        shutil.rmtree(self.path, ignore_errors=True)


def _sys_block(dev: str) -> str:
    """The /sys/block name (loop3, dm-4) of a block device path, or "" if it is not a block device."""
    try:
        rdev = os.stat(dev).st_rdev
    except OSError:
        return ""
    return os.path.basename(os.path.realpath(f"/sys/dev/block/{os.major(rdev)}:{os.minor(rdev)}"))


def _host_dm_names() -> set[str]:
    """The name of every device-mapper device of the machine now (from /sys, whatever udev made)."""
    names = set()
    for name_file in Path("/sys/block").glob("dm-*/dm/name"):
        with contextlib.suppress(OSError):
            names.add(name_file.read_text().strip())
    return names


def _leaves(block: str, seen: set[str] | None = None) -> set[str]:
    """The bottom devices (e.g. loop3) under a block device name (e.g. dm-4), via /sys/block/*/slaves."""
    seen = set() if seen is None else seen
    if block in seen:
        return set()
    seen.add(block)
    try:
        slaves = os.listdir(f"/sys/block/{block}/slaves")
    except OSError:
        slaves = []
    if not slaves:
        return {block}
    result: set[str] = set()
    for slave in slaves:
        result |= _leaves(slave, seen)
    return result


def _owned_dm_devices(loops: Sequence[str]) -> list[str]:
    """dm-N names of every device-mapper device stacked only on the given loop devices."""
    ours = {_sys_block(loop) for loop in loops}
    if not ours:
        return []
    owned = []
    for block in sorted(os.listdir("/sys/block")):
        if block.startswith("dm-"):
            leaves = _leaves(block)
            if leaves and leaves <= ours:
                owned.append(block)
    return owned


def _unmount(dm_blocks: Sequence[str]) -> None:
    """Lazily unmount every mount whose source is one of these dm devices."""
    devnums = set()
    for block in dm_blocks:
        with contextlib.suppress(OSError):
            devnums.add(Path(f"/sys/block/{block}/dev").read_text().strip())
    if not devnums:
        return
    with open("/proc/self/mountinfo") as f:
        mounts = [line.split() for line in f]
    for fields in reversed(mounts):
        if fields[2] in devnums:
            target = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), fields[4])
            subprocess.run(["umount", "-l", target], capture_output=True, check=False)


def _remove_dm_devices(dm_blocks: Sequence[str]) -> None:
    """Remove dm devices, holders first; a few passes for stacked devices."""
    pending = list(dm_blocks)
    for _ in range(len(pending) + 1):
        if not pending:
            return
        left = []
        for block in pending:
            try:
                name = Path(f"/sys/block/{block}/dm/name").read_text().strip()
            except OSError:
                continue  # already gone
            if os.listdir(f"/sys/block/{block}/holders"):
                left.append(block)
                continue
            proc = subprocess.run(["dmsetup", "remove", "--force", name], capture_output=True, check=False)
            if proc.returncode != 0:
                left.append(block)
        pending = left


def _remove_vg_nodes(vg: str) -> None:
    """Remove /dev/VG when it holds only dangling links (LVM makes them itself when udev is absent)."""
    vgdir = Path("/dev") / vg
    if not vgdir.is_dir() or vgdir.is_symlink():
        return
    for entry in vgdir.iterdir():
        if entry.is_symlink() and not entry.exists():
            entry.unlink()
    with contextlib.suppress(OSError):
        vgdir.rmdir()


def _busy_children(workdir: _Workdir) -> list[int]:
    """Pids of commands still running for this work directory (they carry its LVM_SYSTEM_DIR)."""
    return _pids_whose("environ", f"LVM_SYSTEM_DIR={workdir.etc}")


def _pids_whose(part: str, word: str) -> list[int]:
    """Pids whose /proc/PID/`part` (environ, cmdline: NUL-separated) holds `word` as one of its items."""
    marker = word.encode()
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            with contextlib.suppress(OSError):
                if marker in Path(f"/proc/{entry}/{part}").read_bytes().split(b"\0"):
                    pids.append(int(entry))
    return pids


# The reaper: a shell that ignores SIGINT/SIGTERM and waits for EOF on its stdin (the backend's process
# closed it or died); only if the work directory is still there does it start Python to clean up
# (`python -I -S`: the standard library is all it needs), so a normal close costs no Python start.
REAPER = (
    "trap '' INT TERM; cat >/dev/null; [ -d \"$2\" ] || exit 0; "
    'exec "$0" -I -S -c "import sys; sys.path.insert(0, sys.argv[1]); '
    'from backends.real import _reaper_main; _reaper_main(sys.argv[2])" "$1" "$2"'
)


OWNER_FILE = "owner"  # "PID START-TIME" of the process that made a work directory


def _process_id(pid: int) -> str:
    """A process as "PID START-TIME" (a reused pid has another start time); "" if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    return f"{pid} {stat.rsplit(')', 1)[1].split()[19]}"


def sweep_dead_sessions(base: Path) -> None:
    """Clean up the work directories of backends whose process is gone and that no reaper or command
    of theirs is still handling (a VM or machine that stopped mid-run, a killed process group)."""
    for path in sorted(base.glob(f"{WORKDIR_PREFIX}*")):
        try:
            owner = (path / OWNER_FILE).read_text().strip()
        except OSError:
            continue  # not one lvsim can tell is dead
        if not owner or _process_id(int(owner.split()[0])) == owner:
            continue
        wd = _Workdir(path)
        if _busy_children(wd) or _processes_naming(path):
            continue
        wd.cleanup()


def _processes_naming(path: Path) -> list[int]:
    """Pids whose command line names path (a reaper still waiting to clean it up)."""
    return _pids_whose("cmdline", str(path))


def _devnum(block: str) -> str:
    try:
        return Path(f"/sys/block/{block}/dev").read_text().strip()
    except OSError:
        return ""


def _host_vgs() -> frozenset[str]:
    """The VG names a new real-backend VG may not take: the host's own VGs (asked once) and every VG
    with an active device-mapper device (asked each time: another session's, or one made since)."""
    return _host_own_vgs() | _active_vgs()


@functools.cache
def _host_own_vgs() -> frozenset[str]:
    """The VGs the host's own LVM sees (its /etc/lvm, not a backend's filter), asked once per process;
    not those lying only on real-backend loops (they come and go with sessions: `_active_vgs`)."""
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LC_ALL": "C"}
    env["LVM_SUPPRESS_FD_WARNINGS"] = "1"
    try:
        proc = subprocess.run(
            ["lvm", "pvs", "--noheadings", "--separator", "|", "-o", "pv_name,vg_name"],
            capture_output=True,
            text=True,
            env=env,
            stdin=subprocess.DEVNULL,
            check=False,
            timeout=CLEANUP_TIMEOUT,
        )
    except (OSError, subprocess.TimeoutExpired):
        return frozenset()
    sessions = _session_loops()
    pvs: dict[str, set[str]] = {}
    for line in proc.stdout.splitlines():
        pv, _, vg = line.strip().partition("|")
        if vg:
            pvs.setdefault(vg, set()).add(pv)
    return frozenset(vg for vg, devices in pvs.items() if not devices <= sessions)


def _session_loops() -> set[str]:
    """Loop devices whose backing file is a disk of a real backend's work directory (any session's)."""
    proc = subprocess.run(
        ["losetup", "--list", "--noheadings", "--raw", "--output", "NAME,BACK-FILE"],
        capture_output=True,
        text=True,
        check=False,
    )
    disks = re.compile(rf"/{re.escape(WORKDIR_PREFIX)}[^/]*/disks/")
    return {
        name
        for name, _, back in (line.partition(" ") for line in proc.stdout.splitlines())
        if disks.search(back)
    }


_DM_VG = re.compile(r"((?:[^-]|--)+)-(?!-)")  # LVM's dm names: VG-LV[-layer], a '-' in a name doubled


def dm_vg(name: str) -> str:
    """The VG of a device-mapper name as LVM makes them ("" for a name that is not one)."""
    found = _DM_VG.match(name)
    return found.group(1).replace("--", "-") if found else ""


def _active_vgs() -> frozenset[str]:
    """The VGs that have a device-mapper device now (from its name)."""
    found = set()
    for block in os.listdir("/sys/block"):
        if block.startswith("dm-"):
            with contextlib.suppress(OSError):
                found.add(dm_vg(Path(f"/sys/block/{block}/dm/name").read_text().strip()))
    return frozenset(found - {""})


def _reaper_main(workdir: str) -> None:
    """Clean up after a backend whose process is gone (started by REAPER, which waited for that).

    Commands the dead process had started (an LVM command, losetup) are left to finish first, so that
    nothing they make appears after the clean-up.
    """
    wd = _Workdir(Path(workdir))
    deadline = time.monotonic() + COMMAND_TIMEOUT
    while wd.path.exists() and _busy_children(wd) and time.monotonic() < deadline:
        time.sleep(0.2)
    if wd.path.exists():
        wd.cleanup()


class RealBackend(Backend):
    """Real LVM on sparse files attached as loop devices in a private work directory (root only)."""

    name = "real"

    def __init__(self, base_dir: str | None = None, *, tag_vgs: bool = True) -> None:
        check_prerequisites()
        self.tag_vgs = tag_vgs
        self._closed = False
        self._proc: subprocess.Popen[str] | None = None
        sweep_dead_sessions(Path(base_dir or tempfile.gettempdir()))
        self.workdir = Path(tempfile.mkdtemp(prefix=WORKDIR_PREFIX, dir=base_dir))
        self._wd = _Workdir(self.workdir)
        (self.workdir / OWNER_FILE).write_text(_process_id(os.getpid()))
        self._wd.disks.mkdir()
        self._wd.write_lvm_conf([])
        self.loops: list[str] = []
        self.vgs: set[str] = set()
        self._lvm_conf_extra = ""
        self._previous_handlers: dict[int, object] = {}
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError):  # only the main thread may set handlers
                self._previous_handlers[sig] = signal.signal(sig, self._on_signal)
        atexit.register(self.close)
        root = str(Path(__file__).resolve().parent.parent)
        self._reaper = subprocess.Popen(
            ["sh", "-c", REAPER, sys.executable, root, str(self.workdir)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    # -- the Backend interface -------------------------------------------------------------------

    def add_disk(self, size: int) -> str:
        self._check_open()
        backing = self._wd.disks / f"disk{len(self.loops)}.img"
        with open(backing, "wb") as f:
            f.truncate(size)
        proc = subprocess.run(
            ["losetup", "-f", "--show", str(backing)],
            capture_output=True,
            text=True,
            env=self._wd.env(),
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"losetup -f --show {backing} failed: {proc.stderr.strip()}")
        loop = proc.stdout.strip()
        self.loops.append(loop)
        self._wd.write_lvm_conf(self.loops, self._lvm_conf_extra)
        return loop

    def run(self, argv: Sequence[str], stdin: str = "") -> Result:
        self._check_open()
        argv = tuple(argv)
        if not argv:
            raise ValueError("empty command line")
        name = _command_name(argv)
        refused = real_policy.refusal(argv, self._owned(), _host_vgs, stdin)
        if refused:
            return Result(argv=argv, rc=NOT_EMULATED, stdout="", stderr=f"lvsim: {refused}\n")
        actual = list(argv)
        if name == "vgcreate" and self.tag_vgs:
            actual += ["--addtag", TAG]
        self._proc = subprocess.Popen(
            actual,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            encoding="utf-8",
            errors="replace",
            env=self._wd.env(),
        )
        try:
            stdout, stderr = self._proc.communicate(stdin, timeout=COMMAND_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            stdout, stderr = self._proc.communicate()
            stderr += f"\nlvsim: killed after {COMMAND_TIMEOUT:.0f} s\n"
        rc = self._proc.returncode
        self._proc = None
        if name in VG_COMMANDS and rc == 0:
            self.vgs |= set(self._wd.vgs())
        if name == "losetup":  # its loops are the files of its work directory, whatever their names
            self.loops = self._wd.loops()
            self._wd.write_lvm_conf(self.loops, self._lvm_conf_extra)
        return Result(argv=argv, rc=rc, stdout=stdout, stderr=stderr)

    def write(self, device: str, offset: int, data: bytes) -> None:
        self._check_device(device, offset, len(data))
        if not data:
            return
        self._dd(
            ["if=/dev/stdin", f"of={device}", f"bs={len(data)}", "count=1", f"seek={offset}"],
            ["iflag=fullblock", "oflag=direct,seek_bytes", "conv=notrunc"],
            data,
        )

    def read(self, device: str, offset: int, length: int) -> bytes:
        self._check_device(device, offset, length)
        if not length:
            return b""
        out = self._dd(
            [f"if={device}", f"bs={length}", "count=1", f"skip={offset}"],
            ["iflag=direct,skip_bytes,fullblock"],
            b"",
        )
        if len(out) != length:
            raise RuntimeError(f"short read from {device}: {len(out)} of {length} bytes")
        return out

    def discard(self, device: str, offset: int, length: int) -> None:
        self._check_device(device, offset, length)
        proc = subprocess.run(
            ["blkdiscard", "-o", str(offset), "-l", str(length), device],
            capture_output=True,
            text=True,
            env=self._wd.env(),
            check=False,
        )
        if proc.returncode != 0:
            raise OSError(f"blkdiscard {device} failed: {proc.stderr.strip()}")

    def set_lvm_conf(self, text: str) -> None:
        """LVM's settings from now on: the device filter, then `text` (lvm.conf syntax)."""
        self._check_open()
        self._lvm_conf_extra = text if text.endswith("\n") or not text else text + "\n"
        self._wd.write_lvm_conf(self.loops, self._lvm_conf_extra)

    def wait(self, seconds: float) -> None:
        """Real time passes (dmeventd acts, queued writes time out)."""
        time.sleep(seconds)

    def environment(self) -> dict[str, str]:
        """LVM's private configuration (the device filter that shows it only this backend's loops)."""
        env = self._wd.env()
        return {name: env[name] for name in ("LVM_SYSTEM_DIR", "LVM_SUPPRESS_FD_WARNINGS")}

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        try:
            if self._proc is not None:  # interrupted mid-command: let LVM finish before tearing down
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self._proc.wait(timeout=COMMAND_TIMEOUT)
            self._wd.cleanup(sorted(self.vgs))
        finally:
            atexit.unregister(self.close)
            for sig, handler in self._previous_handlers.items():
                with contextlib.suppress(ValueError, TypeError):
                    signal.signal(sig, handler)  # type: ignore[arg-type]
            if self._reaper.stdin is not None:
                self._reaper.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._reaper.wait(timeout=60)

    # -- helpers -----------------------------------------------------------------------------------

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self.close()
        previous = self._previous_handlers.get(signum)
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def _check_open(self) -> None:
        if self._closed:
            raise RuntimeError("RealBackend is closed")

    def _owned(self) -> real_policy.Owned:
        """This backend's devices now: its loops, their dm devices, its VGs, its work directory."""
        dm_blocks = _owned_dm_devices(self.loops)
        names = set()
        for block in dm_blocks:
            with contextlib.suppress(OSError):
                names.add(Path(f"/sys/block/{block}/dm/name").read_text().strip())
        return real_policy.Owned(
            blocks={_sys_block(loop) for loop in self.loops} | set(dm_blocks),
            dm_names=names,
            vgs=set(self.vgs),
            workdir=str(self.workdir),
            block_of=_sys_block,
            devnum_of_block=_devnum,
            host_dm_names=_host_dm_names,
        )

    def _check_device(self, device: str, offset: int, length: int) -> None:
        """Only this backend's loop devices and the dm devices stacked on them may be read or written."""
        self._check_open()
        if offset % 512 or length % 512:
            raise ValueError(f"offset and length must be multiples of 512 (O_DIRECT): {offset}, {length}")
        block = _sys_block(device)
        if block in {_sys_block(loop) for loop in self.loops}:
            return
        if block.startswith("dm-") and block in _owned_dm_devices(self.loops):
            return
        raise PermissionError(f"{device} was not made by this RealBackend")

    def _dd(self, operands: list[str], flags: list[str], data: bytes) -> bytes:
        proc = subprocess.run(
            ["dd", *operands, *flags, "status=none"],
            input=data,
            capture_output=True,
            env=self._wd.env(),
            check=False,
        )
        if proc.returncode != 0:
            raise OSError(f"dd {' '.join(operands)} failed: {proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout


def wait_for_cleanup(workdir: str | Path, timeout: float = 120.0) -> bool:
    """Wait until a (possibly killed) backend's work directory is gone; True if it is."""
    deadline = time.monotonic() + timeout
    while Path(workdir).exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.2)
    return True
