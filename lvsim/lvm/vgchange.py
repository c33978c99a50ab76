"""vgchange: activation, allocation policy, resizeable, refresh."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.model import State
from lvsim.core.names import find_vg
from lvsim.lvm.common import set_active
from lvsim.lvm.parser import LvmSpec


def scan_order(state: State) -> list[str]:
    """The order LVM walks all VGs in: by their first PV in device order, last found first."""
    disks = list(state.disks)
    return sorted(state.vgs, key=lambda n: -min((disks.index(d) for d in state.vgs[n].pvs), default=0))


@command(LvmSpec("vgchange"))
def vgchange(ctx: Ctx) -> int:
    names = ctx.args.pos or scan_order(ctx.state)
    changes = [o for o in ("alloc", "resizeable") if ctx.args.has(o)]
    rc = 0
    for name in names:
        try:
            vg = find_vg(ctx.state, name)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
            continue
        if ctx.args.has("activate"):
            on = ctx.args.get("activate") == "y"
            for lv in vg.lvs.values():
                if lv.visible and (not on or not lv.skip_activation or ctx.args.has("ignoreactivationskip")):
                    set_active(ctx, vg, lv, on)
            active = sum(1 for lv in vg.lvs.values() if lv.visible and lv.active)
            ctx.console.print(f'{active} logical volume(s) in volume group "{name}" now active')
        if changes:
            if ctx.args.has("alloc"):
                vg.alloc = str(ctx.args.get("alloc"))
            if ctx.args.has("resizeable"):
                vg.resizeable = bool(ctx.args.get("resizeable"))
            vg.seqno += 1
            ctx.console.print(f'Volume group "{name}" successfully changed')
    return rc
