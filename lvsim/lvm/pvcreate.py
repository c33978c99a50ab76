"""pvcreate (`create_pv` is also used by vgcreate and vgextend on raw devices)."""

from __future__ import annotations

from lvsim.core.console import Console
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.model import MDA_START, PE_START, PV, PV_MIN_SIZE, MiB, State
from lvsim.core.units import SECTOR
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse


def create_pv(
    state: State, console: Console, device: str, pe_start: int = PE_START, mda_copies: int = 1
) -> PV:
    """pvcreate one device (also used by vgcreate/vgextend on raw devices)."""
    disk = state.disks.get(device)
    if disk is None:
        raise LvmError(f"No device found for {device}.")
    if disk.size < PV_MIN_SIZE:
        raise LvmError(f"Cannot use {device}: device is too small (pv_min_size)")
    old = state.pvs.get(device)
    if old is not None and old.vg:
        raise LvmError(
            f'Can\'t initialize physical volume "{device}" of volume group "{old.vg}" without -ff',
            f"{device}: physical volume not initialized.",
        )
    pv = PV(device, state.new_uuid(), pe_start=pe_start, mda_size=pe_start - MDA_START, mda_count=mda_copies)
    state.pvs[device] = pv
    console.print(f'Physical volume "{device}" successfully created.')
    return pv


@command(LvmSpec("pvcreate"))
def pvcreate(ctx: Ctx) -> int:
    pe_start = PE_START
    if ctx.args.has("metadatasize"):
        size = ctx.args.get("metadatasize").value * SECTOR  # type: ignore[union-attr]
        pe_start = -(-(MDA_START + size) // MiB) * MiB
    if ctx.args.has("dataalignment"):
        align = ctx.args.get("dataalignment").value * SECTOR  # type: ignore[union-attr]
        if align:  # under a sector (0.0001m) is 0: no alignment, as on LVM
            pe_start = max(align, -(-pe_start // align) * align)
    if ctx.args.count("force") > 1:  # -ff: re-initialising a PV that belongs to a VG
        refuse("pvcreate -ff")
    copies = int(ctx.args.get("pvmetadatacopies", 1))  # type: ignore[arg-type]
    rc = 0
    for device in ctx.args.pos:
        try:
            create_pv(ctx.state, ctx.console, device, pe_start, copies)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc
