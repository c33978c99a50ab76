"""LVM's command-line parsing, driven by the command table (`lvsim.lvm.table`).

Like lvm2 2.03.16: hyphens inside long option names are dropped (--use-policies is --usepolicies),
getopt_long (with glibc's permutation and words) reads the options any definition of the command
mentions, each value is checked by its value type as it is read, then the command line is matched
to one command definition (`lvsim.lvm.table.matching`). --help and --version are answered from the table; what
lvsim does not emulate of the matched definition is refused (`lvsim.lvm.refusal`). Errors carry
LVM's words and exit code 3.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from lvsim.core.context import Args
from lvsim.core.errors import EINVALID_CMD_LINE, ArgError, LvmError
from lvsim.core.units import SizeArg, parse_extents, parse_size
from lvsim.lvm.refusal import check_emulated, refuse
from lvsim.lvm.table import lookup
from lvsim.lvm.table.matching import Given, match
from lvsim.lvm.table.records import Definition

# ---------------------------------------------------------------------------------------------
# Value types (tools/vals.h and the parsing functions of tools/lvmcmdline.c)


def _yes_no(v: str) -> bool:
    if v not in ("y", "n"):
        raise ArgError("")
    return v == "y"


_ACTIVATION = {
    **dict.fromkeys(("y", "e", "ey", "ye", "a", "ay", "ya", "s", "sy", "ys", "ly", "yl"), "y"),
    **dict.fromkeys(("n", "en", "ne", "ln", "nl"), "n"),
}


def _activation(v: str) -> str:
    if v not in _ACTIVATION:
        raise ArgError("")
    return _ACTIVATION[v]


def _choice(*allowed: str, message: str = "") -> Callable[[str], str]:
    def check(v: str) -> str:
        if v not in allowed:
            raise ArgError(message.format(v))
        return v

    return check


def _int(v: str, signs: str, sign_message: str = "") -> int:
    """lvm2's _get_int_arg: an optional sign, then digits and nothing else."""
    sign, digits = (v[0], v[1:]) if v[:1] in ("+", "-") else ("", v)
    if not digits.isdigit():
        raise ArgError("")
    if sign and sign not in signs:
        raise ArgError(sign_message)
    return -int(digits) if sign == "-" else int(digits)


def _size(factor: int, signs: str, sign_message: str) -> Callable[[str], SizeArg]:
    def check(v: str) -> SizeArg:
        arg = parse_size(v, factor)
        if arg.sign and arg.sign not in signs:
            raise ArgError(sign_message)
        return arg

    return check


def _extents(signs: str, sign_message: str) -> Callable[[str], SizeArg]:
    def check(v: str) -> SizeArg:
        arg = parse_extents(v)
        if arg.sign and arg.sign not in signs:
            raise ArgError(sign_message)
        return arg

    return check


_TAG_RE = re.compile(r"[A-Za-z0-9_+.\-/=!:&#]{1,1024}")


def _tag(v: str) -> str:
    tag = v.removeprefix("@")
    if not _TAG_RE.fullmatch(tag):
        raise ArgError("")
    return tag


def _readahead(v: str) -> object:
    if v.lower() in ("auto", "none"):
        return v.lower()
    arg = parse_size(v, 1)
    if arg.sign == "-":
        raise ArgError("")
    return arg


SEGTYPES = frozenset(
    {
        "linear",
        "striped",
        "snapshot",
        "mirror",
        "raid",
        "raid0",
        "raid0_meta",
        "raid1",
        "raid10",
        "raid4",
        "raid5",
        "raid5_la",
        "raid5_ls",
        "raid5_ra",
        "raid5_rs",
        "raid5_n",
        "raid6",
        "raid6_zr",
        "raid6_nr",
        "raid6_nc",
        "raid6_la_6",
        "raid6_ls_6",
        "raid6_ra_6",
        "raid6_rs_6",
        "raid6_n_6",
        "thin",
        "thin-pool",
        "cache",
        "cache-pool",
        "vdo",
        "vdo-pool",
        "writecache",
        "integrity",
        "error",
        "zero",
    }
)


def _pv_copies(n: int) -> int:
    if n not in (0, 1, 2):
        raise ArgError("")
    return n


def _segtype(v: str) -> str:
    if v not in SEGTYPES:
        raise ArgError(f"WARNING: Unrecognised segment type {v}")
    return v


CONVERTERS: dict[str, Callable[[str], object]] = {
    "Bool": _yes_no,
    "Number": lambda v: _int(v, "+"),
    "SNumber": lambda v: _int(v, "+-"),
    "PNumber": lambda v: _int(v, "+", "Number may not be negative."),
    "Uint32": lambda v: _int(v, "+"),
    "Tag": _tag,
    "Active": _activation,
    "CacheMetadataFormat": _choice("auto", "0", "1", "2"),
    "CacheMode": _choice("writethrough", "writeback", "passthrough"),
    "Discards": _choice(
        "ignore", "nopassdown", "passdown", message='Thin pool discards type "{}" is unknown.'
    ),
    "MirrorLog": _choice("core", "disk", "mirrored"),
    "SizeKB": _size(2, "+", "Size may not be negative."),
    "SSizeKB": _size(2, "+-", ""),
    "SizeMB": _size(2048, "", "Size may not be relative/signed."),
    "SSizeMB": _size(2048, "+-", ""),
    "PSizeMB": _size(2048, "+", "Size may not be negative."),
    "NSizeMB": _size(2048, "-", "Size may not be positive."),
    "RegionSize": _size(2048, "+", "Region size may not be negative."),
    "Extents": _extents("", "Extents may not be relative/signed."),
    "SExtents": _extents("+-", ""),
    "PExtents": _extents("+", "Extents may not be negative."),
    "NExtents": _extents("-", "Extents may not be positive."),
    "Permission": _choice("rw", "wr", "r"),
    "MetadataType": _choice("lvm2"),
    "SegType": _segtype,
    "Alloc": _choice("contiguous", "cling", "cling_by_tags", "normal", "anywhere", "inherit"),
    "LockType": _choice("sanlock", "dlm", "none"),
    "Readahead": _readahead,
    "MetadataCopiesVG": lambda v: v.lower() if v.lower() in ("all", "unmanaged") else _int(v, "+"),
    "MetadataCopiesPV": lambda v: _pv_copies(_int(v, "+")),
    "PollOp": _choice("pvmove", "convert", "merge", "merge_thin"),
    "SyncAction": _choice("check", "repair"),
    "ReportFmt": _choice("basic", "json"),
    "ConfigReport": _choice("log", "vg", "lv", "pv", "pvseg", "seg"),
    "ConfigType": _choice(
        "current",
        "default",
        "diff",
        "full",
        "list",
        "missing",
        "new",
        "profilable",
        "profilable-command",
        "profilable-metadata",
    ),
    "RepairType": _choice("pv_header", "metadata", "label_header"),
    "DumpType": _choice(
        "headers", "metadata", "metadata_all", "metadata_search", "metadata_area", "backup_to_raw"
    ),
}


def convert(command: str, key: str, raw: str) -> object:
    """An option's value as the handlers see it; LvmError (LVM's words, exit 3) when LVM rejects it."""
    vtype = lookup.value_type(command, key)
    if vtype == "unused":  # --metadatacopies: the pv or vg flavour
        vtype = "MetadataCopiesPV" if command.startswith("pv") else "MetadataCopiesVG"
    converter = CONVERTERS.get(vtype)
    if converter is None:
        return raw
    try:
        return converter(raw)
    except ArgError as exc:
        lines = [str(exc)] if str(exc) else []
        lines += [
            f"Invalid argument for --{lookup.option(key).long}: {raw}",
            "Error during parsing of command line.",
        ]
        raise LvmError(*lines, rc=EINVALID_CMD_LINE) from None


# ---------------------------------------------------------------------------------------------
# getopt_long


def strip_hyphens(argv: Sequence[str]) -> list[str]:
    """lvm2 drops '-' inside long option names (up to any '='), until a bare '--'."""
    out = []
    for i, arg in enumerate(argv):
        if arg == "--":
            return out + list(argv[i:])
        if arg.startswith("--"):
            name, eq, rest = arg[2:].partition("=")
            arg = "--" + name.replace("-", "") + eq + rest
        out.append(arg)
    return out


@dataclass
class CommandLine:
    """What getopt read: option key -> raw values (in order), converted values by long name, the
    positionals, and how many options were given."""

    raw: dict[str, list[str]]
    values: dict[str, list[object]]
    order: list[str]
    positionals: list[str]
    count: int

    def args(self) -> Args:
        """What a command handler gets: values by long option name, and the positionals."""
        return Args(self.values, self.positionals, self.order)


@functools.cache
def _getopt_names(command: str) -> tuple[dict[str, str], dict[str, str]]:
    """The option keys of a command by long name and by short letter."""
    keys = lookup.valid_options(command)
    longs = {lookup.option(k).long: k for k in keys if lookup.option(k).long}
    shorts = {lookup.option(k).short: k for k in keys if lookup.option(k).short}
    return longs, shorts


def read_options(command: str, argv: Sequence[str]) -> CommandLine:
    """getopt_long over the command's options, converting each value as it is read."""
    longs, shorts = _getopt_names(command)
    line = CommandLine({}, {}, [], [], 0)
    seen: set[str] = set()

    def getopt_error(text: str) -> LvmError:
        # glibc prints its message without indentation; LVM then adds its own line.
        return LvmError(
            "Error during parsing of command line.", rc=EINVALID_CMD_LINE, raw=f"{command}: {text}"
        )

    def store(key: str, raw: str | None) -> None:
        opt = lookup.option(key)
        std = lookup.standard(key, command)
        if key in seen and not opt.countable and not opt.groupable:
            letter = f" -{opt.short}/" if opt.short else " "
            raise LvmError(
                f"Option{letter}--{opt.long} may not be repeated.",
                "Error during parsing of command line.",
                rc=EINVALID_CMD_LINE,
            )
        seen.add(key)
        value = convert(command, key, raw) if raw is not None else None
        long = lookup.option(std).long
        line.raw.setdefault(std, []).append(raw or "")
        line.values.setdefault(long, []).append(value)
        line.order.append(long)
        line.count += 1

    args = strip_hyphens(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            line.positionals.extend(args[i:])
            break
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            if name in longs:
                key = longs[name]
            else:
                found = [k for n, k in longs.items() if n.startswith(name)]
                if len(found) > 1:
                    alts = " ".join(f"'--{lookup.option(k).long}'" for k in found)
                    raise getopt_error(f"option '--{name}' is ambiguous; possibilities: {alts}")
                if not found:
                    raise getopt_error(f"unrecognized option '{arg}'")
                key = found[0]
            long = lookup.option(key).long
            if lookup.option(key).value:
                if eq:
                    store(key, inline)
                elif i < len(args):
                    store(key, args[i])
                    i += 1
                else:
                    raise getopt_error(f"option '--{long}' requires an argument")
            elif eq:
                raise getopt_error(f"option '--{long}' doesn't allow an argument")
            else:
                store(key, None)
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                key = shorts.get(letter, "")
                if not key:
                    raise getopt_error(f"invalid option -- '{letter}'")
                if lookup.option(key).value:
                    if j < len(arg):
                        store(key, arg[j:])
                    elif i < len(args):
                        store(key, args[i])
                        i += 1
                    else:
                        raise getopt_error(f"option requires an argument -- '{letter}'")
                    break
                store(key, None)
        else:
            line.positionals.append(arg)
    return line


def parse_lvm(command: str, argv: Sequence[str]) -> tuple[CommandLine, Definition]:
    """Read a command line and match it to a definition (LvmError with LVM's words if none fits);
    options the definition ignores are dropped, as lvm2 does."""
    line = read_options(command, argv)
    given = Given(
        command,
        line.raw,
        line.positionals,
        option_count=line.count,
        verbose_count=len(line.raw.get("verbose", [])),
    )
    definition = match(given)
    for spec in definition.ignored:
        key = lookup.split_spec(spec)[0]
        if key in line.raw:
            del line.raw[key]
            long = lookup.option(key).long
            line.values.pop(long, None)
            line.order = [o for o in line.order if o != long]
    return line, definition


class Reply(LvmError):
    """Not a failure: the whole answer of a command line (--help, --version), exit code 0."""

    def __init__(self, stdout: str) -> None:
        super().__init__(rc=0, stdout=stdout)


@dataclass
class LvmSpec:
    """An LVM command: its options, definitions, usage and what lvsim emulates come from the table."""

    name: str

    def parse(self, argv: Sequence[str]) -> Args:
        line, definition = parse_lvm(self.name, argv)
        from lvsim.lvm.table.helptext import command_help, version_text

        if "help" in line.raw or "longhelp" in line.raw:
            if "longhelp" in line.raw:
                refuse(f"{self.name} --longhelp")
            raise Reply(command_help(self.name))
        if "version" in line.raw:
            raise Reply(version_text())
        check_emulated(self.name, definition, line)
        return line.args()
