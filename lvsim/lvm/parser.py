"""LVM's command-line parsing: getopt_long with permutation, then typed option values.

Each command declares the options it takes (`CommandSpec`); parsing errors are
reported with glibc getopt's and LVM's own words and exit code 3.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from lvsim.core.context import Args
from lvsim.core.errors import EINVALID_CMD_LINE, ArgError, LvmError
from lvsim.core.units import SizeArg, parse_extents, parse_size

# long option name -> value type ("" = takes no argument)
OPTION_TYPES: dict[str, str] = {
    "activate": "activation",
    "addtag": "string",
    "aligned": "",
    "all": "",
    "alloc": "alloc",
    "allocatable": "yes_no",
    "autobackup": "yes_no",
    "binary": "",
    "chunksize": "size_kb",
    "config": "string",
    "contiguous": "yes_no",
    "dataalignment": "size_kb",
    "debug": "",
    "deltag": "string",
    "discards": "discards",
    "errorwhenfull": "yes_no",
    "extents": "extents",
    "force": "",
    "help": "",
    "ignoreactivationskip": "",
    "major": "number",
    "maxphysicalvolumes": "number",
    "merge": "",
    "metadatasize": "size_mb",
    "minor": "number",
    "monitor": "yes_no",
    "name": "string",
    "nameprefixes": "",
    "noheadings": "",
    "nosuffix": "",
    "options": "string",
    "permission": "permission",
    "persistent": "yes_no",
    "physicalextentsize": "size_mb",
    "poolmetadata": "string",
    "poolmetadatasize": "size_mb",
    "poolmetadataspare": "yes_no",
    "pvmetadatacopies": "number",
    "quiet": "",
    "readahead": "string",
    "refresh": "",
    "removemissing": "",
    "noudevsync": "",
    "reportformat": "reportformat",
    "resizeable": "yes_no",
    "resizefs": "",
    "rows": "",
    "segments": "",
    "select": "string",
    "separator": "string",
    "setactivationskip": "yes_no",
    "size": "size_mb",
    "snapshot": "",
    "sort": "string",
    "test": "",
    "thin": "",
    "thinpool": "string",
    "type": "segtype",
    "units": "units",
    "unbuffered": "",
    "use-policies": "",
    "verbose": "",
    "version": "",
    "virtualsize": "size_mb",
    "wipesignatures": "yes_no",
    "yes": "",
    "zero": "yes_no",
}

COMMON_OPTIONS = {
    "config": None,
    "debug": "d",
    "help": "h",
    "quiet": "q",
    "test": "t",
    "verbose": "v",
    "version": None,
    "yes": "y",
}

SEGTYPES = {"linear", "striped", "thin", "thin-pool", "snapshot", "error", "zero", "raid1", "mirror", "cache"}


@dataclass
class CommandSpec:
    """The options one command accepts: long name -> short letter (or None)."""

    name: str
    options: dict[str, str | None]
    # per-command value-type overrides, e.g. lvextend's signed --size
    types: dict[str, str] = field(default_factory=dict)

    def all_options(self) -> dict[str, str | None]:
        return {**COMMON_OPTIONS, **self.options}

    def value_type(self, long: str) -> str:
        return self.types.get(long, OPTION_TYPES.get(long, ""))

    def parse(self, argv: Sequence[str]) -> Args:
        return parse(self, argv)


def _value_error(option: str, value: str, message: str) -> LvmError:
    lines = [message] if message else []
    lines += [f"Invalid argument for --{option}: {value}", "Error during parsing of command line."]
    return LvmError(*lines, rc=EINVALID_CMD_LINE)


def _yes_no(v: str) -> bool:
    if v not in ("y", "n"):
        raise ArgError("")
    return v == "y"


def _activation(v: str) -> str:
    table = {
        "y": "y",
        "n": "n",
        "e": "y",
        "ey": "y",
        "ye": "y",
        "ay": "y",
        "a": "y",
        "ya": "y",
        "en": "n",
        "ne": "n",
        "ly": "y",
        "yl": "y",
        "ln": "n",
        "nl": "n",
        "s": "y",
        "sy": "y",
        "ys": "y",
    }
    if v not in table:
        raise ArgError("")
    return table[v]


def _choice(*allowed: str) -> Callable[[str], str]:
    def check(v: str) -> str:
        if v not in allowed:
            raise ArgError("")
        return v

    return check


def _discards(v: str) -> str:
    if v not in ("ignore", "nopassdown", "passdown"):
        raise ArgError(f'Thin pool discards type "{v}" is unknown.')
    return v


def _number(v: str) -> int:
    if not v.isdigit():
        raise ArgError("")
    return int(v)


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


def _segtype(v: str) -> str:
    if v not in SEGTYPES:
        raise ArgError("")
    return v


def _units(v: str) -> str:
    from lvsim.core.units import units_factor

    if units_factor(v) is None:
        raise ArgError("")
    return v


CONVERTERS: dict[str, Callable[[str], object]] = {
    "string": str,
    "yes_no": _yes_no,
    "activation": _activation,
    "alloc": _choice("contiguous", "cling", "cling_by_tags", "normal", "anywhere", "inherit"),
    "discards": _discards,
    "permission": _choice("r", "rw", "wr"),
    "reportformat": _choice("basic", "json"),
    "number": _number,
    "segtype": _segtype,
    "units": _units,
    "size_mb": _size(2048, "+", "Size may not be negative."),
    "ssize_mb": _size(2048, "+-", ""),
    "psize_mb": _size(2048, "+", "Size may not be negative."),
    "nsize_mb": _size(2048, "-", "Size may not be positive."),
    "size_kb": _size(2, "+", "Size may not be negative."),
    "extents": _extents("+", "Extents may not be negative."),
    "sextents": _extents("+-", ""),
    "pextents": _extents("+", "Extents may not be negative."),
    "nextents": _extents("-", "Extents may not be positive."),
}


def parse(spec: CommandSpec, argv: Sequence[str]) -> Args:
    """Parse argv (without the command name) like getopt_long with LVM's option table."""
    options = spec.all_options()
    shorts = {s: long for long, s in options.items() if s}
    opts: dict[str, list[object]] = {}
    given: list[str] = []
    pos: list[str] = []
    prog = spec.name

    def getopt_error(text: str) -> LvmError:
        # glibc prints its message without indentation; LVM then adds its own line.
        return LvmError("Error during parsing of command line.", rc=EINVALID_CMD_LINE, raw=f"{prog}: {text}")

    def store(long: str, raw: str | None) -> None:
        vtype = spec.value_type(long)
        value: object = None
        if vtype:
            try:
                value = CONVERTERS[vtype](raw or "")
            except ArgError as exc:
                raise _value_error(long, raw or "", str(exc)) from None
        opts.setdefault(long, []).append(value)
        given.append(long)

    i = 0
    args = list(argv)
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            pos.extend(args[i:])
            break
        if arg.startswith("--"):
            name, eq, inline = arg[2:].partition("=")
            if name in options:
                long = name
            else:
                matches = [o for o in options if o.startswith(name)]
                if len(matches) == 1:
                    long = matches[0]
                elif len(matches) > 1:
                    alts = " ".join(f"'--{m}'" for m in matches)
                    raise getopt_error(f"option '--{name}' is ambiguous; possibilities: {alts}")
                else:
                    raise getopt_error(f"unrecognized option '{arg}'")
            if spec.value_type(long):
                if eq:
                    store(long, inline)
                elif i < len(args):
                    store(long, args[i])
                    i += 1
                else:
                    raise getopt_error(f"option '--{long}' requires an argument")
            else:
                if eq:
                    raise getopt_error(f"option '--{long}' doesn't allow an argument")
                store(long, None)
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                long = shorts.get(letter)
                if long is None:
                    raise getopt_error(f"invalid option -- '{letter}'")
                if spec.value_type(long):
                    if j < len(arg):
                        store(long, arg[j:])
                    elif i < len(args):
                        store(long, args[i])
                        i += 1
                    else:
                        raise getopt_error(f"option requires an argument -- '{letter}'")
                    break
                store(long, None)
        else:
            pos.append(arg)
    return Args(opts, pos, given)
