"""What several LVM commands share: syntax errors, sizes in extents, activation, thin-pool warnings."""

from __future__ import annotations

from lvsim.core import alloc, devmap
from lvsim.core.context import Args, Ctx
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.lifecycle import finish_merge
from lvsim.core.mapping import cow_invalid, cow_snapshots_of, thins_of
from lvsim.core.model import LV, VG, LVKind
from lvsim.core.units import SECTOR, SizeArg, display_size

# lvm2's LV type names (lv_types.h) of the kinds of LV lvsim has, as its refusals name them
LV_TYPE_NAMES = {
    LVKind.LINEAR: "linear",
    LVKind.THIN: "thin",
    LVKind.THIN_POOL: "thinpool",
    LVKind.COW: "snapshot",
}


def run_help(name: str) -> str:
    return f"Run `{name} --help' for more information."


def extents_for_size(ctx: Ctx, vg: VG, sectors: int) -> int:
    """-L for a new LV: round up to whole extents, saying so as lvcreate does."""
    size = sectors * SECTOR
    extents = -(-size // vg.extent_size)
    if size % vg.extent_size:
        ctx.console.print(
            f"Rounding up size to full physical extent {display_size(extents * vg.extent_size)}"
        )
    return extents


def percent_extents(ctx: Ctx, vg: VG, arg: SizeArg, devices: list[str]) -> int:
    """lvcreate -l N%{VG,FREE,PVS}: floor(N * base / 100), %VG clamped to the free space."""
    free = alloc.vg_free_count(ctx.state, vg)
    if arg.percent == "VG":
        extents = arg.value * alloc.vg_extent_count(ctx.state, vg) // 100
        if extents > free:
            ctx.console.print(
                f"Reducing {arg.value}%VG to remaining free space "
                f"{display_size(free * vg.extent_size)} in VG."
            )
            extents = free
        return extents
    if arg.percent == "FREE":
        return arg.value * free // 100
    if arg.percent == "PVS":
        if devices:
            base = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices))
        else:
            base = alloc.vg_extent_count(ctx.state, vg)
        return arg.value * base // 100
    if arg.percent == "LV":
        raise LvmError("Please express size as %FREE, %PVS or %VG.")
    raise LvmError("Internal error: Couldn't find origin volume.")


def check_pvs(ctx: Ctx, vg: VG, devices: list[str]) -> None:
    """Every PV named on the command line (with optional :PE ranges) must be in the VG; one that is
    not allocatable or has no free extents is left out with a warning, and if none is left, nothing
    can be allocated (LVM's create_pv_list)."""
    usable = 0
    for arg in devices:
        device, _ = alloc.parse_pv_arg(arg)
        if device not in vg.pvs:
            raise LvmError(f'Physical Volume "{device}" not found in Volume Group "{vg.name}".')
        if not ctx.state.pvs[device].allocatable:
            ctx.console.warn(f"Physical volume {device} not allocatable.")
        elif not alloc.free_areas(ctx.state, vg, [arg]):
            ctx.console.warn(f'No free extents on physical volume "{device}".')
        else:
            usable += 1
    if devices and not usable:
        raise LvmError("No specified PVs have space available.")


def new_lv(ctx: Ctx, vg: VG, name: str, kind: LVKind = LVKind.LINEAR) -> LV:
    lv = LV(name, ctx.state.new_uuid(), kind=kind)
    lv.creation_time = int(ctx.state.clock)
    lv.creation_host = ctx.state.host
    return lv


def check_zero_size(args: Args, command_name: str) -> None:
    for option in ("size", "extents", "virtualsize"):
        value = args.get(option)
        if isinstance(value, SizeArg) and value.value == 0 and not value.percent:
            raise LvmError(f"--{option} may not be zero.", run_help(command_name), rc=EINVALID_CMD_LINE)


def set_active(ctx: Ctx, vg: VG, lv: LV, on: bool) -> None:
    """Activate or deactivate an LV as LVM does.

    A COW snapshot is changed through its origin (lvchange asks first), and an origin takes
    all its snapshots along.  A thin volume needs only the pool's -tpool layer, so the pool LV
    itself keeps its state.
    """
    if not on and lv.open_count:
        raise LvmError(devmap.in_use_message(ctx.state, vg, lv))
    if lv.kind == LVKind.COW and lv.origin in vg.lvs:
        origin = vg.lvs[lv.origin]
        if ctx.command == "lvchange" and origin.kind != LVKind.ZERO:
            others = len(cow_snapshots_of(vg, origin)) - 1
            more = f" and {others} other snapshot(s)" if others else ""
            if not ctx.args.has("yes") and not ctx.console.prompt(
                f"Change of snapshot {vg.name}/{lv.name} will also change its origin "
                f"{vg.name}/{origin.name}{more}. Proceed? [y/n]: "
            ):
                raise LvmError(f"Logical volume {vg.name}/{lv.name} not changed.")
        lv = origin
    if not on and any(cow_invalid(snap) for snap in cow_snapshots_of(vg, lv)):
        return  # recorded on 2.03.16: the origin of an invalid snapshot stays active, rc 0
    lv.active = on
    for snap in cow_snapshots_of(vg, lv):
        snap.active = on
    if on:
        for snap in [s for s in vg.lvs.values() if s.origin == lv.name and s.merging]:
            finish_merge(ctx.state, vg, snap)


def autoextend_config(ctx: Ctx, kind: str) -> tuple[int, int]:
    """activation/{kind}_autoextend_threshold and _percent as the command sees them (--config, lvm.conf)."""
    return (
        ctx.config.int(f"activation/{kind}_autoextend_threshold"),
        ctx.config.int(f"activation/{kind}_autoextend_percent"),
    )


def overprovisioning_warnings(ctx: Ctx, vg: VG, lv: LV) -> None:
    """pool_check_overprovisioning: warn when thin volumes may outgrow their pools.

    Runs after every LV creation in the VG and after thin extends.  The "Sum of all" line goes
    to stderr, the two protection hints (default autoextend threshold 100) to stdout.
    """
    pools = [p for p in vg.lvs.values() if p.kind == LVKind.THIN_POOL]
    if not pools:
        return
    ext = vg.extent_size
    pool = vg.lvs.get(lv.pool) if lv.kind == LVKind.THIN else lv if lv.kind == LVKind.THIN_POOL else None
    thinsum = poolsum = 0
    if pool is not None:
        poolsum = pool.le_count * ext
        thinsum = sum(t.le_count for t in thins_of(vg, pool)) * ext
        if thinsum <= poolsum:
            return
    more_pools = 0
    for other in pools:
        if other is pool:
            continue
        more_pools += 1
        poolsum += other.le_count * ext
        thinsum += sum(t.le_count for t in thins_of(vg, other)) * ext
    if thinsum <= poolsum:
        return
    threshold, percent = autoextend_config(ctx, "thin_pool")
    vg_size = alloc.vg_extent_count(ctx.state, vg) * ext
    vg_free = alloc.vg_free_count(ctx.state, vg) * ext
    if vg_size < thinsum:
        txt, size = " and the size of whole volume group", vg_size
    elif vg_free < thinsum:
        txt, size = (" and the amount of free space in volume group" if vg_free else ""), vg_free
    elif threshold > 99 or not percent:
        txt, size = "", poolsum
    else:
        return
    target = "s" if more_pools else f" {vg.name}/{pool.name}" if pool else "s"
    shown = display_size(size) if size else "no free space in volume group"
    ctx.console.warn(
        f"Sum of all thin volume sizes ({display_size(thinsum)}) exceeds the size of thin pool{target}{txt} ({shown})."
    )
    if threshold > 99 or not percent:
        ctx.console.print(
            "WARNING: You have not turned on protection against thin pools running out of space."
        )
    if threshold > 99:
        ctx.console.print(
            "WARNING: Set activation/thin_pool_autoextend_threshold below 100 to trigger automatic extension "
            "of thin pools before they get full."
        )
    if not percent:
        ctx.console.print(
            "WARNING: Set activation/thin_pool_autoextend_percent above 0 to specify by how much to extend "
            "thin pools reaching the threshold."
        )
