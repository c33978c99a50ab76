"""pvcreate, pvremove, pvchange."""

from __future__ import annotations

from lvsim.cmdline import CommandSpec
from lvsim.console import Console
from lvsim.emulator import Ctx, command
from lvsim.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.model import MDA_START, PE_START, PV, PV_MIN_SIZE, MiB, State
from lvsim.units import SECTOR

# Commands with a single syntax: LVM shows it after a syntax error.
SINGLE_USAGE = {
    "pvcreate": "pvcreate PV ...",
    "pvremove": "pvremove PV ...",
    "lvremove": "lvremove VG|LV|Tag|Select ...",
    "vgcreate": "vgcreate VG_new PV ...",
    "vgextend": "vgextend VG PV ...",
    "vgremove": "vgremove VG|Tag|Select ...",
}
# The nearest syntax LVM shows for some near misses of commands with several syntaxes.
NEAREST_USAGE = {
    (
        "lvcreate",
        "error",
    ): "lvcreate --type error -L|--size Size[m|UNIT] VG\n  Create an LV that returns errors when used.",
}


def no_syntax(command_name: str, nearest: str = "") -> LvmError:
    """LVM's answer to a command line that fits none of the command's syntaxes."""
    lines = [
        f"No command with matching syntax recognised.  Run '{command_name} --help' for more information."
    ]
    usage = SINGLE_USAGE.get(command_name)
    if usage:
        lines.append("Correct command syntax is:")
    elif nearest:
        usage = NEAREST_USAGE[command_name, nearest]
        lines.append("Nearest similar command has syntax:")
    return LvmError(*lines, rc=EINVALID_CMD_LINE, stdout=f"  {usage}\n\n" if usage else "")


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


@command(
    CommandSpec(
        "pvcreate",
        {
            "force": "f",
            "metadatasize": None,
            "dataalignment": None,
            "pvmetadatacopies": None,
            "zero": "Z",
        },
    )
)
def pvcreate(ctx: Ctx) -> int:
    if not ctx.args.pos:
        raise no_syntax("pvcreate")
    pe_start = PE_START
    if ctx.args.has("metadatasize"):
        size = ctx.args.get("metadatasize").value * SECTOR  # type: ignore[union-attr]
        pe_start = -(-(MDA_START + size) // MiB) * MiB
    if ctx.args.has("dataalignment"):
        align = ctx.args.get("dataalignment").value * SECTOR  # type: ignore[union-attr]
        pe_start = max(align, -(-pe_start // align) * align)
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


@command(CommandSpec("pvremove", {"force": "f"}))
def pvremove(ctx: Ctx) -> int:
    if not ctx.args.pos:
        raise no_syntax("pvremove")
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
