"""Errors carrying LVM's own words and exit codes."""

from __future__ import annotations

ENO_SUCH_CMD = 2
EINVALID_CMD_LINE = 3
ECMD_FAILED = 5
# lvsim's own exit code for what it does not emulate (`lvsim: ... is not emulated`); LVM's are 0-5.
NOT_EMULATED = 95


class LvmError(Exception):
    """A command failure: `lines` go to stderr (each indented by two spaces), then exit with `rc`."""

    def __init__(self, *lines: str, rc: int = ECMD_FAILED, raw: str = "", stdout: str = "") -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.rc = rc
        self.raw = raw  # a line printed first, unindented (glibc getopt's messages)
        self.stdout = stdout  # text for stdout (the usage LVM shows with a syntax error)


class ArgError(Exception):
    """A bad option value; the message (possibly empty) is printed before LVM's 'Invalid argument' line."""
