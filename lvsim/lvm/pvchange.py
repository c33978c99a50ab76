"""pvchange."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.lvm.common import no_syntax
from lvsim.lvm.parser import CommandSpec


@command(CommandSpec("pvchange", {"allocatable": "x", "all": "a", "addtag": None, "deltag": None}))
def pvchange(ctx: Ctx) -> int:
    if not ctx.args.pos or not ctx.args.has("allocatable"):
        raise no_syntax("pvchange")
    rc = 0
    for device in ctx.args.pos:
        pv = ctx.state.pvs.get(device)
        if pv is None:
            ctx.console.error(f'Failed to find physical volume "{device}".')
            rc = ECMD_FAILED
            continue
        pv.allocatable = bool(ctx.args.get("allocatable"))
        if pv.vg:
            ctx.state.vgs[pv.vg].seqno += 1
        ctx.console.print(f'Physical volume "{device}" changed')
    ctx.console.print(f"{len(ctx.args.pos)} physical volume changed / 0 physical volumes not changed")
    return rc
