"""cat (GNU coreutils 9.1): files, standard input, the simulated LVM directory's metadata files and
simulated block devices, with all of cat's options; --help and --version are not emulated.
"""

from __future__ import annotations

import os

from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.errors import NOT_EMULATED
from lvsim.tools.toolkit import Usage, c_argv, fail, getopt_long, host_file

_LONG = {
    "show-all": "A",
    "number-nonblank": "b",
    "show-ends": "E",
    "number": "n",
    "squeeze-blank": "s",
    "show-tabs": "T",
    "show-nonprinting": "v",
    "help": "\1",
    "version": "\2",
    **{f"\0{letter}": letter for letter in "etu"},  # letters without a long name (no argv has a NUL)
}
_MEANS = {"A": "vET", "e": "vE", "t": "vT", "u": ""}


class _Format:
    """cat's line numbering, blank squeezing and visible characters, across all inputs."""

    def __init__(self, flags: set[str]) -> None:
        self.flags = flags
        self.line = 0
        self.blanks = 0
        self.at_start = True

    def plain(self) -> bool:
        return not self.flags & set("bnsETv")

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for line in data.splitlines(keepends=True):
            ended = line.endswith(b"\n")
            body = line[:-1] if ended else line
            starting = self.at_start
            self.at_start = ended
            if starting and not body and ended:
                self.blanks += 1
                if "s" in self.flags and self.blanks > 1:
                    continue
            elif starting:
                self.blanks = 0
            if starting and (("n" in self.flags and "b" not in self.flags) or ("b" in self.flags and body)):
                self.line += 1
                out += f"{self.line:6d}\t".encode()
            out += self._visible(body)
            if ended:
                out += b"$\n" if "E" in self.flags else b"\n"
        return bytes(out)

    def _visible(self, body: bytes) -> bytes:
        if not self.flags & set("Tv"):
            return body
        out = bytearray()
        for byte in body:
            if byte == 9 and "T" in self.flags:
                out += b"^I"
            elif "v" in self.flags and byte != 9:
                out += _nonprinting(byte)
            else:
                out.append(byte)
        return bytes(out)


def _nonprinting(byte: int) -> bytes:
    prefix = b""
    if byte >= 128:
        prefix, byte = b"M-", byte - 128
    if byte < 32:
        return prefix + b"^" + bytes([byte + 64])
    if byte == 127:
        return prefix + b"^?"
    return prefix + bytes([byte])


def _read(ctx: Ctx, name: str) -> bytes:
    """The bytes of one input; OSError when it cannot be read."""
    from lvsim.core import datapath, devmap
    from lvsim.lvm.metadata import files

    if name == "-":
        stream = ctx.console._stdin
        data = stream.read()
        return data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
    absolute = os.path.normpath(os.path.join(os.getcwd(), name))
    if absolute in ctx.state.lvm_files:
        text = files.text_of(ctx.state, absolute)
        if text is None:
            raise fail(f"lvsim: cat: {name}: the simulator no longer keeps this archive's text", NOT_EMULATED)
        return text.encode("utf-8", "surrogateescape")
    if name.startswith("/dev/") and devmap.resolve(ctx.state, name) is not None:
        dev = devmap.resolve(ctx.state, name)
        assert dev is not None
        return datapath.read(ctx.state, name, 0, dev.size)
    real = host_file("cat", name)
    if os.path.isdir(real):
        raise IsADirectoryError(21, "Is a directory")
    with open(real, "rb") as f:
        return f.read()


@command(RawSpec("cat"))
def cat(ctx: Ctx) -> int:
    try:
        opts, names = getopt_long("cat", c_argv(ctx), _LONG, ())
    except Usage as exc:
        raise fail(f"{exc}\nTry 'cat --help' for more information.", 1) from None
    flags: set[str] = set()
    for letter, _ in opts:
        if letter in ("\1", "\2"):
            raise fail(
                f"lvsim: cat --{'help' if letter == chr(1) else 'version'} is not emulated", NOT_EMULATED
            )
        flags |= set(_MEANS.get(letter, letter))
    fmt = _Format(flags)
    rc = 0
    out = bytearray()
    for name in names or ["-"]:
        try:
            data = _read(ctx, name)
        except OSError as exc:
            ctx.console.raw_out(out.decode("utf-8", "surrogateescape"))
            out.clear()
            ctx.console.raw_err(f"cat: {name}: {exc.strerror}\n")
            rc = 1
            continue
        out += data if fmt.plain() else fmt.feed(data)
    ctx.console.raw_out(out.decode("utf-8", "surrogateescape"))
    return rc
