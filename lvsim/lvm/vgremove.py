"""vgremove."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.model import VG, State
from lvsim.core.names import find_vg
from lvsim.lvm.lvremove import processing_order, remove_lvs
from lvsim.lvm.parser import LvmSpec


def remove_vg(state: State, vg: VG) -> None:
    for device in vg.pvs:
        pv = state.pvs[device]
        pv.vg, pv.pe_count = None, 0
    del state.vgs[vg.name]


@command(LvmSpec("vgremove"))
def vgremove(ctx: Ctx) -> int:
    rc = 0
    for name in ctx.args.pos:
        try:
            vg = find_vg(ctx.state, name)
            visible = [lv for lv in vg.lvs.values() if lv.visible]
            if visible and not ctx.args.has("force"):
                question = (
                    f'Do you really want to remove volume group "{name}" containing '
                    f"{len(visible)} logical volumes? [y/n]: "
                )
                if not ctx.args.has("yes") and not ctx.console.prompt(question):
                    raise LvmError(f'Volume group "{name}" not removed')
            order = processing_order(vg, {lv.name for lv in visible})  # thin pools first
            if remove_lvs(ctx, vg, order, stop_on_error=True) != 0:
                raise LvmError()
            remove_vg(ctx.state, vg)
            ctx.console.print(f'Volume group "{name}" successfully removed')
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc
