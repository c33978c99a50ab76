"""vgcreate, vgextend, vgreduce, vgremove, vgchange."""

from __future__ import annotations

from lvsim import alloc
from lvsim.cmdline import CommandSpec
from lvsim.commands.lv import remove_lvs, set_active
from lvsim.commands.pv import create_pv, no_syntax
from lvsim.emulator import Ctx, command
from lvsim.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.model import DEFAULT_EXTENT_SIZE, VG, KiB, State
from lvsim.names import check_new_vg_name, find_vg
from lvsim.units import SECTOR, display_size

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


def _add_pvs(ctx: Ctx, vg: VG, devices: list[str]) -> None:
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


@command(
    CommandSpec(
        "vgcreate",
        {
            "physicalextentsize": "s",
            "force": "f",
            "alloc": None,
            "addtag": None,
            "zero": "Z",
            "autobackup": "A",
        },
    )
)
def vgcreate(ctx: Ctx) -> int:
    if len(ctx.args.pos) < 2:
        raise no_syntax("vgcreate")
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
    _add_pvs(ctx, vg, devices)
    if ctx.args.has("addtag"):
        vg.tags = [str(t) for t in ctx.args.opts["addtag"]]
    ctx.state.vgs[name] = vg
    ctx.console.print(f'Volume group "{name}" successfully created')
    return 0


@command(CommandSpec("vgextend", {"force": "f", "zero": "Z", "autobackup": "A"}))
def vgextend(ctx: Ctx) -> int:
    if len(ctx.args.pos) < 2:
        raise no_syntax("vgextend")
    for device in ctx.args.pos[1:]:
        if device in ctx.state.disks and device not in ctx.state.pvs:
            create_pv(ctx.state, ctx.console, device)
    vg = find_vg(ctx.state, ctx.args.pos[0])
    _add_pvs(ctx, vg, ctx.args.pos[1:])
    vg.seqno += 1
    ctx.console.print(f'Volume group "{vg.name}" successfully extended')
    return 0


@command(CommandSpec("vgreduce", {"all": "a", "force": "f", "removemissing": None, "autobackup": "A"}))
def vgreduce(ctx: Ctx) -> int:
    if not ctx.args.pos or (len(ctx.args.pos) < 2 and not ctx.args.has("all")):
        raise no_syntax("vgreduce")
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


def scan_order(state: State) -> list[str]:
    """The order LVM walks all VGs in: by their first PV in device order, last found first."""
    disks = list(state.disks)
    return sorted(state.vgs, key=lambda n: -min((disks.index(d) for d in state.vgs[n].pvs), default=0))


def remove_vg(state: State, vg: VG) -> None:
    for device in vg.pvs:
        pv = state.pvs[device]
        pv.vg, pv.pe_count = None, 0
    del state.vgs[vg.name]


@command(CommandSpec("vgremove", {"force": "f", "select": "S", "noudevsync": None}))
def vgremove(ctx: Ctx) -> int:
    if not ctx.args.pos:
        raise no_syntax("vgremove")
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
            if remove_lvs(ctx, vg, visible, stop_on_error=True) != 0:
                raise LvmError()
            remove_vg(ctx.state, vg)
            ctx.console.print(f'Volume group "{name}" successfully removed')
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc


@command(
    CommandSpec(
        "vgchange",
        {
            "activate": "a",
            "alloc": None,
            "resizeable": "x",
            "maxphysicalvolumes": "p",
            "ignoreactivationskip": "K",
            "addtag": None,
            "deltag": None,
            "refresh": None,
            "monitor": None,
            "autobackup": "A",
        },
    )
)
def vgchange(ctx: Ctx) -> int:
    names = ctx.args.pos or scan_order(ctx.state)
    changes = [o for o in ("alloc", "resizeable", "addtag", "deltag") if ctx.args.has(o)]
    if not ctx.args.has("activate") and not changes and not ctx.args.has("refresh"):
        raise no_syntax("vgchange")
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
            for tag in ctx.args.opts.get("addtag", []):
                if tag not in vg.tags:
                    vg.tags.append(str(tag))
            for tag in ctx.args.opts.get("deltag", []):
                if tag in vg.tags:
                    vg.tags.remove(str(tag))
            vg.seqno += 1
            ctx.console.print(f'Volume group "{name}" successfully changed')
    return rc
