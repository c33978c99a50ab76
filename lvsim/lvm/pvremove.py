"""pvremove."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.lvm.missing_pvs import lose_pv, vgs_missing_pvs
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse
from lvsim.lvm.report.view import VgView


@command(LvmSpec("pvremove"))
def pvremove(ctx: Ctx) -> int:
    if ctx.args.count("force") < 2 and vgs_missing_pvs(ctx.state):
        refuse("pvremove without -ff while a VG has missing PVs")  # recorded: -ff of a VG's PV
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
            ctx.console.warn(f'Wiping physical volume label from {device} of volume group "{vg.name}".')
            view = VgView(ctx.state, vg)
            if any(
                view.info(lv).exists for lv in vg.lvs.values() if any(s.pv == device for s in lv.segments)
            ):
                # device-mapper holds the device open: LVM cannot open it exclusively
                ctx.console.error(f"Can't open {device} exclusively.  Mounted filesystem?")
                ctx.console.error(f"Can't open {device} exclusively.  Mounted filesystem?")
                ctx.console.error(f"Error opening device {device} for reading at 0 length 4096.")
                ctx.console.error(f"Cannot use {device}: device has a signature")
                rc = ECMD_FAILED
                continue
            if all(d == device or ctx.state.pvs[d].missing for d in vg.pvs):
                refuse(f"pvremove -ff of the last PV of VG {vg.name} found")
            lose_pv(ctx.state, vg, device)
        else:
            del ctx.state.pvs[device]
        ctx.console.print(f'Labels on physical volume "{device}" successfully wiped.')
    return rc
