"""What the non-LVM tools share: getopt as glibc does it, C argv, their error form, util-linux sizes."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from lvsim.core.context import Ctx
from lvsim.core.errors import LvmError


class Usage(Exception):
    """A command-line error, with the text the tool prints for it."""


def getopt(prog: str, argv: Sequence[str], spec: str) -> tuple[list[tuple[str, str]], list[str]]:
    """POSIX-style short options (spec as for getopt(3)), permuting positional arguments like glibc."""
    opts: list[tuple[str, str]] = []
    pos: list[str] = []
    args = list(argv)
    i = 0
    while i < len(args):
        arg = args[i]
        i += 1
        if arg == "--":
            pos += args[i:]
            break
        if not arg.startswith("-") or arg == "-" or arg.startswith("--"):
            if arg.startswith("--"):
                raise Usage(f"{prog}: unrecognized option '{arg}'")
            pos.append(arg)
            continue
        j = 1
        while j < len(arg):
            letter = arg[j]
            j += 1
            at = spec.find(letter)
            if at < 0 or letter == ":":
                raise Usage(f"{prog}: invalid option -- '{letter}'")
            if spec[at + 1 : at + 2] == ":":
                if j < len(arg):
                    opts.append((letter, arg[j:]))
                elif i < len(args):
                    opts.append((letter, args[i]))
                    i += 1
                else:
                    raise Usage(f"{prog}: option requires an argument -- '{letter}'")
                break
            opts.append((letter, ""))
    return opts, pos


def parse_options(
    ctx: Ctx, prog: str, spec: str, usage: str | None = None
) -> tuple[list[tuple[str, str]], list[str]]:
    """The tool's options by `getopt`; a usage error fails with rc 1, the message, then `usage`
    (by default util-linux's "Try '<prog> --help' for more information.")."""
    try:
        return getopt(prog, c_argv(ctx), spec)
    except Usage as exc:
        tail = f"Try '{prog} --help' for more information." if usage is None else usage
        raise fail(f"{exc}\n{tail}".rstrip("\n"), 1) from None


def c_argv(ctx: Ctx) -> list[str]:
    """The arguments as a C program receives them: each ends at its first NUL."""
    return [a.split("\0", 1)[0] for a in ctx.args.pos]


def fail(text: str, rc: int) -> LvmError:
    return LvmError(rc=rc, raw=text)


def human_size(nbytes: int) -> str:
    """util-linux size_to_human_string with a space and three-letter suffixes ("1.2 GiB")."""
    exp = 0
    while exp < 60 and nbytes >= 1 << (exp + 10):
        exp += 10
    dec, frac = (nbytes >> exp, nbytes & ((1 << exp) - 1)) if exp else (nbytes, 0)
    letter = " KMGTPE"[exp // 10]
    suffix = f" {letter}iB" if exp else " B"
    if frac:
        frac = (frac // (1 << (exp - 10)) + 50) // 100
        if frac == 10:
            dec, frac = dec + 1, 0
    return f"{dec}.{frac}{suffix}" if frac else f"{dec}{suffix}"


def getopt_long(
    prog: str, argv: Sequence[str], longopts: dict[str, str], with_arg: Collection[str]
) -> tuple[list[tuple[str, str]], list[str]]:
    """glibc getopt_long: long options (unique prefixes too) -> short letters (`longopts`), the letters
    in `with_arg` taking a value; positional arguments permuted.  Errors raise `Usage`."""
    opts: list[tuple[str, str]] = []
    pos: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if arg == "--":
            pos += argv[i:]
            break
        if arg.startswith("--"):
            name, eq, value = arg[2:].partition("=")
            matches = [o for o in longopts if o.startswith(name)] if name not in longopts else [name]
            if len(matches) != 1:
                if matches:
                    alts = " ".join(f"'--{m}'" for m in matches)
                    raise Usage(f"{prog}: option '--{name}' is ambiguous; possibilities: {alts}")
                raise Usage(f"{prog}: unrecognized option '{arg}'")
            letter = longopts[matches[0]]
            if letter in with_arg:
                if not eq:
                    if i >= len(argv):
                        raise Usage(f"{prog}: option '--{matches[0]}' requires an argument")
                    value = argv[i]
                    i += 1
                opts.append((letter, value))
            elif eq:
                raise Usage(f"{prog}: option '--{matches[0]}' doesn't allow an argument")
            else:
                opts.append((letter, ""))
        elif arg.startswith("-") and len(arg) > 1:
            j = 1
            while j < len(arg):
                letter = arg[j]
                j += 1
                if letter not in longopts.values():
                    raise Usage(f"{prog}: invalid option -- '{letter}'")
                if letter in with_arg:
                    if j < len(arg):
                        value = arg[j:]
                    elif i < len(argv):
                        value = argv[i]
                        i += 1
                    else:
                        raise Usage(f"{prog}: option requires an argument -- '{letter}'")
                    opts.append((letter, value))
                    break
                opts.append((letter, ""))
        else:
            pos.append(arg)
    return opts, pos


def host_file(prog: str, path: str) -> str:
    """The real path of a host file a tool names (see lvsim.core.hostpaths), or the tool fails with
    lvsim's refusal when the running scenario may not touch it."""
    from lvsim.core import hostpaths
    from lvsim.core.errors import NOT_EMULATED

    try:
        return hostpaths.host_path(path)
    except hostpaths.Refused as exc:
        raise fail(f"lvsim: {prog}: {exc}", NOT_EMULATED) from None
