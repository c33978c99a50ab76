"""lvconvert: a linear LV (and optionally a metadata LV) into a thin pool; --merge of snapshots."""

from __future__ import annotations

from lvsim.core import alloc, mapping
from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.lifecycle import finish_merge
from lvsim.core.model import LV, VG, LVKind
from lvsim.core.names import find_vg, split_lv_arg
from lvsim.core.pool_sizing import MIN_METADATA, round_up, validate_chunk
from lvsim.core.units import SECTOR, SizeArg, display_size
from lvsim.lvm.common import LV_TYPE_NAMES, extents_for_size, overprovisioning_warnings, run_help
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.pool_create import build_pool, handle_spare, pool_params
from lvsim.lvm.refusal import refuse


@command(LvmSpec("lvconvert"))
def lvconvert(ctx: Ctx) -> int:
    args = ctx.args
    if args.has("merge") or args.has("mergesnapshot") or args.has("mergethin"):
        return merge(ctx)
    if not args.has("type") and not args.has("thinpool"):
        return poll(ctx)
    return convert_to_pool(ctx, args.pos[0] if args.pos else args.str("thinpool"))


def poll(ctx: Ctx) -> int:
    """`lvconvert LV`: finish a mirror or raid conversion. lvsim's LVs are never of those types,
    so LVM refuses the LV's type."""
    vg_name, lv_name = split_lv_arg(ctx.args.pos[0])
    vg = find_vg(ctx.state, vg_name)
    lv = vg.lvs.get(lv_name)
    if lv is None:
        raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
    kind = LV_TYPE_NAMES.get(lv.kind)
    if kind is None:
        refuse(f"lvconvert of a {lv.kind} LV")
    full = f"{vg.name}/{lv.name}"
    ctx.console.error(f"Command on LV {full} does not accept LV type {kind}.")
    raise LvmError(f"Command not permitted on LV {full}.")


def convert_to_pool(ctx: Ctx, target: str) -> int:
    args = ctx.args
    vg_name, lv_name = split_lv_arg(target)
    if not vg_name:
        raise LvmError("Please specify a logical volume path.", run_help("lvconvert"), rc=EINVALID_CMD_LINE)
    vg = find_vg(ctx.state, vg_name)
    lv = vg.lvs.get(lv_name)
    if lv is None:
        raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
    _check_pool_data(vg, lv)
    chunk = 0
    carg = args.get("chunksize")
    if isinstance(carg, SizeArg):
        chunk = carg.value * SECTOR
        problems = validate_chunk(chunk)
        if problems:
            raise LvmError(*problems, run_help("lvconvert"), rc=EINVALID_CMD_LINE)
    meta_lv: LV | None = None
    if args.has("poolmetadata"):
        m_vg, m_name = split_lv_arg(args.str("poolmetadata"))
        meta_lv = vg.lvs.get(m_name)
        if meta_lv is None:
            raise LvmError(f'Failed to find logical volume "{m_vg or vg.name}/{m_name}"')
        _check_pool_metadata(vg, lv, meta_lv)
    meta_ext = meta_lv.le_count if meta_lv else 0
    msize = args.get("poolmetadatasize")
    if isinstance(msize, SizeArg) and not meta_lv:
        meta_ext = extents_for_size(ctx, vg, msize.value)
    zero = args.get("zero")
    if meta_lv and meta_lv.le_count * vg.extent_size < MIN_METADATA:
        raise LvmError(
            f"Can't use volume {vg.name}/{meta_lv.name} with size {display_size(meta_lv.le_count * vg.extent_size)} "
            f"as pool metadata. Minimal required size is {display_size(round_up(MIN_METADATA, vg.extent_size))}."
        )
    params = pool_params(ctx, vg, lv.le_count, chunk, meta_ext, None if zero is None else bool(zero))
    full = f"{vg.name}/{lv.name}"
    if meta_lv:
        what = f"Converting {full} and {vg.name}/{meta_lv.name} to thin pool's data and metadata volumes"
    else:
        what = f"Converting {full} to thin pool's data volume"
    ctx.console.warn(f"{what} with metadata wiping.")
    ctx.console.error("THIS WILL DESTROY CONTENT OF LOGICAL VOLUME (filesystem etc.)")
    if not args.has("yes") and not ctx.console.prompt(f"Do you really want to convert {full}? [y/n]: "):
        raise LvmError("Conversion aborted.")
    overprovisioning_warnings(ctx, vg, lv)  # the pools already there (lv is not one yet)
    del vg.lvs[lv.name]
    name = lv.name
    if meta_lv:
        del vg.lvs[meta_lv.name]
        pool = build_pool(ctx, vg, name, lv, 0, params, [])
        del vg.lvs[pool.metadata_lv]
        meta_lv.name, meta_lv.role, meta_lv.parent, meta_lv.visible = f"{name}_tmeta", "tmeta", name, False
        vg.lvs[meta_lv.name] = meta_lv
        pool.metadata_lv = meta_lv.name
    else:
        avail = alloc.vg_free_count(ctx.state, vg)
        if avail < params.meta_extents:
            vg.lvs[lv.name] = lv
            raise LvmError(
                f"Insufficient free space: {params.meta_extents} extents needed, but only {avail} available"
            )
        pool = build_pool(ctx, vg, name, lv, params.meta_extents, params, [])
    pool.active = lv.active
    handle_spare(ctx, vg, 0, [], args.get("poolmetadataspare") is not False)
    vg.seqno += 1
    if meta_lv:
        ctx.console.print(
            f"Converted {full} and {vg.name}/{name}_tmeta to thin pool.".replace(
                f"{vg.name}/{name}_tmeta", f"{vg.name}/{args.str('poolmetadata').split('/')[-1]}"
            )
        )
    else:
        ctx.console.print(f"Converted {full} to thin pool.")
    return 0


def _check_pool_data(vg: VG, lv: LV) -> None:
    """The LV to become a pool's data: LVM's refusals of internal LVs, snapshots, thins, origins, pools."""
    full = f"{vg.name}/{lv.name}"
    if not lv.visible:
        raise LvmError(
            f"Command on LV {full} requires LV with properties: lv_is_visible .",
            f"Command not permitted on LV {full}.",
        )
    if lv.kind in (LVKind.COW, LVKind.THIN):
        what = "snapshot" if lv.kind == LVKind.COW else "thin"
        raise LvmError(f"LV {full} with type {what} cannot be used as a thin pool LV.")
    if mapping.cow_snapshots_of(vg, lv):
        raise LvmError(f"Cannot convert logical volume {full} under snapshot.")
    if lv.kind == LVKind.THIN_POOL:
        if lv.active:  # its own _tdata and _tmeta are active volumes
            raise LvmError(f"Cannot convert pool {full} with active volumes.")
        refuse("lvconvert --thinpool of an existing thin pool (swapping its metadata)")


def _check_pool_metadata(vg: VG, data: LV, meta: LV) -> None:
    """The LV to become the pool's metadata: not the data LV, not internal, a plain linear LV."""
    if meta is data:
        raise LvmError(f"Can't use same LV for pool data and metadata LV {vg.name}/{meta.name}.")
    if not meta.visible:
        raise LvmError(f"Can't convert internal LV {vg.name}/{meta.name}.")
    if meta.kind != LVKind.LINEAR or mapping.cow_snapshots_of(vg, meta):
        raise LvmError(f"Pool metadata LV {vg.name}/{meta.name} is of an unsupported type.")


def merge(ctx: Ctx) -> int:
    """lvconvert --merge (--mergesnapshot, --mergethin) of a thin or COW snapshot; delayed while the
    origin is open."""
    vg_name, lv_name = split_lv_arg(ctx.args.pos[0])
    if not vg_name:  # a name without a slash is a VG's (process_each_lv)
        find_vg(ctx.state, lv_name)
        refuse("lvconvert --merge of every LV of a VG")
    vg = find_vg(ctx.state, vg_name)
    snap = vg.lvs.get(lv_name)
    if snap is None:
        raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
    for option, kind in (("mergesnapshot", LVKind.COW), ("mergethin", LVKind.THIN)):
        if ctx.args.has(option) and snap.kind != kind:  # LVM's answer here was never recorded
            refuse(f"lvconvert --{option} of a {snap.kind} LV")
    origin = vg.lvs.get(snap.origin) if snap.origin else None
    if origin is None or snap.kind not in (LVKind.THIN, LVKind.COW):
        raise LvmError(f"Logical volume {vg.name}/{snap.name} is not a snapshot.")
    if snap.kind == LVKind.THIN and mapping.cow_snapshots_of(vg, origin):
        raise LvmError(f"Merging into the old snapshot origin {vg.name}/{origin.name} is not supported.")
    full, origin_full = f"{vg.name}/{snap.name}", f"{vg.name}/{origin.name}"
    if origin.open_count:
        snap.merging = True
        snap.visible = False
        vg.seqno += 1
        if snap.kind == LVKind.THIN:
            ctx.console.print("Delaying merge since origin volume is open.")
            ctx.console.print(
                f"Merging of thin snapshot {full} will occur on next activation of {origin_full}."
            )
            ctx.console.error(f"Logical volume {origin_full} in use.")
        else:
            ctx.console.print("Delaying merge since origin is open.")
            ctx.console.print(f"Merging of snapshot {full} will occur on next activation of {origin_full}.")
        return 0
    if snap.kind == LVKind.THIN:
        finish_merge(ctx.state, vg, snap)
        ctx.console.print(f"Volume {full} replaced origin {origin_full}.")
        return 0
    ctx.console.print(f"Merging of volume {full} started.")
    ctx.console.print(f"{origin_full}: Merged: 100.00%")
    ctx.console.print(f"Merge of snapshot into logical volume {origin_full} has finished.")
    finish_merge(ctx.state, vg, snap)
    ctx.console.print(f'Logical volume "{snap.name}" successfully removed.')
    return 0
