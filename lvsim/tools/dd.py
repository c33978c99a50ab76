"""dd and blkdiscard on simulated devices, with coreutils' and util-linux's own messages.

dd copies record by record like coreutils 9.1 (`if=` /dev/zero, /dev/urandom, a simulated
device, a real file or stdin; `of=` a simulated device, a real file, /dev/null or stdout).
Device-to-device copies move content descriptors, never bytes.  Buffered writes to a thin
pool that is out of space succeed (the page cache takes them) and fail only on fsync;
`oflag=direct` writes fail at once.  Timing figures are simulated.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable
from typing import TYPE_CHECKING

from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.errors import LvmError
from lvsim.tools.toolkit import Usage, getopt_long, host_file

if TYPE_CHECKING:
    from lvsim.core.content import Extent
    from lvsim.core.datapath import Device

# lvsim.core.content and lvsim.core.datapath are imported when a command runs: every shim loads this module.

SECTOR = 512
_RATE = 1.0e9  # simulated bytes per second
_LATENCY = 0.0104187  # simulated seconds per dd run (opening, syncing)

_INPUT_FLAGS = {"append", "direct", "directory", "dsync", "sync", "fullblock", "nonblock", "noatime"}
_INPUT_FLAGS |= {"nocache", "noctty", "nofollow", "count_bytes", "skip_bytes"}
_OUTPUT_FLAGS = {"append", "direct", "directory", "dsync", "sync", "nonblock", "noatime", "nocache"}
_OUTPUT_FLAGS |= {"noctty", "nofollow", "seek_bytes"}
_CONVERSIONS = {"ascii", "ebcdic", "ibm", "block", "unblock", "lcase", "ucase", "sparse", "swab", "sync"}
_CONVERSIONS |= {"excl", "nocreat", "notrunc", "noerror", "fdatasync", "fsync"}
_OPERANDS = {"if", "of", "bs", "ibs", "obs", "cbs", "count", "skip", "iseek", "seek", "oseek"}
_OPERANDS |= {"iflag", "oflag", "conv", "status"}
_GENERATED = ("/dev/zero", "/dev/urandom", "/dev/random")


def _utf8_locale() -> bool:
    env = os.environ
    name = env.get("LC_ALL") or env.get("LC_MESSAGES") or env.get("LANG") or ""
    return "utf-8" in name.lower() or "utf8" in name.lower()


def _quote(text: str) -> str:
    """gnulib quote(): locale quotes, like ‘this’ in a UTF-8 locale and 'this' in C."""
    return f"\u2018{text}\u2019" if _utf8_locale() else f"'{text}'"


def _quoteaf(text: str) -> str:
    """gnulib quoteaf(): shell-escaped, always in single quotes."""
    return "'" + text.replace("'", "'\\''") + "'"


def _fail(prog: str, *lines: str, rc: int = 1) -> LvmError:
    return LvmError(rc=rc, raw="\n".join(f"{prog}: {line}" for line in lines))


def _try_help(prog: str, line: str) -> LvmError:
    return LvmError(rc=1, raw=f"{prog}: {line}\nTry '{prog} --help' for more information.")


# ---------------------------------------------------------------------------------------------
# Numbers and human-readable sizes

_MULT = {"c": 1, "w": 2, "b": 512}
_POWERS = "KMGTPEZY"


def parse_dd_number(text: str) -> int:
    """coreutils dd's parse_integer: digits, an optional suffix, and `x` products."""
    head, x, rest = text.partition("x")
    m = re.fullmatch(r"(\d*)([cwb]|([kKMGTPEZY])(B|iB)?)?", head)
    if not m or not (m.group(1) or m.group(2)):
        raise ValueError(text)
    value = int(m.group(1) or 1)
    if m.group(2) in _MULT:
        value *= _MULT[m.group(2)]
    elif m.group(3):
        base = 1000 if m.group(4) == "B" else 1024
        value *= base ** (_POWERS.index(m.group(3).upper()) + 1)
    if x:
        value *= parse_dd_number(rest)
    return value


def human_int(n: int, base: int) -> str:
    """gnulib human_readable for an exact byte count (autoscale, round to nearest), with 'B'."""
    amt, tenths, rounding, exponent, frac = n, 0, 0, 0, ""
    if amt >= base:
        while True:
            r10 = (amt % base) * 10 + tenths
            r2 = (r10 % base) * 2 + (rounding >> 1)
            amt //= base
            tenths = r10 // base
            rounding = int(r2 + rounding != 0) if r2 < base else 2 + int(base < r2 + rounding)
            exponent += 1
            if not (amt >= base and exponent < 8):
                break
        if amt < 10:
            if rounding + (tenths & 1) > 2:
                tenths += 1
                rounding = 0
                if tenths == 10:
                    amt += 1
                    tenths = 0
            if amt < 10:
                frac = f".{tenths}"
                tenths = rounding = 0
    if tenths + int(rounding + (amt & 1) > 0) > 5:
        amt += 1
        if amt == base and exponent < 8:
            exponent += 1
            frac, amt = ".0", 1
    if not exponent:
        return f"{amt}{frac} B"
    prefix = _POWERS[exponent - 1]
    return f"{amt}{frac} {prefix.lower() if base == 1000 and prefix == 'K' else prefix}{'iB' if base == 1024 else 'B'}"


def human_rate(nbytes: int, seconds: float) -> str:
    """dd's transfer rate: SI units, one decimal below 100."""
    value = nbytes / seconds
    scale, exponent = 1000.0, 1
    while scale * 1000 <= value and exponent < 8:
        scale *= 1000
        exponent += 1
    text = f"{value / scale:.1f}"
    if len(text) > 4:
        text = f"{value / scale:.0f}"
    prefix = _POWERS[exponent - 1]
    return f"{text} {'k' if prefix == 'K' else prefix}B/s"


def transfer_line(nbytes: int, seconds: float) -> str:
    """The third line of dd's statistics."""
    si, iec = human_int(nbytes, 1000), human_int(nbytes, 1024)
    timing = f"{seconds:g} s, {human_rate(nbytes, seconds)}"
    if si.endswith(" B"):
        return f"{nbytes} byte{'' if nbytes == 1 else 's'} copied, {timing}"
    if iec.endswith(" B"):
        return f"{nbytes} bytes ({si}) copied, {timing}"
    return f"{nbytes} bytes ({si}, {iec}) copied, {timing}"


# ---------------------------------------------------------------------------------------------
# dd


class DdArgs:
    """dd's operands."""

    def __init__(self) -> None:
        self.infile = ""
        self.outfile = ""
        self.ibs = 512
        self.obs = 512
        self.count: int | None = None
        self.skip = 0
        self.seek = 0
        self.iflags: set[str] = set()
        self.oflags: set[str] = set()
        self.conv: set[str] = set()
        self.status = ""


def parse_dd(argv: list[str]) -> DdArgs:
    """Parse dd's operands (raises LvmError with dd's messages)."""
    args = DdArgs()
    for arg in argv:
        key, eq, value = arg.partition("=")
        if arg.startswith("-") and not eq:
            if arg.startswith("--"):
                raise _try_help("dd", f"unrecognized option '{arg}'")
            raise _try_help("dd", f"invalid option -- '{arg[1:2]}'")
        if not eq or key not in _OPERANDS:
            raise _try_help("dd", f"unrecognized operand {_quote(arg)}")
        if key == "if":
            args.infile = value
        elif key == "of":
            args.outfile = value
        elif key in ("iflag", "oflag", "conv"):
            allowed = {"iflag": _INPUT_FLAGS, "oflag": _OUTPUT_FLAGS, "conv": _CONVERSIONS}[key]
            what = {"iflag": "input flag", "oflag": "output flag", "conv": "conversion"}[key]
            target = {"iflag": args.iflags, "oflag": args.oflags, "conv": args.conv}[key]
            for flag in value.split(","):
                if flag not in allowed:
                    raise _try_help("dd", f"invalid {what}: {_quote(flag)}")
                target.add(flag)
        elif key == "status":
            if value not in ("none", "noxfer", "progress"):
                raise _try_help("dd", f"invalid status level: {_quote(value)}")
            args.status = value
        else:
            try:
                number = parse_dd_number(value)
            except ValueError:
                raise _fail("dd", f"invalid number: {_quote(value)}") from None
            if key in ("bs", "ibs", "obs", "cbs") and number == 0:
                raise _fail("dd", f"invalid number: {_quote(value)}")
            if key == "bs":
                args.ibs = args.obs = number
            elif key == "ibs":
                args.ibs = number
            elif key == "obs":
                args.obs = number
            elif key == "count":
                args.count = number
            elif key in ("skip", "iseek"):
                args.skip = number
            elif key in ("seek", "oseek"):
                args.seek = number
    return args


class _Stop(Exception):
    """dd stops copying: a diagnostic (already formatted) and whether the stats follow."""

    def __init__(self, message: str, stats: bool = True) -> None:
        super().__init__(message)
        self.message = message
        self.stats = stats


class _Input:
    """Where dd reads from: a generator, a simulated device, or bytes (a file, stdin) read on demand."""

    def __init__(
        self,
        name: str,
        size: int | None,
        device: Device | None = None,
        blob: int = 0,
        stream: int = 0,
        reader: Callable[[int], bytes] | None = None,
    ) -> None:
        self.name = name
        self.size = size  # None: endless
        self.device = device
        self.blob = blob
        self.stream = stream
        self.reader = reader  # a file or stdin, not read yet
        self.fd = -1  # the file's descriptor until it is read

    def load(self, ctx: Ctx, bound: int) -> bool:
        """Read at most `bound` bytes of a file or stdin; False when there was more than that."""
        from lvsim.core import content

        assert self.reader is not None
        raw = self.reader(bound + 1)
        self.fd = -1  # read_file closed it
        more = len(raw) > bound
        raw = raw[:bound]
        self.reader, self.size = None, len(raw)
        self.blob = content.store_of(ctx.state).blobs.add(raw) if raw else 0
        return not more

    def extents(self, offset: int, length: int) -> list[Extent]:
        from lvsim.core import content

        if self.device is not None:
            return self.device.describe(offset, length)
        if self.blob:
            return [(0, length, content.LITERAL, self.blob, offset)]
        if self.stream:
            return [(0, length, content.PATTERN, self.stream, offset)]
        return []


def _open_input(ctx: Ctx, args: DdArgs) -> _Input:
    from lvsim.core import content, datapath

    name = args.infile
    store = content.store_of(ctx.state)
    if name in _GENERATED:
        return _Input(name, None, stream=store.new_stream() if name != "/dev/zero" else 0)
    if name == "/dev/null":
        return _Input(name, 0)
    direct = "direct" in args.iflags
    if name.startswith("/dev/") and not name.startswith(("/dev/stdin", "/dev/fd/")):
        try:
            dev = datapath.open_device(ctx.state, name, direct=direct)
        except OSError as exc:
            raise _Stop(f"dd: failed to open {_quoteaf(name)}: {exc.strerror}", stats=False) from None
        return _Input(name, dev.size, device=dev)
    if not name or name in ("/dev/stdin", "/dev/fd/0"):
        return _Input(name or "standard input", None, reader=ctx.console.read_bytes)
    try:
        fd = os.open(host_file("dd", name), os.O_RDONLY | os.O_CLOEXEC)
    except OSError as exc:
        raise _Stop(f"dd: failed to open {_quoteaf(name)}: {exc.strerror}", stats=False) from None

    def read_file(limit: int) -> bytes:
        with open(fd, "rb") as f:
            return f.read(limit)

    found = _Input(name, None, reader=read_file)
    found.fd = fd
    return found


# Bytes dd reads from a pipe or file when nothing else bounds the copy (no count=, no device end).
MAX_UNBOUNDED_INPUT = 1 << 30


def _input_bound(args: DdArgs, skip: int, limit: int | None, seek: int, out: _Output) -> int:
    """How much of a pipe or file dd can use: count=, else up to one block past the output device's end."""
    if limit is not None:
        return skip + limit
    if out.device is not None and not out.device.is_file:
        return skip + max(0, out.device.size - seek) + max(args.ibs, args.obs)
    return skip + MAX_UNBOUNDED_INPUT


class _Output:
    """Where dd writes to."""

    def __init__(
        self,
        name: str,
        device: Device | None = None,
        fd: int | None = None,
        stdout: bool = False,
        full: bool = False,
        null: bool = False,
    ) -> None:
        self.name = name
        self.device = device
        self.fd = fd
        self.stdout = stdout
        self.full = full  # /dev/full
        self.null = null


def _open_output(ctx: Ctx, args: DdArgs, start: int) -> _Output:
    from lvsim.core import datapath

    name = args.outfile
    if not name or name in ("/dev/stdout", "/dev/fd/1"):
        where = ctx.env.get("LVSIM_STDOUT", "")  # the shim saw stdout closed or on /dev/full
        if where == "closed":
            shown = _quoteaf(name or "standard output")
            raise _Stop(
                f"dd: error writing {shown}: Bad file descriptor\ndd: closing output file {shown}: Bad file descriptor",
                stats=False,
            )
        return _Output(name or "standard output", stdout=True, full=where == "full")
    if name == "/dev/null":
        return _Output(name, null=True)
    if name == "/dev/full":
        return _Output(name, full=True)
    if name.startswith("/dev/") and name not in _GENERATED:
        try:
            dev = datapath.open_device(ctx.state, name, write=True, direct="direct" in args.oflags)
        except OSError as exc:
            raise _Stop(f"dd: failed to open {_quoteaf(name)}: {exc.strerror}", stats=False) from None
        return _Output(name, device=dev)
    flags = os.O_WRONLY | (0 if "nocreat" in args.conv else os.O_CREAT)
    flags |= os.O_EXCL if "excl" in args.conv else 0
    real = host_file("dd", name)
    try:
        fd = os.open(real, flags, 0o666)
        if "notrunc" not in args.conv and os.path.isfile(real):
            os.ftruncate(fd, start)
    except OSError as exc:
        raise _Stop(f"dd: failed to open {_quoteaf(name)}: {exc.strerror}", stats=False) from None
    return _Output(name, fd=fd)


def _write_record(ctx: Ctx, out: _Output, offset: int, rels: list[Extent], n: int, direct: bool) -> None:
    """One write(2) of n bytes; raises DeviceError with the bytes written."""
    from lvsim.core import content, datapath

    if out.null:
        return
    if out.full:
        raise datapath.DeviceError(errno.ENOSPC)
    if out.device is not None:
        if direct and (offset % SECTOR or n % SECTOR):
            raise datapath.DeviceError(errno.EINVAL)
        out.device.put(offset, n, rels)
        return
    raw = content.store_of(ctx.state).materialise(rels, n)
    if out.stdout:
        ctx.console.raw_out(os.fsdecode(raw))  # the shim writes it back as bytes (os.fsencode)
        return
    assert out.fd is not None
    os.pwrite(out.fd, raw, offset)


@command(RawSpec("dd"))
def dd(ctx: Ctx) -> int:
    from lvsim.core import datapath

    args = parse_dd(ctx.args.pos)
    skip = args.skip if "skip_bytes" in args.iflags else args.skip * args.ibs
    seek = args.seek if "seek_bytes" in args.oflags else args.seek * args.obs
    limit = (
        None if args.count is None else args.count if "count_bytes" in args.iflags else args.count * args.ibs
    )
    stats = [0, 0, 0, 0, 0]  # records in full/partial, out full/partial, bytes out
    rc, deferred, waited = 0, "", 0.0
    out: _Output | None = None
    src: _Input | None = None
    try:
        src = _open_input(ctx, args)
        out = _open_output(ctx, args, seek)
        if src.device is not None and skip > src.size:
            raise _Stop(f"dd: {args.infile}: cannot skip: Invalid argument")
        if src.device is None and src.size is not None and skip > src.size and args.infile:
            ctx.console.raw_err(f"dd: {args.infile}: cannot skip to specified offset\n")
        if out.device is not None and seek > out.device.size:
            raise _Stop(f"dd: {args.outfile}: cannot seek: Invalid argument")
        if src.reader is not None and not src.load(ctx, _input_bound(args, skip, limit, seek, out)):
            if limit is None and (out.device is None or out.device.is_file):
                raise _Stop("dd: lvsim does not simulate an endless copy (give count=)")
        if src.size is None and limit is None and (out.device is None or out.device.is_file):
            raise _Stop("dd: lvsim does not simulate an endless copy (give count=)")
        ipos, opos = skip, seek
        end = src.size if limit is None else limit + skip if src.size is None else min(src.size, limit + skip)
        pending: list[Extent] = []
        pending_len = 0
        while end is None or ipos < end:
            n = args.ibs if end is None else min(args.ibs, end - ipos)
            if "direct" in args.iflags and src.device is not None and (ipos % SECTOR or args.ibs % SECTOR):
                raise _Stop(f"dd: error reading {_quoteaf(src.name)}: Invalid argument")
            try:
                rels = src.extents(ipos, n)
            except datapath.DeviceError as exc:
                raise _Stop(f"dd: error reading {_quoteaf(src.name)}: {exc.strerror}") from None
            ipos += n
            stats[0 if n == args.ibs else 1] += 1
            pending += [(s + pending_len, e + pending_len, k, a, b) for s, e, k, a, b in rels]
            pending_len += n
            while pending_len >= args.obs or (pending_len and (end is not None and ipos >= end)):
                w = min(args.obs, pending_len)
                piece = datapath.clip(pending, 0, w)
                direct = "direct" in args.oflags and w == args.obs
                try:
                    _write_record(ctx, out, opos, piece, w, direct)
                except datapath.MappingError as exc:
                    # O_DIRECT sees the bio's own error; O_SYNC the page cache's writeback error (EIO)
                    if "direct" in args.oflags:
                        raise _Stop(f"dd: error writing {_quoteaf(out.name)}: {exc.strerror}") from None
                    if {"sync", "dsync"} & args.oflags:
                        raise _Stop(f"dd: error writing {_quoteaf(out.name)}: Input/output error") from None
                    deferred = deferred or "Input/output error"
                except datapath.DeviceError as exc:
                    done = exc.done if exc.errno == errno.ENOSPC else 0
                    stats[4] += done
                    if done and args.ibs != args.obs:
                        stats[3] += 1
                    raise _Stop(f"dd: error writing {_quoteaf(out.name)}: {exc.strerror}") from None
                stats[2 if w == args.obs else 3] += 1
                stats[4] += w
                opos += w
                pending = datapath.clip(pending, w, pending_len)
                pending_len -= w
        if deferred and ({"fsync", "fdatasync"} & args.conv):
            sync = "fsync" if "fsync" in args.conv else "fdatasync"
            raise _Stop(f"dd: {sync} failed for {_quoteaf(out.name)}: {deferred}")
    except _Stop as stop:
        ctx.console.raw_err(stop.message + "\n")
        rc = 1
        if not stop.stats:
            return rc
    finally:
        if src is not None and src.fd >= 0:
            os.close(src.fd)
        if out is not None:
            if out.fd is not None:
                os.close(out.fd)
            if out.device is not None:
                waited = out.device.waited
    if args.status != "none":
        err = ctx.console.raw_err
        err(f"{stats[0]}+{stats[1]} records in\n{stats[2]}+{stats[3]} records out\n")
        if args.status != "noxfer":
            seconds = _LATENCY + stats[4] / _RATE + waited
            err(transfer_line(stats[4], seconds) + "\n")
    return rc


# ---------------------------------------------------------------------------------------------
# blkdiscard

_BLKDISCARD_LONG = {
    "help": "h",
    "force": "f",
    "length": "l",
    "offset": "o",
    "step": "p",
    "secure": "s",
    "verbose": "v",
    "version": "V",
    "zeroout": "z",
}
_WITH_ARG = {"l", "o", "p"}


def parse_util_size(text: str) -> int:
    """util-linux strtosize: an integer with K/M/G... (1024) or KB/MB... (1000) or KiB... suffixes."""
    m = re.fullmatch(r"(\d+)(?:([KMGTPEZYkmgtpezy])(iB|B)?)?", text)
    if not m:
        raise ValueError(errno.EINVAL)
    value = int(m.group(1))
    if m.group(2):
        base = 1000 if m.group(3) == "B" else 1024
        value *= base ** (_POWERS.index(m.group(2).upper()) + 1)
    if value >= 1 << 64:
        raise ValueError(errno.ERANGE)
    return value


def _busy(dev: Device) -> bool:
    """Whether something holds the device open exclusively (dm on a PV, a mount, a pool)."""
    state = dev.state
    if dev.lv is not None:  # dm holds a snapshot's -real/-cow layers and a pool's sub-LVs
        return dev.lv.open_count > 0 or bool(dev.layer) or dev.lv.role in ("tdata", "tmeta")
    return any(
        seg.pv == dev.disk and (lv.active or (lv.parent and vg.lvs.get(lv.parent, lv).active))
        for vg in state.vgs.values()
        for lv in vg.lvs.values()
        for seg in lv.segments
    )


def _signature(ctx: Ctx, path: str) -> str:
    """What blkid would find on the device: an LVM label or a simulated filesystem."""
    if path in ctx.state.pvs:
        return "LVM2_member"
    from lvsim.core import devmap, fsimage

    dev = devmap.resolve(ctx.state, path)
    found = fsimage.probe(ctx.state, dev) if dev is not None else None
    return found.type if found is not None else ""


@command(RawSpec("blkdiscard"))
def blkdiscard(ctx: Ctx) -> int:
    from lvsim.core import content, datapath

    try:
        opts, pos = getopt_long("blkdiscard", ctx.args.pos, _BLKDISCARD_LONG, _WITH_ARG)
    except Usage as exc:
        raise LvmError(rc=1, raw=f"{exc}\nTry 'blkdiscard --help' for more information.") from None
    offset, length, step = 0, 1 << 64, 0
    mode, force, verbose = "discard", False, False
    for letter, value in opts:
        if letter in _WITH_ARG:
            what = {"o": "offset", "l": "length", "p": "step"}[letter]
            try:
                number = parse_util_size(value)
            except ValueError as exc:
                raise _fail(
                    "blkdiscard", f"failed to parse {what}: '{value}': {os.strerror(exc.args[0])}"
                ) from None
            if letter == "o":
                offset = number
            elif letter == "l":
                length = number
            else:
                step = number
        elif letter == "h":
            ctx.console.raw_out(
                "\nUsage:\n blkdiscard [options] <device>\n\nDiscard the content of sectors on a device.\n"
            )
            return 0
        elif letter == "V":
            ctx.console.raw_out("blkdiscard from util-linux 2.38.1\n")
            return 0
        elif letter == "f":
            force = True
        elif letter == "v":
            verbose = True
        elif letter == "s":
            mode = "secure"
        elif letter == "z":
            mode = "zeroout"
    if not pos:
        raise _fail("blkdiscard", "no device specified")
    if len(pos) > 1:
        raise _try_help("blkdiscard", "unexpected number of arguments")
    path = pos[0]
    try:
        dev = datapath.open_device(ctx.state, path)
    except OSError as exc:
        raise _fail("blkdiscard", f"cannot open {path}: {exc.strerror}") from None
    if dev.is_file:
        raise _fail("blkdiscard", f"{path}: not a block device")
    if not force and _busy(dev):
        raise _fail("blkdiscard", f"cannot open {path}: Device or resource busy")
    if offset % SECTOR:
        raise _fail("blkdiscard", f"{path}: offset {offset} is not aligned to sector size {SECTOR}")
    if offset > dev.size:
        raise _fail("blkdiscard", f"{path}: offset is greater than device size")
    end = min(dev.size, offset + length)
    piece = step or end - offset
    if piece % SECTOR:
        raise _fail("blkdiscard", f"{path}: length {piece} is not aligned to sector size {SECTOR}")
    if force:
        ctx.console.raw_err("blkdiscard: Operation forced, data will be lost!\n")
    elif signature := _signature(ctx, path):
        # with stdin not a terminal, blkdiscard only warns and goes on
        ctx.console.raw_err(f"blkdiscard: {path} contains existing file system ({signature}).\n")
    ioctl = {"discard": "BLKDISCARD", "secure": "BLKSECDISCARD", "zeroout": "BLKZEROOUT"}[mode]
    try:
        if mode == "secure":
            raise datapath.DeviceError(errno.EOPNOTSUPP)
        if mode == "zeroout":
            dev.write(offset, content.zeros(end - offset))
        else:
            dev.discard(offset, end - offset)
    except datapath.DeviceError as exc:
        raise _fail("blkdiscard", f"{path}: {ioctl} ioctl failed: {exc.strerror}") from None
    if verbose and end > offset:
        done = {"discard": "Discarded", "secure": "Discarded", "zeroout": "Zero-filled"}[mode]
        ctx.console.raw_out(f"{path}: {done} {end - offset} bytes from the offset {offset}\n")
    return 0
