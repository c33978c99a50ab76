"""lvextend, lvreduce and lvresize of linear LVs, thin pools (and their sub-LVs), thin volumes and
COW snapshots, and lvextend --usepolicies (what dmeventd runs when a pool or snapshot fills up)."""

from __future__ import annotations

from collections.abc import Callable

from lvsim.core import alloc, mapping
from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.model import LV, VG, LVKind, MiB
from lvsim.core.names import split_lv_arg
from lvsim.core.pool_sizing import COW_DEFAULT_CHUNK, MAX_METADATA, cow_max_extents, estimate_metadata
from lvsim.core.units import SECTOR, SizeArg, display_size
from lvsim.lvm.common import (
    autoextend_config,
    check_pvs,
    check_zero_size,
    overprovisioning_warnings,
    run_help,
)
from lvsim.lvm.missing_pvs import read_vg_to_change
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.pool_create import allocate_checked, handle_spare


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
    devices = args.pos[1:]  # %PVS of PVs named: their free extents (in the PE ranges given)
    base = {
        "VG": alloc.vg_extent_count(ctx.state, vg),
        "FREE": free,
        "LV": cur,
        "PVS": sum(a.count for a in alloc.free_areas(ctx.state, vg, devices))
        if devices
        else alloc.vg_extent_count(ctx.state, vg),
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
    vg_name, lv_name = split_lv_arg(ctx.args.pos[0])
    if not vg_name:
        raise LvmError("Please specify a logical volume path.", run_help(ctx.command), rc=EINVALID_CMD_LINE)
    vg = read_vg_to_change(ctx, vg_name)
    lv = vg.lvs.get(lv_name)
    if lv is None:
        raise LvmError(f"Logical volume {lv_name} not found in volume group {vg_name}.")
    return vg, lv


def resize(ctx: Ctx, mode: str) -> int:
    args = ctx.args
    by_pv = not any(args.has(o) for o in ("size", "extents", "poolmetadatasize", "usepolicies"))
    if mode == "extend" and by_pv and len(args.pos) > 1:  # lvextend LV PV...: all their free space
        args.opts["extents"] = [SizeArg("+", 100, "PVS")]
    if not args.has("size") and not args.has("extents"):  # --usepolicies or --poolmetadatasize alone
        return resize_special(ctx, mode)
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents but not both.", run_help(ctx.command), rc=EINVALID_CMD_LINE
        )
    check_zero_size(args, ctx.command)
    vg, lv = resize_target(ctx)
    devices = args.pos[1:]
    check_pvs(ctx, vg, devices)
    if lv.kind != LVKind.LINEAR or lv.role:
        return resize_lv(ctx, mode, vg, lv)
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
    else:
        confirm_reduce(ctx, vg, lv, target)
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
    if (mode == "reduce" or target < cur) and any(
        o.kind == LVKind.COW and o.origin == lv.name for o in vg.lvs.values()
    ):
        raise LvmError("Snapshot origin volumes cannot be reduced in size yet.")
    if target <= 0:
        raise LvmError(f"Unable to reduce {vg.name}/{lv.name} below 1 extent.")
    if mode == "extend" and target < cur:
        raise LvmError(f"New size given ({target} extents) not larger than existing size ({cur} extents)")
    if mode == "reduce" and target > cur:
        raise LvmError(f"New size given ({target} extents) not less than existing size ({cur} extents)")
    if target == cur:
        raise LvmError(f"New size ({target} extents) matches existing size ({cur} extents).")


def confirm_reduce(ctx: Ctx, vg: VG, lv: LV, target: int) -> None:
    """_lv_reduce_vdo_discard's check: an LV without a device is reduced silently; an active one
    with a warning and, without --force or --yes, a question."""
    from lvsim.lvm.report.view import VgView

    info = VgView(ctx.state, vg).info(lv)
    if not info.exists:
        return
    size = display_size(target * vg.extent_size)
    ctx.console.warn(f"Reducing active{' and open' if info.open else ''} logical volume to {size}.")
    ctx.console.error("THIS MAY DESTROY YOUR DATA (filesystem etc.)")
    if ctx.args.has("force") or ctx.args.has("yes"):
        return
    if not ctx.console.prompt(f"Do you really want to reduce {vg.name}/{lv.name}? [y/n]: "):
        raise LvmError(f"Logical volume {vg.name}/{lv.name} NOT reduced.")


@command(LvmSpec("lvextend"))
def lvextend(ctx: Ctx) -> int:
    return resize(ctx, "extend")


@command(LvmSpec("lvreduce"))
def lvreduce(ctx: Ctx) -> int:
    return resize(ctx, "reduce")


@command(LvmSpec("lvresize"))
def lvresize(ctx: Ctx) -> int:
    return resize(ctx, "resize")


# ---------------------------------------------------------------------------------------------
# Thin pools, their sub-LVs, thin volumes and COW snapshots


def resize_lv(ctx: Ctx, mode: str, vg: VG, lv: LV) -> int:
    """lvextend/lvreduce/lvresize of a thin pool, its sub-LVs, a thin volume or a COW snapshot."""
    devices = ctx.args.pos[1:]
    if lv.kind == LVKind.THIN_POOL or lv.role == "tdata":
        pool = lv if lv.kind == LVKind.THIN_POOL else vg.lvs[lv.parent]
        target, partial = new_extents(ctx, vg, pool, mode)
        return resize_pool(ctx, mode, vg, pool, target, partial, devices)
    if lv.role == "tmeta":
        target, partial = new_extents(ctx, vg, lv, mode)
        if target < lv.le_count:
            raise LvmError(f"Thin pool metadata volumes {vg.name}/{lv.name} cannot be reduced.")
        rc = resize_extents(
            ctx,
            mode,
            vg,
            lv,
            target,
            partial,
            devices,
            after=lambda: overprovisioning_warnings(ctx, vg, lv),
        )
        handle_spare(ctx, vg, 0, devices)
        return rc
    if lv.kind == LVKind.THIN:
        target, _ = new_extents(ctx, vg, lv, mode)
        return _resize_thin(ctx, mode, vg, lv, target)
    if lv.kind == LVKind.COW:
        return _resize_cow(ctx, mode, vg, lv, devices)
    if lv.role == "pmspare":
        raise LvmError(f"Can't resize internal logical volume {vg.name}/{lv.name}.")
    raise LvmError(f"Cannot resize {vg.name}/{lv.name}.")


def _resize_thin(ctx: Ctx, mode: str, vg: VG, lv: LV, target: int) -> int:
    cur = lv.le_count
    full = f"{vg.name}/{lv.name}"
    check_new_size(vg, lv, mode, target)
    if target < cur:
        confirm_reduce(ctx, vg, lv, target)
    ext = vg.extent_size
    ctx.console.print(
        f"Size of logical volume {full} changed from {display_size(cur * ext)} ({cur} extents) "
        f"to {display_size(target * ext)} ({target} extents)."
    )
    lv.virtual_extents = target
    vg.seqno += 1
    if target > cur:
        overprovisioning_warnings(ctx, vg, lv)
    ctx.console.print(f"Logical volume {full} successfully resized.")
    return 0


def _resize_cow(ctx: Ctx, mode: str, vg: VG, lv: LV, devices: list[str], target: int = 0) -> int:
    origin = vg.lvs[lv.origin]
    partial = False
    if not target:
        target, partial = new_extents(ctx, vg, lv, mode)
        arg = ctx.args.get("extents")
        if isinstance(arg, SizeArg) and arg.percent == "ORIGIN":
            count = -(-arg.value * origin.le_count // 100)
            target = {"+": lv.le_count + count, "-": lv.le_count - count, "": count}[arg.sign]
    limit = cow_max_extents(vg, origin, lv.chunk_size or COW_DEFAULT_CHUNK)
    if target > limit:
        ctx.console.print(
            f"Reached maximum COW size {display_size(limit * vg.extent_size)} ({limit} extents)."
        )
        target = limit
    return resize_extents(ctx, mode, vg, lv, target, partial, devices)


def resize_pool(
    ctx: Ctx,
    mode: str,
    vg: VG,
    pool: LV,
    target: int,
    partial: bool,
    devices: list[str],
    meta_target: int = 0,
) -> int:
    """Grow a pool's data to `target` extents; its metadata first when asked or when it must grow.

    Without --poolmetadatasize and a PV list, LVM grows the metadata to the estimate for the new
    data size (64 bytes per chunk) when that exceeds the current metadata.
    """
    tdata, tmeta = vg.lvs[pool.data_lv], vg.lvs[pool.metadata_lv]
    if target < pool.le_count:
        raise LvmError(f"Thin pool volumes {vg.name}/{tdata.name} cannot be reduced in size yet.")
    ext = vg.extent_size
    if ctx.args.has("poolmetadatasize"):
        meta_target = metadata_target(ctx, vg, tmeta)
    elif not meta_target and not devices:
        estimate = estimate_metadata(target * ext, pool.chunk_size)
        if estimate > tmeta.le_count * ext:
            meta_target = -(-estimate // ext)
            if estimate % ext:
                ctx.console.print(
                    f"Rounding size to boundary between physical extents: {display_size(meta_target * ext)}."
                )
    if meta_target:
        resize_metadata(ctx, vg, tmeta, meta_target, devices, standalone=False)

    def resized() -> None:
        pool.virtual_extents = tdata.le_count
        mapping.pool_resized(vg, pool)
        overprovisioning_warnings(ctx, vg, pool)

    return resize_extents(ctx, mode, vg, tdata, target, partial, devices, shown=pool, after=resized)


def metadata_target(ctx: Ctx, vg: VG, tmeta: LV) -> int:
    """The _tmeta size --poolmetadatasize [+]SIZE asks for, in extents (rounded up, capped)."""
    arg = ctx.args.get("poolmetadatasize")
    assert isinstance(arg, SizeArg)
    ext = vg.extent_size
    nbytes = arg.value * SECTOR
    count = -(-nbytes // ext)
    if nbytes % ext:
        ctx.console.print(f"Rounding size to boundary between physical extents: {display_size(count * ext)}.")
    return tmeta.le_count + count if arg.sign == "+" else count


def resize_metadata(ctx: Ctx, vg: VG, tmeta: LV, target: int, devices: list[str], standalone: bool) -> None:
    """Grow a pool's _tmeta (never shrink) and the spare with it."""
    ext = vg.extent_size
    max_ext = -(-MAX_METADATA // ext)
    if target > max_ext:
        ctx.console.print(
            f"Reached maximum pool metadata size {display_size(MAX_METADATA)} ({max_ext} extents)."
        )
        target = max_ext
    cur = tmeta.le_count
    full = f"{vg.name}/{tmeta.name}"
    if target <= cur:
        ctx.console.print(
            f"Size of logical volume {full} unchanged from {display_size(cur * ext)} ({cur} extents)."
        )
    else:
        allocate_checked(ctx, vg, tmeta, target - cur, devices)
        ctx.console.print(
            f"Size of logical volume {full} changed from {display_size(cur * ext)} ({cur} extents) "
            f"to {display_size(target * ext)} ({target} extents)."
        )
        handle_spare(ctx, vg, 0, devices)
        vg.seqno += 1
        if standalone:
            overprovisioning_warnings(ctx, vg, tmeta)
    if standalone:
        ctx.console.print(f"Logical volume {full} successfully resized.")


def _policy_amount(pct: int, threshold: int, amount: int) -> int:
    """_adjust_amount: the percentage to grow by so usage drops below the threshold (0: none)."""
    if not 50_000_000 < pct <= 100_000_000 or pct <= threshold * 1_000_000:
        return 0
    step = threshold * 10_000
    needed = (pct + step - 1) // step - 100
    return max(needed, amount)


def use_policies(ctx: Ctx, vg: VG, lv: LV) -> int:
    """lvextend --usepolicies: what dmeventd runs when a pool or snapshot fills up."""
    from lvsim.core import usage
    from lvsim.core.units import percent_value

    full = f"{vg.name}/{lv.name}"
    if lv.kind not in (LVKind.THIN_POOL, LVKind.COW):
        raise LvmError("Policy-based resize is supported only for snapshot, thin pool and vdo pool volumes.")
    kind = "thin_pool" if lv.kind == LVKind.THIN_POOL else "snapshot"
    threshold, amount = autoextend_config(ctx, kind)
    if threshold < 50:
        if kind == "thin_pool":
            ctx.console.warn(
                f"Thin pool autoextend threshold {threshold}% is set below minimum supported 50%."
            )
        else:
            ctx.console.warn(
                f"Snapshot autoextend threshold {threshold}% is set bellow minimal supported value 50%."
            )
        threshold = 50
    if threshold >= 100:
        return 0
    if not amount:
        segtype = "thin-pool" if kind == "thin_pool" else "snapshot"
        raise LvmError(f"Can't extend {full} with {segtype} autoextend percent set to 0%.")
    if lv.kind == LVKind.COW:
        used, total, _ = usage.cow_usage(ctx.state, vg, lv)
        grow = _policy_amount(percent_value(used, total), threshold, amount)
        if not grow:
            return 0
        return _resize_cow(ctx, "extend", vg, lv, [], lv.le_count + -(-grow * lv.le_count // 100))
    tmeta = vg.lvs[lv.metadata_lv]
    meta_pct = percent_value(*usage.pool_metadata_usage(ctx.state, vg, lv))
    min_threshold = (
        100_000_000 - min(25_000_000, percent_value(4 * MiB, tmeta.le_count * vg.extent_size))
    ) // 1_000_000
    meta_grow = _policy_amount(meta_pct, min(min_threshold, threshold), amount)
    meta_grow += 1 if meta_grow else 0
    data_pct = percent_value(*usage.pool_data_usage(ctx.state, vg, lv))
    grow = _policy_amount(data_pct, threshold, amount)
    meta_target = tmeta.le_count + -(-meta_grow * tmeta.le_count // 100) if meta_grow else 0
    if not grow:
        if meta_target:
            resize_metadata(ctx, vg, tmeta, meta_target, [], standalone=True)
        return 0
    target = lv.le_count + -(-grow * lv.le_count // 100)
    return resize_pool(ctx, "extend", vg, lv, target, False, [], meta_target)


def resize_special(ctx: Ctx, mode: str) -> int:
    """lvextend --usepolicies / --poolmetadatasize without -L/-l."""
    args = ctx.args
    vg, lv = resize_target(ctx)
    if args.has("usepolicies"):
        return use_policies(ctx, vg, lv)
    if lv.kind != LVKind.THIN_POOL and lv.role != "tmeta":
        raise LvmError("--poolmetadatasize can be used only with thin pools.")
    tmeta = lv if lv.role == "tmeta" else vg.lvs[lv.metadata_lv]
    resize_metadata(ctx, vg, tmeta, metadata_target(ctx, vg, tmeta), args.pos[1:], standalone=True)
    return 0
