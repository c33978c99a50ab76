"""vgcreate (`add_pvs` is also used by vgextend)."""

from __future__ import annotations

from lvsim.core import alloc
from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.model import DEFAULT_EXTENT_SIZE, VG, KiB
from lvsim.core.names import check_new_vg_name
from lvsim.core.units import SECTOR, display_size
from lvsim.lvm import tags
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.pvcreate import create_pv

TiB2 = 2 * 1024**4


def _extent_size(ctx: Ctx) -> int:
    arg = ctx.args.get("physicalextentsize")
    if arg is None:
        return DEFAULT_EXTENT_SIZE
    size = arg.value * SECTOR  # type: ignore[attr-defined]
    if size == 0:
        raise LvmError(
            "Physical extent size may not be zero",
            "Run `vgcreate --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )
    if size >= TiB2:
        raise LvmError(
            f"Physical extent size must be smaller than {display_size(TiB2 - SECTOR)}.",
            "Run `vgcreate --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )
    return size


def check_extent_multiple(size: int) -> None:
    if size & (size - 1) and size % (128 * KiB):
        raise LvmError("Physical Extent size must be a multiple of 128.00 KiB when not a power of 2.")


def add_pvs(ctx: Ctx, vg: VG, devices: list[str]) -> None:
    """Check then add devices to vg, running pvcreate on raw devices first (as vgcreate/vgextend do)."""
    state = ctx.state
    for device in devices:
        if device not in state.disks:
            raise LvmError(f"No device found for {device}.")
        pv = state.pvs.get(device)
        if pv is not None and pv.vg:
            raise LvmError(
                f"Physical volume '{device}' is already in volume group '{pv.vg}'",
                f"Unable to add physical volume '{device}' to volume group '{pv.vg}'",
                f"{device}: physical volume not initialized.",
            )
    new = [state.pvs.get(device) or create_pv(state, ctx.console, device) for device in devices]
    check_extent_multiple(vg.extent_size)
    for device, pv in zip(devices, new, strict=True):
        pv.vg = vg.name
        pv.pe_count = alloc.pe_count(state.disks[device].size, pv, vg.extent_size)
        vg.pvs.append(device)


@command(LvmSpec("vgcreate"))
def vgcreate(ctx: Ctx) -> int:
    name, devices = ctx.args.pos[0], ctx.args.pos[1:]
    check_new_vg_name(name, "vgcreate")
    existing = ctx.state.vgs.get(name)
    if existing is not None and any(lv.active for lv in existing.lvs.values()):
        raise LvmError(
            f"/dev/{name}: already exists in filesystem",
            "Run `vgcreate --help' for more information.",
            rc=EINVALID_CMD_LINE,
        )  # /dev/VG holds the active LVs' nodes
    extent_size = _extent_size(ctx)
    if name in ctx.state.vgs:
        raise LvmError(f"A volume group called {name} already exists.")
    vg = VG(name, ctx.state.new_uuid(), extent_size=extent_size)
    vg.alloc = str(ctx.args.get("alloc", "normal"))
    tags.change(ctx.args, vg.tags)
    vg.autoactivation = bool(ctx.args.get("setautoactivation", True))
    add_pvs(ctx, vg, devices)
    ctx.state.vgs[name] = vg
    ctx.console.print(f'Volume group "{name}" successfully created')
    return 0
