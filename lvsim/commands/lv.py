"""lvcreate (linear), lvextend, lvreduce, lvresize, lvremove, lvrename, lvchange.

Thin pools, thin volumes and snapshots are created and resized by
`lvsim.commands.thin`; this module calls into it where LVM branches.
"""

from __future__ import annotations

from collections.abc import Callable

from lvsim import alloc, devmap
from lvsim.cmdline import Args, CommandSpec
from lvsim.commands.pv import no_syntax
from lvsim.emulator import Ctx, command
from lvsim.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.model import LV, VG
from lvsim.names import check_new_lv_name, find_vg, name_problem, next_lv_name, split_lv_arg
from lvsim.units import SECTOR, SizeArg, display_size

CREATE_OPTIONS: dict[str, str | None] = {
    "activate": "a",
    "addtag": None,
    "alloc": None,
    "autobackup": "A",
    "chunksize": "c",
    "contiguous": "C",
    "discards": None,
    "errorwhenfull": None,
    "extents": "l",
    "ignoreactivationskip": "K",
    "major": None,
    "minor": None,
    "monitor": None,
    "name": "n",
    "permission": "p",
    "persistent": "M",
    "poolmetadatasize": None,
    "poolmetadataspare": None,
    "readahead": "r",
    "setactivationskip": "k",
    "size": "L",
    "snapshot": "s",
    "thin": "T",
    "thinpool": None,
    "type": None,
    "virtualsize": "V",
    "wipesignatures": "W",
    "zero": "Z",
}

RESIZE_OPTIONS: dict[str, str | None] = {
    "autobackup": "A",
    "extents": "l",
    "force": "f",
    "nofsck": "n",
    "poolmetadatasize": None,
    "resizefs": "r",
    "size": "L",
    "use-policies": None,
    "alloc": None,
}


def run_help(name: str) -> str:
    return f"Run `{name} --help' for more information."


# ---------------------------------------------------------------------------------------------
# Sizes


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
    """Every PV named on the command line (with optional :PE ranges) must be in the VG."""
    for arg in devices:
        device, _ = alloc.parse_pv_arg(arg)
        if device not in vg.pvs:
            raise LvmError(f'Physical Volume "{device}" not found in Volume Group "{vg.name}".')


def check_space(ctx: Ctx, vg: VG, name: str, extents: int, devices: list[str]) -> None:
    """lvcreate's VG-level check, then the allocator's check of the PVs it may use."""
    free = alloc.vg_free_count(ctx.state, vg)
    if extents > free:
        raise LvmError(
            f'Volume group "{vg.name}" has insufficient free space ({free} extents): {extents} required.'
        )
    if devices:
        avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices))
        if extents > avail:
            raise LvmError(f"Insufficient free space: {extents} extents needed, but only {avail} available")


# ---------------------------------------------------------------------------------------------
# lvcreate


def split_create_target(args: Args) -> tuple[str, str, list[str]]:
    """VG name, LV name and PV list of an lvcreate command line (checking -n vg/name agrees)."""
    name = args.str("name")
    name_vg, name_lv = split_lv_arg(name) if name else ("", "")
    if not args.pos:
        if not name_vg:
            raise no_syntax("lvcreate", nearest="error" if args.has("size") else "")
        return name_vg, name_lv, []
    vg_name, lv_part = split_lv_arg(args.pos[0])
    if not vg_name:
        vg_name, lv_part = lv_part, ""
    if name_vg and name_vg != vg_name:
        raise LvmError(
            f'Inconsistent volume group names given: "{name_vg}" and "{vg_name}"',
            run_help("lvcreate"),
            rc=EINVALID_CMD_LINE,
        )
    return vg_name, name_lv or lv_part, args.pos[1:]


def new_lv(ctx: Ctx, vg: VG, name: str, kind: str = "linear") -> LV:
    lv = LV(name, ctx.state.new_uuid(), kind=kind)
    lv.creation_time = int(ctx.state.clock)
    lv.creation_host = ctx.state.host
    return lv


def is_linear_create(args: Args) -> bool:
    return not any(args.has(o) for o in ("snapshot", "thin", "thinpool", "virtualsize")) and args.str(
        "type", "linear"
    ) in ("linear", "striped")


@command(CommandSpec("lvcreate", CREATE_OPTIONS))
def lvcreate(ctx: Ctx) -> int:
    args = ctx.args
    if not is_linear_create(args):
        from lvsim.commands import thin

        return thin.lvcreate(ctx)
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents (not both).", run_help("lvcreate"), rc=EINVALID_CMD_LINE
        )
    if not args.has("size") and not args.has("extents"):
        raise no_syntax("lvcreate")
    check_zero_size(args, "lvcreate")
    vg_name, name, devices = split_create_target(args)
    if name:
        check_new_lv_name(vg_name, name, "lvcreate")
    vg = find_vg(ctx.state, vg_name)
    if name in vg.lvs:
        raise LvmError(f'Logical Volume "{name}" already exists in volume group "{vg.name}"')
    check_pvs(ctx, vg, devices)
    extents, partial = requested_extents(ctx, vg, devices)
    if not partial:
        check_space(ctx, vg, name or next_lv_name(vg), extents, devices)
    lv = new_lv(ctx, vg, name or next_lv_name(vg))
    apply_create_flags(ctx, lv)
    vg.lvs[lv.name] = lv
    alloc.allocate(ctx.state, vg, lv, extents, devices or None, partial=partial)
    vg.seqno += 1
    finish_create(ctx, vg, lv)
    return 0


def check_zero_size(args: Args, command_name: str) -> None:
    for option in ("size", "extents", "virtualsize"):
        value = args.get(option)
        if isinstance(value, SizeArg) and value.value == 0 and not value.percent:
            raise LvmError(f"--{option} may not be zero.", run_help(command_name), rc=EINVALID_CMD_LINE)


def requested_extents(ctx: Ctx, vg: VG, devices: list[str]) -> tuple[int, bool]:
    """Extents an lvcreate asks for and whether a partial allocation is acceptable (percent sizes)."""
    size = ctx.args.get("size")
    if isinstance(size, SizeArg):
        return extents_for_size(ctx, vg, size.value), False
    arg = ctx.args.get("extents")
    assert isinstance(arg, SizeArg)
    if not arg.percent:
        return arg.value, False
    extents = percent_extents(ctx, vg, arg, devices)
    if extents == 0:
        raise LvmError("Calculated size of logical volume is 0 extents. Needs to be larger.")
    return extents, True


def apply_create_flags(ctx: Ctx, lv: LV) -> None:
    args = ctx.args
    if args.get("activate") == "n":
        lv.active = False
    if args.get("permission") == "r":
        lv.writable = False
    if args.has("alloc"):
        lv.alloc = str(args.get("alloc"))
    if args.get("contiguous") is True:
        lv.alloc = "contiguous"


def finish_create(ctx: Ctx, vg: VG, lv: LV) -> None:
    """What every successful lvcreate ends with."""
    if not lv.active and lv.kind == "linear":
        ctx.console.warn(f"Logical volume {vg.name}/{lv.name} not zeroed.")
    try:
        from lvsim import thin
    except ImportError:
        pass
    else:
        thin.overprovisioning_warnings(ctx, vg, lv)
    ctx.console.print(f'Logical volume "{lv.name}" created.')


# ---------------------------------------------------------------------------------------------
# lvextend / lvreduce / lvresize


def new_extents(ctx: Ctx, vg: VG, lv: LV, mode: str) -> tuple[int, bool]:
    """The size a resize asks for, in extents, and whether partial allocation is allowed."""
    args = ctx.args
    cur = lv.le_count
    size = args.get("size")
    if isinstance(size, SizeArg):
        nbytes = size.value * SECTOR
        ext = vg.extent_size
        if size.sign == "-":
            delta = nbytes // ext
            if nbytes % ext:
                ctx.console.print(
                    f"Rounding size to boundary between physical extents: {display_size(delta * ext)}."
                )
            return cur - delta, False
        count = -(-nbytes // ext)
        if nbytes % ext:
            ctx.console.print(
                f"Rounding size to boundary between physical extents: {display_size(count * ext)}."
            )
        return (cur + count if size.sign == "+" else count), False
    arg = args.get("extents")
    assert isinstance(arg, SizeArg)
    if not arg.percent:
        return {"+": cur + arg.value, "-": cur - arg.value, "": arg.value}[arg.sign], False
    free = alloc.vg_free_count(ctx.state, vg)
    base = {
        "VG": alloc.vg_extent_count(ctx.state, vg),
        "FREE": free,
        "LV": cur,
        "PVS": alloc.vg_extent_count(ctx.state, vg),
        "ORIGIN": cur,
    }[arg.percent]
    if arg.sign == "-":
        count = arg.value * base // 100
    else:
        count = -(-arg.value * base // 100)
    if arg.sign == "+":
        return cur + count, arg.percent in ("FREE", "VG", "PVS")
    if arg.sign == "-":
        return cur - count, False
    if arg.percent == "VG" and count > cur + free:
        ctx.console.print(
            f"Reducing {arg.value}%VG to remaining free space {display_size((cur + free) * vg.extent_size)} in VG."
        )
        count = cur + free
    if count == 0:
        raise LvmError("New size of 0 not permitted.")
    return count, arg.percent in ("FREE", "VG", "PVS")


def resize_target(ctx: Ctx) -> tuple[VG, LV]:
    """The VG and LV a resize command names (its first positional argument)."""
    if not ctx.args.pos:
        raise no_syntax(ctx.command)
    vg_name, lv_name = split_lv_arg(ctx.args.pos[0])
    if not vg_name:
        raise LvmError("Please specify a logical volume path.", run_help(ctx.command), rc=EINVALID_CMD_LINE)
    vg = find_vg(ctx.state, vg_name)
    lv = vg.lvs.get(lv_name)
    if lv is None:
        raise LvmError(f"Logical volume {lv_name} not found in volume group {vg_name}.")
    return vg, lv


def resize(ctx: Ctx, mode: str) -> int:
    args = ctx.args
    if not args.has("size") and not args.has("extents"):
        if args.has("use-policies") or args.has("poolmetadatasize"):
            from lvsim.commands import thin

            return thin.resize_special(ctx, mode)
        raise no_syntax(ctx.command)
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents (not both).", run_help(ctx.command), rc=EINVALID_CMD_LINE
        )
    check_zero_size(args, ctx.command)
    vg, lv = resize_target(ctx)
    devices = args.pos[1:]
    check_pvs(ctx, vg, devices)
    if lv.kind != "linear" or lv.role:
        from lvsim.commands import thin

        return thin.resize_lv(ctx, mode, vg, lv)
    target, partial = new_extents(ctx, vg, lv, mode)
    return resize_extents(ctx, mode, vg, lv, target, partial, devices)


def resize_extents(
    ctx: Ctx,
    mode: str,
    vg: VG,
    lv: LV,
    target: int,
    partial: bool,
    devices: list[str],
    shown: LV | None = None,
    after: Callable[[], None] | None = None,
) -> int:
    """Grow or shrink lv's extents to `target` with LVM's checks and messages.

    `shown` is the LV named in the messages when it differs (a pool resized through its _tdata);
    `after` runs between the size line and "successfully resized" (thin overprovisioning checks).
    """
    cur = lv.le_count
    full = f"{vg.name}/{lv.name}"
    check_new_size(vg, lv, mode, target)
    if target > cur:
        free = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices or None))
        need = target - cur
        if need > free:
            if not partial or free == 0:
                raise LvmError(f"Insufficient free space: {need} extents needed, but only {free} available")
            target = cur + free
    elif not ctx.args.has("force"):
        confirm_reduce(ctx, vg, lv, target)
    else:
        ctx.console.warn(f"Reducing active logical volume to {display_size(target * vg.extent_size)}.")
        ctx.console.error("THIS MAY DESTROY YOUR DATA (filesystem etc.)")
    ext = vg.extent_size
    ctx.console.print(
        f"Size of logical volume {full} changed from {display_size(cur * ext)} ({cur} extents) "
        f"to {display_size(target * ext)} ({target} extents)."
    )
    if target > cur:
        alloc.allocate(ctx.state, vg, lv, target - cur, devices or None)
    else:
        alloc.release(lv, cur - target)
    vg.seqno += 1
    if after is not None:
        after()
    named = shown or lv
    ctx.console.print(f"Logical volume {vg.name}/{named.name} successfully resized.")
    return 0


def check_new_size(vg: VG, lv: LV, mode: str, target: int) -> None:
    """lvresize's checks of the new size against the current one (mode: extend, reduce or resize)."""
    cur = lv.le_count
    if target <= 0:
        raise LvmError(f"Unable to reduce {vg.name}/{lv.name} below 1 extent.")
    if mode == "extend" and target < cur:
        raise LvmError(f"New size given ({target} extents) not larger than existing size ({cur} extents)")
    if mode == "reduce" and target > cur:
        raise LvmError(f"New size given ({target} extents) not less than existing size ({cur} extents)")
    if target == cur:
        raise LvmError(f"New size ({target} extents) matches existing size ({cur} extents).")


def confirm_reduce(ctx: Ctx, vg: VG, lv: LV, target: int) -> None:
    ctx.console.warn(f"Reducing active logical volume to {display_size(target * vg.extent_size)}.")
    ctx.console.error("THIS MAY DESTROY YOUR DATA (filesystem etc.)")
    if not ctx.args.has("yes") and not ctx.console.prompt(
        f"Do you really want to reduce {vg.name}/{lv.name}? [y/n]: "
    ):
        raise LvmError(f"Logical volume {vg.name}/{lv.name} NOT reduced.")


@command(CommandSpec("lvextend", RESIZE_OPTIONS, types={"size": "psize_mb", "extents": "pextents"}))
def lvextend(ctx: Ctx) -> int:
    return resize(ctx, "extend")


@command(CommandSpec("lvreduce", RESIZE_OPTIONS, types={"size": "nsize_mb", "extents": "nextents"}))
def lvreduce(ctx: Ctx) -> int:
    return resize(ctx, "reduce")


@command(CommandSpec("lvresize", RESIZE_OPTIONS, types={"size": "ssize_mb", "extents": "sextents"}))
def lvresize(ctx: Ctx) -> int:
    return resize(ctx, "resize")


# ---------------------------------------------------------------------------------------------
# lvremove


def delete_lv(ctx: Ctx, vg: VG, lv: LV) -> None:
    """Drop an LV from the VG (with its hidden sub-LVs and data) and say so."""
    try:
        from lvsim import thin
    except ImportError:
        pass
    else:
        thin.before_delete(ctx, vg, lv)
    del vg.lvs[lv.name]
    vg.seqno += 1
    ctx.console.print(f'Logical volume "{lv.name}" successfully removed.')


def remove_lvs(ctx: Ctx, vg: VG, lvs: list[LV], stop_on_error: bool = False) -> int:
    """lvremove's per-LV logic (prompts, dependents); returns the worst exit code.

    vgremove stops at the first LV it could not remove (stop_on_error).
    """
    rc = 0
    for lv in lvs:
        if lv.name not in vg.lvs:
            continue  # already removed as a dependent
        try:
            remove_one(ctx, vg, lv)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
            if stop_on_error:
                break
    return rc


def remove_one(ctx: Ctx, vg: VG, lv: LV) -> None:
    full = f"{vg.name}/{lv.name}"
    force = ctx.args.has("force")
    if lv.role in ("tdata", "tmeta"):
        raise LvmError(f"Can't remove logical volume {full} used by a pool.")
    if lv.open_count:
        raise LvmError(devmap.in_use_message(ctx.state, vg, lv))
    dependents = [d for d in vg.lvs.values() if d is not lv and (d.pool == lv.name or d.origin == lv.name)]
    snapshots = [d for d in dependents if d.kind == "cow"]
    thins = [d for d in dependents if d.kind == "thin" and d.pool == lv.name]
    if lv.kind == "thin-pool" and thins and not force:
        if not ctx.console.prompt(
            f"Removing pool {full} will remove {len(thins)} dependent volume(s). Proceed? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    if snapshots and not force and lv.active:
        if not ctx.console.prompt(
            f"Do you really want to remove active origin logical volume {full} with "
            f"{len(snapshots)} snapshots(s)? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    for dep in [*snapshots, *thins]:
        remove_one(ctx, vg, dep) if dep.kind == "thin" else delete_lv(ctx, vg, dep)
    if lv.role == "pmspare" and not force and not ctx.args.has("yes"):
        if not ctx.console.prompt(
            f"Removal of pool metadata spare logical volume {full} disables automatic recovery attempts "
            "after damage to a thin or cache pool. Proceed? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    elif lv.active and lv.kind != "thin-pool" and not force and not ctx.args.has("yes") and not snapshots:
        if not ctx.console.prompt(f"Do you really want to remove active logical volume {full}? [y/n]: "):
            raise LvmError(f"Logical volume {full} not removed.")
    delete_lv(ctx, vg, lv)


@command(CommandSpec("lvremove", {"force": "f", "select": "S", "autobackup": "A", "noudevsync": None}))
def lvremove(ctx: Ctx) -> int:
    if not ctx.args.pos:
        raise no_syntax("lvremove")
    rc = 0
    chosen: dict[str, tuple[VG, set[str], list[str]]] = {}
    for arg in ctx.args.pos:
        vg_name, lv_name = split_lv_arg(arg)
        try:
            vg = find_vg(ctx.state, vg_name or lv_name)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
            continue
        _, names, missing = chosen.setdefault(vg.name, (vg, set(), []))
        if not vg_name:
            names.update(n for n, lv in vg.lvs.items() if lv.visible)
        elif lv_name in vg.lvs:
            names.add(lv_name)
        else:
            missing.append(f"{vg_name}/{lv_name}")
    for vg, names, missing in chosen.values():
        rc = max(rc, remove_lvs(ctx, vg, processing_order(vg, names)))
        for full in missing:  # LVM reports the names it could not find after the VG's own LVs
            ctx.console.error(f'Failed to find logical volume "{full}"')
            rc = ECMD_FAILED
    return rc


def processing_order(vg: VG, names: set[str]) -> list[LV]:
    """process_each_lv's order: thin pools first (latest first), then the rest in VG order."""
    lvs = [lv for lv in vg.lvs.values() if lv.name in names]
    pools = [lv for lv in lvs if lv.kind == "thin-pool"]
    return [*reversed(pools), *(lv for lv in lvs if lv.kind != "thin-pool")]


# ---------------------------------------------------------------------------------------------
# lvrename


@command(CommandSpec("lvrename", {"autobackup": "A"}))
def lvrename(ctx: Ctx) -> int:
    pos = ctx.args.pos

    def usage_error(*lines: str) -> LvmError:
        return LvmError(*lines, run_help("lvrename"), rc=EINVALID_CMD_LINE)

    if len(pos) == 3:
        vg_name, old, new = pos
    elif len(pos) == 2:
        vg_name, old = split_lv_arg(pos[0])
        if not vg_name:
            raise usage_error(
                f'Path required for Logical Volume "{old}".', "Please provide a valid volume group name"
            )
        new_vg, new = split_lv_arg(pos[1])
        if new_vg and new_vg != vg_name:
            raise usage_error(
                f'Logical volume names must have the same volume group ("{vg_name}" or "{new_vg}")'
            )
    else:
        raise no_syntax("lvrename")
    if old == new:
        raise usage_error("Old and new logical volume names must differ")
    if name_problem(new):
        raise usage_error(f'New logical volume name "{new}" is invalid')
    check_new_lv_name(vg_name, new, "lvrename")
    vg = find_vg(ctx.state, vg_name)
    lv = vg.lvs.get(old)
    if lv is None:
        raise LvmError(f'Existing logical volume "{old}" not found in volume group "{vg_name}"')
    if new in vg.lvs:
        raise LvmError(f'Logical Volume "{new}" already exists in volume group "{vg_name}"')
    rename_lv(vg, lv, new)
    vg.seqno += 1
    ctx.console.print(f'Renamed "{old}" to "{new}" in volume group "{vg_name}"')
    return 0


def rename_lv(vg: VG, lv: LV, new: str) -> None:
    """Rename lv and every reference to it (sub-LVs of a pool follow the pool's name)."""
    old = lv.name
    vg.lvs = {(new if n == old else n): v for n, v in vg.lvs.items()}
    lv.name = new
    for other in vg.lvs.values():
        if other.pool == old:
            other.pool = new
        if other.origin == old:
            other.origin = new
        if other.parent == old:
            suffix = other.name[len(old) :]
            vg.lvs = {(new + suffix if n == other.name else n): v for n, v in vg.lvs.items()}
            other.name = new + suffix
            other.parent = new
            if lv.data_lv.endswith(suffix) and suffix == "_tdata":
                lv.data_lv = other.name
            if suffix == "_tmeta":
                lv.metadata_lv = other.name


# ---------------------------------------------------------------------------------------------
# lvchange


def set_active(ctx: Ctx, vg: VG, lv: LV, on: bool) -> None:
    if not on and lv.open_count:
        raise LvmError(devmap.in_use_message(ctx.state, vg, lv))
    try:
        from lvsim import thin
    except ImportError:
        lv.active = on
    else:
        thin.set_active(ctx, vg, lv, on)


@command(
    CommandSpec(
        "lvchange",
        {
            "activate": "a",
            "alloc": None,
            "addtag": None,
            "deltag": None,
            "autobackup": "A",
            "discards": None,
            "errorwhenfull": None,
            "ignoreactivationskip": "K",
            "major": None,
            "minor": None,
            "monitor": None,
            "permission": "p",
            "persistent": "M",
            "readahead": "r",
            "refresh": None,
            "setactivationskip": "k",
            "zero": "Z",
            "force": "f",
            "select": "S",
        },
    )
)
def lvchange(ctx: Ctx) -> int:
    args = ctx.args
    if not args.pos or not any(args.has(o) for o in LVCHANGE_ACTIONS):
        raise no_syntax("lvchange")
    rc = 0
    for arg in args.pos:
        vg_name, lv_name = split_lv_arg(arg)
        try:
            if not vg_name:
                vg = find_vg(ctx.state, lv_name)
                targets = [lv for lv in vg.lvs.values() if lv.visible]
            else:
                vg = find_vg(ctx.state, vg_name)
                lv = vg.lvs.get(lv_name)
                if lv is None:
                    raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
                targets = [lv]
            for lv in targets:
                change_one(ctx, vg, lv)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc


LVCHANGE_ACTIONS = (
    "activate",
    "alloc",
    "addtag",
    "deltag",
    "discards",
    "errorwhenfull",
    "major",
    "minor",
    "monitor",
    "permission",
    "persistent",
    "readahead",
    "refresh",
    "setactivationskip",
    "zero",
)


def change_one(ctx: Ctx, vg: VG, lv: LV) -> None:
    args = ctx.args
    changed = False
    if args.has("permission"):
        lv.writable = args.get("permission") != "r"
        changed = True
    if args.has("alloc"):
        lv.alloc = str(args.get("alloc"))
        changed = True
    if args.has("setactivationskip"):
        lv.skip_activation = bool(args.get("setactivationskip"))
        changed = True
    if any(args.has(o) for o in ("zero", "errorwhenfull", "discards")):
        from lvsim.commands import thin

        thin.change_pool(ctx, vg, lv)
        changed = True
    if changed:
        vg.seqno += 1
        ctx.console.print(f"Logical volume {vg.name}/{lv.name} changed.")
    if args.has("activate"):
        on = args.get("activate") == "y"
        if on and lv.skip_activation and not args.has("ignoreactivationskip"):
            return
        set_active(ctx, vg, lv, on)
