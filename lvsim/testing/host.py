"""An isolated LVM host for tests: what the pytest plugin's `lvm` fixture is.

`LvmHost` wraps one backend: the simulator on a state file of its own (its shims share the file, so a
script run by the test reaches the same host), or real LVM on loop devices (root, device-mapper).
It adds what tests need around the backend: sizes as LVM writes them, every report field as a
Python value, faults, the simulated clock, save points.  What real LVM cannot do (fail on cue, move
its clock, restore a state) raises `Unsupported`, which the plugin turns into a skip.
"""

from __future__ import annotations

import json
import math
import os
import re
import shlex
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsim.backend import Backend, Result
from lvsim.core.names import dm_name

ReportValue = str | int | float | bool | list[str] | None


class Unsupported(Exception):
    """Real LVM cannot do this (the message says why); a test that needs it is skipped there."""


class CommandFailed(AssertionError):
    """`run(..., check=True)` of a command that failed."""

    def __init__(self, result: Result) -> None:
        super().__init__(
            f"{result.cmdline} exited with {result.rc}\n--- stdout\n{result.stdout}--- stderr\n{result.stderr}"
        )
        self.result = result


def parse_size(size: str | int, *, zero: bool = False) -> int:
    """Bytes of a size as LVM writes it ("2G", "512M", "100" is MiB) or an int of bytes; positive
    unless `zero` allows 0."""
    if isinstance(size, int):
        nbytes = size
    else:
        from lvsim.core.errors import ArgError
        from lvsim.core.units import parse_size as lvm_size

        try:
            parsed = lvm_size(size, 2048)
        except ArgError as exc:
            raise ValueError(f"invalid size {size!r}: {exc}") from None
        nbytes = -1 if parsed.sign else parsed.value * 512
    if nbytes < 0 or (nbytes == 0 and not zero):
        raise ValueError(f"size must be {'at least 0' if zero else 'positive'}: {size!r}")
    return nbytes


# ---------------------------------------------------------------------------------------------
# Report fields


def _report_fields() -> dict[str, dict[str, int]]:
    """Every field lvsim emulates, with its value kind: of LVs ("lv"), their segments ("seg"), VGs, PVs."""
    from lvsim.lvm.report import fields as f
    from lvsim.lvm.table import emulated

    wanted = {"lv": f.LV_TYPES, "seg": f.SEGS, "vg": f.VGS, "pv": f.PVS | f.LABEL}
    return {
        kind: {x.name: x.kind for x in f.FIELDS if x.otype & types and x.name in emulated.FIELDS}
        for kind, types in wanted.items()
    }


def _typed(kind: int, text: str) -> ReportValue:
    """A JSON report value (read with --units b --nosuffix --binary) as a Python value."""
    from lvsim.lvm.report import fields as f

    if kind == f.STRL:
        return [item for item in text.split(",") if item]
    if kind in (f.NUM, f.SIZ):
        if not text:
            return None
        try:
            return int(text)
        except ValueError:
            return text  # a word in a number column: lv_read_ahead "auto"
    if kind == f.PCT:
        return float(text) if text else None
    if kind == f.BIN:
        return text == "1" if text in ("0", "1") else None
    return text


# ---------------------------------------------------------------------------------------------
# Save points


@dataclass
class SavePoint:
    """A host's state at one moment: the simulator's state files, and the disks and command lines
    that built it (replayed on real LVM, where nothing can be restored)."""

    directory: Path | None
    steps: list[tuple[str, Any]] = field(default_factory=list)


class Clock:
    """The simulator's clock (seconds since the epoch, kept in the state): it only moves when told,
    or when a command waits (a write queued on a full thin pool waits no_space_timeout seconds)."""

    def __init__(self, host: LvmHost) -> None:
        self._host = host

    def now(self) -> float:
        with self._host._state("lvm.clock") as state:
            return state.clock

    def advance(self, seconds: float) -> float:
        """Move the clock forward; return the new time."""
        if seconds < 0:
            raise ValueError(f"the clock only moves forward: {seconds}")
        with self._host._state("lvm.clock") as state:
            state.clock += seconds
            return state.clock

    def set(self, when: float) -> None:
        """Set the clock (seconds since the epoch); it may not go back."""
        with self._host._state("lvm.clock") as state:
            if when < state.clock:
                raise ValueError(f"the clock only moves forward: {when} < {state.clock}")
            state.clock = when


class Faults:
    """Ready-made failures, with LVM's own words (`lvm.faults.busy("vg/lv")`, ...)."""

    def __init__(self, host: LvmHost) -> None:
        self._host = host

    def busy(self, device: str, *, times: int = 1, commands: Sequence[str] = ("lvremove",)) -> None:
        """The device (VG/LV, /dev/VG/LV or a /dev/mapper name) is held open while each of the next
        `times` calls of `commands` runs, as udev or a backup agent would: `lvremove` and `lvchange
        -an` fail with "Logical volume VG/LV in use.", `dmsetup remove` with "Device or resource
        busy", `kpartx -d` exits 1.  Simulator only: use `hold_open` on real LVM."""
        from lvsim.testing import faults

        with self._host._state(f"lvm.faults.busy({device!r}, times=...)") as state:
            _fault_call(faults.add_hold, state, device, commands=list(commands), times=times)

    def mount_fails(self, *, times: int = 1, match: str | None = None) -> None:
        """The next `times` mounts (whose command line `match` finds) fail as for a device that
        cannot be read: "mount: TARGET: can't read superblock on DEVICE." and exit code 32."""
        from lvsim.testing import faults

        with self._host._state("lvm.faults.mount_fails()") as state:
            _fault_call(faults.add_mount_failure, state, times=times, match=match)

    def lock_timeout(self, vg: str, *, times: int = 1) -> None:
        """The next `times` LVM commands naming VG fail as one that waited for the VG's lock (another
        LVM command holding it) until a timeout interrupted it: "Giving up waiting for lock." and
        "Can't get lock for VG." (exit code 5)."""
        from lvsim.testing import faults

        with self._host._state(f"lvm.faults.lock_timeout({vg!r})") as state:
            _fault_call(faults.add_lock_timeout, state, vg, times=times)

    def pool_full_after(self, pool: str, size: str | int) -> str:
        """Leave only `size` bytes (rounded up to whole chunks) free in thin pool VG/POOL, by
        writing a thin volume that takes the rest: the writes after that run the pool out of data
        space.  Real as it is: it works the same on real LVM.  Returns the filler's VG/LV name."""
        return _fill_pool(self._host, pool, parse_size(size, zero=True))

    def snapshot_overflow_after(self, snapshot: str, size: str | int) -> None:
        """Leave room for only `size` bytes (rounded up to whole chunks) of new exceptions in the COW
        snapshot VG/SNAP, by rewriting some of its chunks with their own content (the snapshot still
        reads the same): the origin writes after that overflow and invalidate it.  Works the same
        on real LVM."""
        _fill_snapshot(self._host, snapshot, parse_size(size, zero=True))


def _fault_call(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    from lvsim.testing.faults import FaultError

    try:
        fn(*args, **kwargs)
    except FaultError as exc:
        raise ValueError(str(exc)) from None


class LvmHost:
    """An isolated LVM host: its own disks, state, temporary directory and environment."""

    def __init__(
        self, backend: Backend, root: Path | None = None, shims: Path | None = None, *, session: bool = False
    ) -> None:
        """`root`: a directory of the host's own (its TMPDIR and save points); `shims`: a directory of
        shims that read LVSIM_STATE (the simulator only); `session`: a host that builds a base layout
        for the tests (lvm_factory)."""
        self._backend = backend
        self.backend: str = backend.name
        self.root = root
        self.tmp = root / "tmp" if root is not None else None
        if self.tmp is not None:
            self.tmp.mkdir(parents=True, exist_ok=True)
        self.state_path: Path | None = getattr(backend, "state_path", None)
        self.shims = shims
        self.session = session
        self.clock = Clock(self)
        self.faults = Faults(self)
        self._steps: list[tuple[str, Any]] = []
        self._fields: dict[str, dict[str, int]] | None = None
        self._saved_away = False  # a real session host that save() closed

    @property
    def env(self) -> dict[str, str]:
        """What a subprocess needs to reach this host (the plugin puts it into os.environ)."""
        env = self._backend.environment()
        if self.tmp is not None:
            env["TMPDIR"] = str(self.tmp)
        if self.shims is not None:
            env["PATH"] = f"{self.shims}{os.pathsep}{os.environ.get('PATH', '')}"
        return env

    # -- disks and commands -----------------------------------------------------------------------

    def add_disk(self, size: str | int) -> str:
        """A new blank disk of `size` ("2G", "512M", bytes); returns its path (/dev/loopN)."""
        self._check_usable()
        nbytes = parse_size(size)
        device = self._backend.add_disk(nbytes)
        self._steps.append(("disk", (nbytes, device)))
        return device

    def run(self, command: str | Sequence[str], *, stdin: str = "", check: bool = False) -> Result:
        """Run one command line (a string is split like a shell would, without expansions)."""
        self._check_usable()
        argv = shlex.split(command) if isinstance(command, str) else list(command)
        if not argv:
            raise ValueError("empty command line")
        result = self._backend.run(argv, stdin)
        self._steps.append(("run", (argv, stdin, result.rc)))
        if check and result.rc != 0:
            raise CommandFailed(result)
        return result

    def write(self, device: str, offset: int, data: bytes) -> None:
        """Write bytes at a byte offset of a device (multiples of 512 on real LVM)."""
        self._check_usable()
        self._backend.write(device, offset, data)
        self._steps.append(("write", (device, offset, data)))

    def read(self, device: str, offset: int, length: int) -> bytes:
        self._check_usable()
        return self._backend.read(device, offset, length)

    # -- reports ----------------------------------------------------------------------------------

    def lv(self, name: str) -> dict[str, ReportValue]:
        """Every lvs field of VG/LV by its LVM name (sizes in bytes, percents as floats, flags as
        bools), with its VG's fields and its first segment's (segtype, chunk_size, ...)."""
        rows = self._rows("lvs", ["lv", "seg", "vg"], [name])
        if not rows:
            raise LookupError(f"lvs {name}: no such logical volume")
        return rows[0]

    def vg(self, name: str) -> dict[str, ReportValue]:
        """Every vgs field of a VG."""
        return self._one("vgs", ["vg"], name)

    def pv(self, device: str) -> dict[str, ReportValue]:
        """Every pvs field of a PV (or of any device, as pvs -a shows it), with its VG's fields."""
        return self._one("pvs", ["pv", "vg"], device)

    def lvs(self, *args: str) -> list[dict[str, ReportValue]]:
        """The LV and VG fields of each LV the arguments select (lvs's arguments)."""
        return self._rows("lvs", ["lv", "vg"], list(args))

    def _rows(self, command: str, kinds: list[str], args: list[str]) -> list[dict[str, ReportValue]]:
        self._check_usable()
        if self._fields is None:
            self._fields = _report_fields()
        fields = {name: kind for k in kinds for name, kind in self._fields[k].items()}
        extra = ["-a"] if command == "pvs" else []
        argv = [command, "--reportformat", "json", "--units", "b", "--nosuffix", "--binary", *extra]
        result = self._backend.run([*argv, "-o", ",".join(fields), *args])
        if result.rc != 0:
            raise LookupError(f"{shlex.join([command, *args])}: {' '.join(result.stderr.split())}")
        rows = json.loads(result.stdout)["report"][0][command[:-1]]
        return [{name: _typed(kind, row.get(name, "")) for name, kind in fields.items()} for row in rows]

    def _one(self, command: str, kinds: list[str], name: str) -> dict[str, ReportValue]:
        rows = self._rows(command, kinds, [name])
        if len(rows) != 1:
            raise LookupError(f"{command} {name}: {len(rows)} rows, expected one")
        return rows[0]

    # -- faults -----------------------------------------------------------------------------------

    def fail(
        self,
        command: str,
        *,
        rc: int,
        stderr: str = "",
        stdout: str = "",
        times: int = 1,
        match: str | None = None,
    ) -> None:
        """The next `times` calls of `command` (through the shims or `run`) whose command line the
        regular expression `match` finds exit with `rc`, print `stdout` and `stderr` as given, and
        change nothing.  Simulator only."""
        from lvsim.testing import faults

        with self._state(f"lvm.fail({command!r}, ...)") as state:
            _fault_call(
                faults.add_failure,
                state,
                command,
                rc=rc,
                stdout=stdout,
                stderr=stderr,
                times=times,
                match=match,
            )

    @contextmanager
    def hold_open(self, device: str) -> Iterator[None]:
        """Hold a device open for the `with` block, as a process that opened it would (on real LVM:
        an open file descriptor): lvremove, dmsetup remove and kpartx -d of it fail as busy."""
        if self.state_path is None:
            fd = os.open(device, os.O_RDONLY)
            try:
                yield
            finally:
                os.close(fd)
            return
        from lvsim.testing import faults

        with self._state() as state:
            try:
                target = faults.hold(state, device)
            except faults.FaultError as exc:
                raise ValueError(str(exc)) from None
        try:
            yield
        finally:
            with self._state() as state:
                faults.release(state, target)

    # -- save points ------------------------------------------------------------------------------

    def save(self) -> SavePoint:
        """This host's state now (nothing may be mounted), to `restore` here or in another host.

        On real LVM a save point is what built the host, replayed by `restore` on a test's fresh
        host: only a session host (lvm_factory) can be saved there, and saving ends it, so that its
        VGs do not stand in the way of the same names rebuilt in each test."""
        if self.state_path is None:
            if not self.session:
                raise Unsupported("save() of a test's host: real LVM cannot go back to a save point")
            point = SavePoint(None, list(self._steps))
            self._saved_away = True
            self.close()
            return point
        with self._state() as state:
            if state.mounts:
                targets = ", ".join(m["target"] for m in state.mounts)
                raise ValueError(f"save() with file systems mounted ({targets}): unmount them first")
        from lvsim.core import store

        if self.root is None:
            raise ValueError("save() needs a host with a directory of its own (root)")
        directory = Path(tempfile.mkdtemp(prefix="save-", dir=self.root))
        store.copy(self.state_path, directory / "state")
        return SavePoint(directory, list(self._steps))

    def restore(self, point: SavePoint) -> None:
        """Make this host what it was at `point`.  On real LVM (or for a point taken there) the point's
        disks and commands are replayed on this host, which must still be fresh (restore first)."""
        if self.state_path is None or point.directory is None:
            self._replay(point)
            return
        from lvsim.core import store

        self._unmount_all()
        store.copy(point.directory / "state", self.state_path)
        self._steps = list(point.steps)

    def _replay(self, point: SavePoint) -> None:
        if self._steps:
            if self.state_path is None:
                raise Unsupported(
                    "restore() of a host already in use: real LVM cannot go back (restore first)"
                )
            raise ValueError(
                "restore() of a point taken on another backend replays it: call it first in a test"
            )
        renames: dict[str, str] = {}
        for kind, value in point.steps:
            if kind == "disk":
                nbytes, old = value
                renames[old] = self.add_disk(nbytes)
            elif kind == "write":
                device, offset, data = value
                self.write(_renamed(device, renames), offset, data)
            else:
                argv, stdin, rc = value
                result = self.run([_renamed(word, renames) for word in argv], stdin=stdin)
                if result.rc != rc:
                    raise ValueError(
                        f"replay of the save point diverged: {result.cmdline} exited with {result.rc}, "
                        f"not {rc}: {result.stderr.strip()}"
                    )

    # -- the end ----------------------------------------------------------------------------------

    def _check_usable(self) -> None:
        if self._saved_away:
            raise RuntimeError(
                "this host was closed by save(): on real LVM a saved session host makes way for the tests "
                "that restore its save point (restore it in a host of its own to go on)"
            )

    def close(self) -> None:
        """Unmount what is still mounted (the simulator's mounts hold files in host directories) and
        remove everything the backend made."""
        try:
            if self.state_path is not None:
                self._unmount_all()
        finally:
            self._backend.close()

    def _unmount_all(self) -> None:
        with self._state() as state:
            targets = [m["target"] for m in reversed(state.mounts)]
        for target in targets:
            self._backend.run(["umount", target])

    @contextmanager
    def _state(self, what: str = "") -> Iterator[Any]:
        """The simulator's state in a locked transaction (Unsupported on real LVM)."""
        if self.state_path is None:
            raise Unsupported(f"{what or 'this'} needs the simulator: real LVM cannot do it")
        from lvsim.core import store

        with store.transaction(self.state_path) as state:
            yield state


def _renamed(word: str, renames: dict[str, str]) -> str:
    """`word` with each disk path of a save point replaced by the disk made for it on replay."""
    if not renames:
        return word
    pattern = "|".join(re.escape(old) for old in sorted(renames, key=len, reverse=True))
    return re.sub(rf"({pattern})(?![0-9])", lambda m: renames[m.group(1)], word)


# ---------------------------------------------------------------------------------------------
# Genuine conditions: built from LVM commands, the same on both backends


def _dm_status(host: LvmHost, name: str) -> list[str]:
    """`dmsetup status NAME`'s words (real LVM only: the simulator reads its state instead)."""
    result = host._backend.run(["dmsetup", "status", name])
    if result.rc != 0:
        raise LookupError(f"dmsetup status {name}: {' '.join(result.stderr.split())}")
    return result.stdout.split()


def _split(name: str) -> tuple[str, str]:
    vg, sep, lv = name.partition("/")
    if not sep or not vg or not lv:
        raise ValueError(f"expected VG/LV, got {name!r}")
    return vg, lv


def _pool_blocks(host: LvmHost, pool: str) -> tuple[int, int]:
    """(used, total) data chunks of an active thin pool."""
    vg, lv = _split(pool)
    if host.state_path is not None:
        from lvsim.core import mapping

        with host._state() as state:
            found = state.vgs[vg].lvs[lv]
            return mapping.pool_used_blocks(found), mapping.pool_total_blocks(state.vgs[vg], found)
    words = _dm_status(host, dm_name(vg, lv, "tpool"))
    used, total = words[5].split("/")  # start length thin-pool trans_id meta data ...
    return int(used), int(total)


def _fill_pool(host: LvmHost, pool: str, keep: int) -> str:
    vg, _ = _split(pool)
    fields = host.lv(pool)
    chunk = fields["chunk_size"]
    if fields["segtype"] != "thin-pool" or not isinstance(chunk, int):
        raise ValueError(f"{pool} is not a thin pool")
    used, total = _pool_blocks(host, pool)
    fill = total - used - math.ceil(keep / chunk)
    if fill < 0:
        raise ValueError(f"thin pool {pool} has only {(total - used) * chunk} bytes free, fewer than {keep}")
    names = {row["lv_name"] for row in host.lvs(vg)}
    filler = next(
        f"lvsim_fill{n or ''}" for n in range(len(names) + 1) if f"lvsim_fill{n or ''}" not in names
    )
    size = max(fill, 1) * chunk
    host.run(["lvcreate", "-n", filler, "-V", f"{size}b", "--thinpool", pool], check=True)
    if fill:
        host.run(
            ["dd", "if=/dev/zero", f"of=/dev/{vg}/{filler}", f"bs={chunk}", f"count={fill}", "oflag=direct"],
            check=True,
        )
    return f"{vg}/{filler}"


def _cow_chunks(host: LvmHost, snapshot: str) -> tuple[int, int]:
    """(used, total) chunks of a COW snapshot's exception store (header and metadata included)."""
    vg, lv = _split(snapshot)
    if host.state_path is not None:
        from lvsim.core import mapping

        with host._state() as state:
            found = state.vgs[vg].lvs[lv]
            total = found.le_count * state.vgs[vg].extent_size // found.chunk_size
            return mapping.cow_used_chunks(found), total
    words = _dm_status(host, dm_name(vg, lv))
    used, total = (int(x) for x in words[3].split("/"))  # start length snapshot used/total meta
    chunk = host.lv(snapshot)["chunk_size"]
    assert isinstance(chunk, int)
    return used // (chunk // 512), total // (chunk // 512)


def _room(used: int, total: int, per_chunk: int) -> int:
    """New exceptions that still fit in a COW store of `total` chunks with `used` in use: exception i
    sits in chunk 2 + i + i // per_chunk (after the header and a metadata chunk per `per_chunk`)."""
    exceptions = used - 2 - (used - 2) // (per_chunk + 1)
    lo, hi = 0, total  # the number of exceptions that fit: the largest n with chunk(n - 1) < total
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if 2 + (mid - 1) + (mid - 1) // per_chunk < total:
            lo = mid
        else:
            hi = mid - 1
    return max(0, lo - exceptions)


def _fill_snapshot(host: LvmHost, snapshot: str, keep: int) -> None:
    vg, lv = _split(snapshot)
    fields = host.lv(snapshot)
    chunk, size = fields["chunk_size"], fields["origin_size"]
    attr = str(fields["lv_attr"])
    if attr[:1] != "s" or not isinstance(chunk, int) or not isinstance(size, int) or not chunk:
        raise ValueError(f"{snapshot} is not a COW snapshot")
    if attr[4:5] in ("I", "S"):
        raise ValueError(f"snapshot {snapshot} is invalid already")
    per_chunk = chunk // 16
    want = math.ceil(keep / chunk)
    end = size // chunk
    for _ in range(8):  # chunks rewritten may already have had exceptions: measure and go on
        used, total = _cow_chunks(host, snapshot)
        extra = _room(used, total, per_chunk) - want
        if extra < 0:
            raise ValueError(f"snapshot {snapshot} has room for fewer than {keep} bytes")
        if extra == 0:
            return
        start = max(0, end - extra)
        if start == end:
            raise ValueError(f"snapshot {snapshot}: no chunks left to rewrite")
        device = f"/dev/{vg}/{lv}"
        host.run(
            [
                "dd",
                f"if={device}",
                f"of={device}",
                f"bs={chunk}",
                f"skip={start}",
                f"seek={start}",
                f"count={end - start}",
                "iflag=direct",
                "oflag=direct",
                "conv=notrunc",
            ],
            check=True,
        )
        end = start
    raise ValueError(f"snapshot {snapshot}: could not fill it to {keep} bytes of room")
