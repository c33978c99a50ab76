"""pvremove."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("pvremove"))
def pvremove(ctx: Ctx) -> int:
    rc = 0
    for device in ctx.args.pos:
        pv = ctx.state.pvs.get(device)
        if device not in ctx.state.disks:
            ctx.console.error(f"No device found for {device}.")
            rc = ECMD_FAILED
            continue
        if pv is None:
            ctx.console.error(f"No PV found on device {device}.")
            rc = ECMD_FAILED
            continue
        if pv.vg:
            if ctx.args.count("force") < 2:
                ctx.console.error(f"PV {device} is used by VG {pv.vg} so please use vgreduce first.")
                ctx.console.error(
                    "(If you are certain you need pvremove, then confirm by using --force twice.)"
                )
                ctx.console.error(f"{device}: physical volume label not removed.")
                rc = ECMD_FAILED
                continue
            ctx.console.warn(f"PV {device} is used by VG {pv.vg}.")
            if not ctx.args.has("yes") and not ctx.console.prompt(
                f'Really WIPE LABELS from physical volume "{device}" of volume group "{pv.vg}" [y/n]? '
            ):
                ctx.console.error(f"{device}: physical volume label not removed.")
                rc = ECMD_FAILED
                continue
            vg = ctx.state.vgs[pv.vg]
            vg.pvs.remove(device)
        del ctx.state.pvs[device]
        ctx.console.print(f'Labels on physical volume "{device}" successfully wiped.')
    return rc
