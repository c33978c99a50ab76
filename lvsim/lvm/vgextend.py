"""vgextend and vgreduce."""

from __future__ import annotations

from lvsim.core import alloc
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.names import find_vg
from lvsim.lvm import missing_pvs
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.pvcreate import create_pv
from lvsim.lvm.refusal import refuse
from lvsim.lvm.removemissing import remove_missing
from lvsim.lvm.vgcreate import add_pvs


@command(LvmSpec("vgextend"))
def vgextend(ctx: Ctx) -> int:
    partial = [vg for vg in missing_pvs.vgs_missing_pvs(ctx.state) if vg.name == ctx.args.pos[0]]
    if partial and any(d not in ctx.state.pvs for d in ctx.args.pos[1:]):  # recorded: PVs made before
        refuse(f"vgextend of VG {partial[0].name} with missing PVs by a device that is no PV yet")
    for device in ctx.args.pos[1:]:
        if device in ctx.state.disks and device not in ctx.state.pvs:
            create_pv(ctx.state, ctx.console, device)
    vg = missing_pvs.update_vg(ctx, ctx.args.pos[0])
    add_pvs(ctx, vg, ctx.args.pos[1:])
    vg.seqno += 1
    if missing_pvs.missing_pvs(ctx.state, vg):
        missing_pvs.written(ctx, vg)
    ctx.console.print(f'Volume group "{vg.name}" successfully extended')
    return 0


@command(LvmSpec("vgreduce"))
def vgreduce(ctx: Ctx) -> int:
    missing = [vg for vg in missing_pvs.vgs_missing_pvs(ctx.state) if vg.name == ctx.args.pos[0]]
    if ctx.args.has("removemissing") and not missing:  # recorded: --removemissing of such a VG alone
        refuse("vgreduce --removemissing of a VG without missing PVs")
    if missing:
        if not ctx.args.has("removemissing"):
            refuse("vgreduce of a VG with missing PVs without --removemissing")
        return remove_missing(ctx, missing_pvs.update_vg(ctx, ctx.args.pos[0]))
    for device in ctx.args.pos[1:]:
        if device not in ctx.state.disks:
            raise LvmError(f"Cannot use {device}: device not found")
    rc = 0
    try:
        vg = find_vg(ctx.state, ctx.args.pos[0])
    except LvmError as exc:
        for line in exc.lines:
            ctx.console.error(line)
        vg, rc = None, ECMD_FAILED
    devices = ctx.args.pos[1:] or (list(vg.pvs) if vg else [])
    for device in devices:
        pv = ctx.state.pvs.get(device)
        if vg is None or pv is None or pv.vg != vg.name:
            ctx.console.error(f'Failed to find physical volume "{device}".')
            rc = ECMD_FAILED
            continue
        if alloc.pv_used(vg, device):
            ctx.console.error(f'Physical volume "{device}" still in use')
            rc = ECMD_FAILED
            continue
        if len(vg.pvs) == 1:
            ctx.console.error(f'Can\'t remove final physical volume "{device}" from volume group "{vg.name}"')
            rc = ECMD_FAILED
            continue
        vg.pvs.remove(device)
        pv.vg, pv.pe_count = None, 0
        vg.seqno += 1
        ctx.console.print(f'Removed "{device}" from volume group "{vg.name}"')
    return rc
