"""vgremove."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, NOT_EMULATED, LvmError
from lvsim.core.model import VG, State
from lvsim.lvm import missing_pvs
from lvsim.lvm.lvremove import processing_order, remove_lvs_committed
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse


def remove_vg(state: State, vg: VG) -> None:
    for device in vg.pvs:
        pv = state.pvs[device]
        if pv.missing:  # its label is gone: nothing of it is left
            del state.pvs[device]
        pv.vg, pv.pe_count = None, 0
    del state.vgs[vg.name]


@command(LvmSpec("vgremove"))
def vgremove(ctx: Ctx) -> int:
    rc = 0
    for name in ctx.args.pos:
        try:
            vg = missing_pvs.update_vg(ctx, name)
            if missing_pvs.missing_pvs(ctx.state, vg) and not ctx.args.has("force"):
                refuse(f"vgremove of VG {name} with missing PVs without --force")  # recorded: -f
            visible = [lv for lv in vg.lvs.values() if lv.visible]
            if visible and not ctx.args.has("force"):
                question = (
                    f'Do you really want to remove volume group "{name}" containing '
                    f"{len(visible)} logical volumes? [y/n]: "
                )
                if not ctx.args.has("yes") and not ctx.console.prompt(question):
                    raise LvmError(f'Volume group "{name}" not removed')
            order = processing_order(vg, {lv.name for lv in visible})  # thin pools first
            if remove_lvs_committed(ctx, vg, order, stop_on_error=True) != 0:
                raise LvmError()
            remove_vg(ctx.state, vg)
            ctx.console.print(f'Volume group "{name}" successfully removed')
        except LvmError as exc:
            if exc.rc == NOT_EMULATED:
                raise
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc
