"""Higher-level steps as the command lines they stand for.

Every step that does something becomes one or more `Command`s: the same argv `lvsim run` executes
is what `lvsim render` writes into bash.  Host commands (HOST_COMMANDS: mktemp, mkdir, cp, cat, ...)
work on the host's files and run as plain processes; every other command goes to the backend (the
simulator or real LVM), which is where LVM, dd, mkfs, mount, kpartx, dmsetup and rsync live.
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from lvsim.core.units import parse_size
from lvsim.scenarios.loader import ScenarioError, Step, Where, substitute

# Commands that work on the host's files (never LVM's business): run as plain processes.
HOST_COMMANDS = frozenset({"mktemp", "mkdir", "rmdir", "cp", "cat", "diff", "test"})
# dd block sizes tried for a write, largest first: the first that divides offset and size is used.
DD_BLOCK_SIZES = (4 << 20, 1 << 20, 64 << 10, 4 << 10, 512)


@dataclass(frozen=True)
class Command:
    """One command line: where it runs, and what its standard input is."""

    argv: tuple[str, ...]
    stdin: str = ""

    @property
    def host(self) -> bool:
        """True for a host file command (mktemp, cp, ...), False for one the backend runs."""
        return self.argv[0] in HOST_COMMANDS

    @property
    def cmdline(self) -> str:
        return shlex.join(self.argv)


def size_bytes(text: str, where: Where) -> int:
    """A size in LVM's syntax (default unit MiB; b for bytes, s for sectors) in bytes."""
    try:
        arg = parse_size(text, 2048)
    except Exception as exc:
        raise ScenarioError([f"{where}: invalid size {text!r}"]) from exc
    if arg.sign or arg.percent:
        raise ScenarioError([f"{where}: invalid size {text!r}"])
    return arg.value * 512


def _size_text(nbytes: int) -> str:
    for unit, factor in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if nbytes % factor == 0:
            return f"{nbytes // factor}{unit}"
    return str(nbytes)


def commands(step: Step, values: Mapping[str, str]) -> list[Command]:
    """The command lines of a step, with variables substituted (none for compute and var asserts)."""

    def sub(value: Any) -> str:
        return substitute(str(value), values, step.where)

    body = step.body
    kind = step.kind
    stdin = sub(step.spec.get("stdin", ""))
    if kind in ("run", "expect_failure"):
        argv = shlex.split(body) if isinstance(body, str) else [str(a) for a in body]
        return [Command(tuple(sub(a) for a in argv), stdin)]
    if kind == "write":
        return [_write(body, sub, step.where)]
    if kind == "mkfs":
        force = ["-f" if body["type"] == "xfs" else "-F"] if body.get("force") else []
        label = ["-L", sub(body["label"])] if "label" in body else []
        return [Command((f"mkfs.{body['type']}", "-q", *force, *label, sub(body["device"])))]
    if kind == "mount":
        options = body.get("options", [])
        options = ",".join(options) if isinstance(options, list) else options
        argv = ["mount"]
        if body.get("verbose"):
            argv.append("-v")
        if "type" in body:
            argv += ["-t", sub(body["type"])]
        if options:
            argv += ["-o", sub(options)]
        return [Command((*argv, sub(body["device"]), sub(body["mountpoint"])))]
    if kind == "umount":
        return [Command(("umount", sub(body)))]
    if kind == "mktemp":
        return [Command(("mktemp", "-d"))]
    if kind == "mkdir":
        return [Command(("mkdir", "-p", sub(body)))]
    if kind == "rmdir":
        return [Command(("rmdir", sub(body)))]
    if kind == "write_file":
        return [Command(("cp", "/dev/stdin", sub(body["path"])), sub(body["content"]))]
    if kind == "copy":
        return [Command(("cp", "-a", sub(body["from"]), sub(body["to"])))]
    if kind == "rsync":
        delete = ("--delete",) if body.get("delete") else ()
        return [Command(("rsync", "-aq", *delete, sub(body["from"]), sub(body["to"])))]
    if kind == "assert":
        return _assert_commands(body, sub)
    return []


# The program each higher-level step runs (run and expect_failure name theirs).
KIND_TOOLS = {
    "write": "dd",
    "mount": "mount",
    "umount": "umount",
    "mktemp": "mktemp",
    "mkdir": "mkdir",
    "rmdir": "rmdir",
    "write_file": "cp",
    "copy": "cp",
    "rsync": "rsync",
}


def tools(steps: Sequence[Step]) -> set[str]:
    """The programs a scenario's steps run (report asserts run lvs/vgs/pvs, file asserts host tools)."""
    found: set[str] = set()
    for step in steps:
        body = step.body
        if step.kind in ("run", "expect_failure"):
            found.add(shlex.split(body)[0] if isinstance(body, str) else str(body[0]))
        elif step.kind == "mkfs":
            found.add(f"mkfs.{body['type']}")
        elif step.kind == "assert":
            target = next((k for k in ("lv", "vg", "pv") if k in body), None)
            if target:
                found.add(f"{target}s")
            elif "file" in body:
                found.add("test" if "absent" in body else "diff" if "same_as" in body else "cat")
        elif step.kind in KIND_TOOLS:
            found.add(KIND_TOOLS[step.kind])
    return found


def _write(body: Mapping[str, Any], sub: Any, where: Where) -> Command:
    """dd writing zeros, random bytes or a repeated text pattern with O_DIRECT."""
    offset = size_bytes(sub(body.get("offset", "0b")), where)
    size = size_bytes(sub(body["size"]), where)
    bs = next((b for b in DD_BLOCK_SIZES if offset % b == 0 and size % b == 0), None)
    if bs is None or size == 0:
        raise ScenarioError([f"{where}: write offset and size must be non-zero multiples of 512 bytes"])
    operands = [f"of={sub(body['device'])}", f"bs={_size_text(bs)}", f"count={size // bs}"]
    if offset:
        operands.append(f"seek={offset // bs}")
    if "pattern" in body:
        pattern = sub(body["pattern"])
        data = (pattern * (size // len(pattern) + 1))[:size]
        return Command(
            ("dd", "if=/dev/stdin", *operands, "iflag=fullblock", "oflag=direct", "status=none"), data
        )
    source = "/dev/urandom" if body.get("fill") == "random" else "/dev/zero"
    return Command(("dd", f"if={source}", *operands, "oflag=direct", "status=none"))


def _assert_commands(body: Mapping[str, Any], sub: Any) -> list[Command]:
    """Report asserts read through Backend.report (the runner does that); file asserts run here."""
    if "file" not in body:
        return []
    path = sub(body["file"])
    if "absent" in body:
        return [Command(("test", "!", "-e", path))]
    if "same_as" in body:
        return [Command(("diff", "-r", path, sub(body["same_as"])))]
    return [Command(("cat", path))]
