"""lvm help: LVM's list of commands, or the usage of the commands named."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE
from lvsim.lvm.common import run_help
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse
from lvsim.lvm.table import lookup
from lvsim.lvm.table.helptext import command_help, lvm_help


@command(LvmSpec("help"))
def lvm_help_command(ctx: Ctx) -> int:
    names = ctx.args.pos
    if not names:
        for line in lvm_help():
            ctx.console.error(line)
        return 0
    if names == ["all"]:
        refuse("lvm help all")
    rc = 0
    for name in names:
        if lookup.is_command(name):
            ctx.console.raw_out(command_help(name))
        else:
            ctx.console.print(f"{name}: no such command.")
            rc = EINVALID_CMD_LINE
    if rc:
        ctx.console.error(run_help("help"))
    return rc
