"""lvcreate: linear LVs, thin pools, thin volumes, thin snapshots and COW snapshots.

Sizes inside follow LVM: sectors for chunk and metadata arithmetic, extents for allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

from lvsim.core import alloc, mapping
from lvsim.core.context import Args, Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.model import LV, VG, KiB, LVKind, MiB
from lvsim.core.names import check_new_lv_name, next_lv_name, next_snapshot_name, split_lv_arg
from lvsim.core.pool_sizing import COW_DEFAULT_CHUNK, cow_max_extents, validate_chunk
from lvsim.core.units import SECTOR, SizeArg, display_size, f32, percent_value
from lvsim.lvm import readahead, tags
from lvsim.lvm.common import (
    autoextend_config,
    check_pvs,
    check_zero_size,
    extents_for_size,
    new_lv,
    overprovisioning_warnings,
    percent_extents,
    run_help,
)
from lvsim.lvm.missing_pvs import read_vg_to_change
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.pool_create import build_pool, handle_spare, pool_params, spare_of
from lvsim.lvm.refusal import refuse


def _existing_check(vg: VG, name: str) -> None:
    if name in vg.lvs:
        raise LvmError(f'Logical Volume "{name}" already exists in volume group "{vg.name}"')


@dataclass
class Request:
    """What an lvcreate command line asks for, after LVM's segment-type resolution."""

    segtype: str  # thin-pool, thin, snapshot
    create_pool: bool
    snapshot: bool
    vg: str
    lv_name: str
    pool_name: str
    origin: str
    devices: list[str]


# lvcreate options in LVM's argument-table order (the order its option checks report in)
ARG_ORDER = [
    "addtag",
    "alloc",
    "setautoactivation",
    "discards",
    "errorwhenfull",
    "minor",
    "monitor",
    "noudevsync",
    "poolmetadatasize",
    "poolmetadataspare",
    "thinpool",
    "type",
    "activate",
    "autobackup",
    "chunksize",
    "contiguous",
    "extents",
    "size",
    "persistent",
    "major",
    "setactivationskip",
    "ignoreactivationskip",
    "name",
    "permission",
    "readahead",
    "snapshot",
    "thin",
    "virtualsize",
    "wipesignatures",
    "zero",
]
LVCREATE_ARGS = set(
    [
        "activate",
        "addtag",
        "alloc",
        "autobackup",
        "contiguous",
        "ignoreactivationskip",
        "monitor",
        "name",
        "noudevsync",
        "permission",
        "persistent",
        "readahead",
        "setactivationskip",
        "type",
        "major",
        "minor",
    ]
)
SIZE_ARGS = {"extents", "size"}
POOL_ARGS = {"poolmetadatasize", "poolmetadataspare"}


def _check_options(ctx: Ctx, allowed: set[str], what: str) -> None:
    """arg_outside_list_is_set: the first given option outside `allowed` is an error."""
    for option in ARG_ORDER:
        if ctx.args.has(option) and option not in allowed:
            raise LvmError(f"Option --{option} {what}.", run_help("lvcreate"), rc=EINVALID_CMD_LINE)


def _segtype(ctx: Ctx) -> str:
    args = ctx.args
    if args.has("type"):
        return str(args.get("type"))
    if args.has("snapshot") and not args.has("virtualsize"):
        return "snapshot"
    return "thin"  # -T, --thinpool, or -V alone (global/sparse_segtype_default is "thin")


def parse_request(ctx: Ctx) -> Request:
    """_lvcreate_params and _lvcreate_name_params for the thin and snapshot types."""
    args = ctx.args
    segtype = _segtype(ctx)
    has_size = args.has("size") or args.has("extents")
    snapshot = segtype == "snapshot"
    create_pool = segtype == "thin-pool"
    if segtype == "snapshot":
        _check_options(
            ctx,
            LVCREATE_ARGS | SIZE_ARGS | {"chunksize", "snapshot", "thinpool", "virtualsize"},
            "is unsupported with snapshots",
        )
        if args.has("thinpool"):
            if args.has("type"):
                raise LvmError("Snapshot segment type is incompatible with thin pools.")
            _check_options(
                ctx,
                set(ARG_ORDER) - SIZE_ARGS - {"chunksize", "virtualsize"},
                "is unsupported with snapshots and --thinpool",
            )
    if segtype == "snapshot" and args.get("type") == "snapshot" and not has_size:
        raise LvmError("Snapshot segment type requires size or extents.")
    if segtype == "thin-pool":
        allowed = LVCREATE_ARGS | POOL_ARGS | SIZE_ARGS | {"discards", "thinpool", "chunksize", "zero"}
        allowed -= {"major", "minor", "persistent"}
        _check_options(ctx, allowed, "is unsupported with thin pools")
    if segtype == "thin":
        _check_options(
            ctx,
            LVCREATE_ARGS
            | POOL_ARGS
            | SIZE_ARGS
            | {"discards", "thinpool", "chunksize", "errorwhenfull"}
            | {"snapshot", "thin", "virtualsize", "wipesignatures", "zero"},
            "is unsupported with thins",
        )
        if not has_size:
            only = POOL_ARGS | {"chunksize", "discards", "errorwhenfull", "zero"}
            _check_options(ctx, set(ARG_ORDER) - only, "is supported only with thin pool creation")
        create_pool = has_size
        if not args.has("virtualsize"):
            if create_pool:
                if args.has("type"):
                    raise LvmError("Thin segment type requires --virtualsize.")
                segtype = "thin-pool"
            else:
                snapshot = True
        elif args.has("snapshot"):
            snapshot = True
    name_vg, lv_name = split_lv_arg(args.str("name")) if args.has("name") else ("", "")
    pool_vg, pool_name = split_lv_arg(args.str("thinpool")) if args.has("thinpool") else ("", "")
    vg_name = name_vg or pool_vg
    origin = ""
    pos = list(args.pos)
    if snapshot and not args.has("virtualsize"):
        if not pos:
            raise LvmError("Please specify a logical volume to act as the snapshot origin.")
        o_vg, origin = split_lv_arg(pos.pop(0))
        if not o_vg and not vg_name:
            raise LvmError(
                "The origin name should include the volume group.", run_help("lvcreate"), rc=EINVALID_CMD_LINE
            )
        vg_name = _same_vg(vg_name, o_vg)
    elif pos:
        p_vg, p_name = split_lv_arg(pos.pop(0))
        if not p_vg:
            vg_name = _same_vg(vg_name, p_name)
        else:
            vg_name = _same_vg(vg_name, p_vg)
            if pool_name and pool_name != p_name:
                raise LvmError(f"Ambiguous {segtype} name specified, {p_name} and {pool_name}.")
            pool_name = p_name
    if segtype == "thin-pool" and lv_name:
        if pool_name and lv_name != pool_name:
            raise LvmError(f"Ambiguous thin-pool name specified, {lv_name} and {pool_name}.")
        pool_name, lv_name = lv_name, ""
    if pool_name and lv_name and pool_name == lv_name:
        raise LvmError(f"Logical volume name {lv_name} and pool name must be different.")
    for name in (lv_name, pool_name if create_pool else ""):  # an existing pool is looked up as named
        if name:
            check_new_lv_name(vg_name, name, "lvcreate") if name != origin else None
    return Request(segtype, create_pool, snapshot, vg_name, lv_name, pool_name, origin, pos)


def _same_vg(have: str, new: str) -> str:
    if have and new and have != new:
        raise LvmError(f'Inconsistent volume group names given: "{have}" and "{new}"', rc=EINVALID_CMD_LINE)
    return have or new


def _check_chunk_arg(ctx: Ctx, req: Request) -> int:
    """The -c value in bytes (0 when not given), validated for the kind of LV being created."""
    arg = ctx.args.get("chunksize")
    if not isinstance(arg, SizeArg):
        return 0
    chunk = arg.value * SECTOR
    if req.segtype == "snapshot" and not req.create_pool:
        if chunk & (chunk - 1) or not 4 * KiB <= chunk <= 512 * KiB:
            raise LvmError(
                "Chunk size must be a power of 2 in the range 4K to 512K.",
                run_help("lvcreate"),
                rc=EINVALID_CMD_LINE,
            )
        return chunk
    if req.create_pool:
        problems = validate_chunk(chunk)
        if problems:
            raise LvmError(*problems, run_help("lvcreate"), rc=EINVALID_CMD_LINE)
    return chunk


def create_thin_or_snapshot(ctx: Ctx) -> int:
    """lvcreate for thin pools, thin volumes, thin snapshots and COW snapshots."""
    args = ctx.args
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents (not both).", run_help("lvcreate"), rc=EINVALID_CMD_LINE
        )
    check_zero_size(args, "lvcreate")
    try:
        req = parse_request(ctx)
    except LvmError as exc:  # whatever _lvcreate_params refuses is EINVALID_CMD_LINE, with the usage hint
        if exc.rc == EINVALID_CMD_LINE or exc.raw:
            raise
        raise LvmError(*exc.lines, run_help("lvcreate"), rc=EINVALID_CMD_LINE) from None
    chunk = _check_chunk_arg(ctx, req)
    vg = read_vg_to_change(ctx, req.vg)
    check_pvs(ctx, vg, req.devices)
    if req.snapshot and req.origin:
        origin = vg.lvs.get(req.origin)
        if origin is None:
            raise LvmError(f"Snapshot origin LV {req.origin} not found in Volume group {vg.name}.")
        if args.has("size") or args.has("extents"):
            return create_cow(ctx, vg, req, origin, chunk)
        return create_thin_snapshot(ctx, vg, req, origin)
    if not req.create_pool:
        if not req.pool_name:
            raise LvmError(
                "Please specify name of existing pool.", run_help("lvcreate"), rc=EINVALID_CMD_LINE
            )
        pool = vg.lvs.get(req.pool_name)
        if pool is None:
            raise LvmError(f"Pool {req.pool_name} not found in Volume group {vg.name}.")
        if pool.kind != LVKind.THIN_POOL:
            raise LvmError(f"Logical volume {vg.name}/{pool.name} is not a thin pool.")
        return create_thin(ctx, vg, req, pool)
    return create_pool(ctx, vg, req, chunk)


def create_pool(ctx: Ctx, vg: VG, req: Request, chunk: int) -> int:
    """A thin pool, optionally with a thin volume in it (-L with -V)."""
    args = ctx.args
    if req.pool_name:
        check_new_lv_name(vg.name, req.pool_name, "lvcreate")
        if req.pool_name in vg.lvs:
            raise LvmError(f"Logical volume {req.pool_name} already exists in Volume group {vg.name}.")
    size, arg = args.get("size"), args.get("extents")
    partial = False
    if isinstance(size, SizeArg):
        data_ext = extents_for_size(ctx, vg, size.value)
    else:
        assert isinstance(arg, SizeArg)
        data_ext = arg.value
        if arg.percent:
            data_ext = percent_extents(ctx, vg, arg, req.devices)
            partial = True
            if data_ext == 0:
                raise LvmError("Calculated size of logical volume is 0 extents. Needs to be larger.")
    virtual_ext = 0
    vsize = args.get("virtualsize")
    if isinstance(vsize, SizeArg):
        virtual_ext = extents_for_size(ctx, vg, vsize.value)
    meta_ext = 0
    msize = args.get("poolmetadatasize")
    if isinstance(msize, SizeArg):
        meta_ext = extents_for_size(ctx, vg, msize.value)
    zero = args.get("zero")
    params = pool_params(ctx, vg, data_ext, chunk, meta_ext, None if zero is None else bool(zero))
    if isinstance(arg, SizeArg) and arg.percent in ("FREE", "PVS"):
        if data_ext <= 2 * params.meta_extents:
            raise LvmError("Not enough space for thin pool creation.")
        data_ext -= 2 * params.meta_extents
    requested = data_ext
    had_spare = spare_of(vg) is not None
    handle_spare(ctx, vg, params.meta_extents, req.devices, args.get("poolmetadataspare") is not False)
    try:
        name = req.pool_name or next_lv_name(vg)
        free = alloc.vg_free_count(ctx.state, vg)
        if not partial and free < data_ext:
            raise LvmError(
                f'Volume group "{vg.name}" has insufficient free space ({free} extents): {data_ext} required.'
            )
        avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, req.devices or None))
        if data_ext + params.meta_extents > avail:
            if partial:  # the data takes what it can and leaves no room for the metadata
                raise LvmError(f"Insufficient suitable allocatable extents found for logical volume {name}.")
            raise LvmError(
                f"Insufficient free space: {data_ext + params.meta_extents} extents needed, but only {avail} available"
            )
        meta = None  # LVM allocates data and metadata in one go: the metadata may take its place first
        log = alloc.log_area(ctx.state, vg, data_ext, params.meta_extents, req.devices or None)
        if log is not None:
            meta = new_lv(ctx, vg, f"{name}_tmeta")
            vg.lvs[meta.name] = meta
            alloc.allocate(
                ctx.state,
                vg,
                meta,
                params.meta_extents,
                [f"{log.pv}:{log.pe_start}-{log.pe_start + log.count - 1}"],
            )
        data = new_lv(ctx, vg, f"{name}_tdata")
        vg.lvs[data.name] = data
        alloc.allocate(ctx.state, vg, data, data_ext, req.devices or None)
        del vg.lvs[data.name]
        if meta is not None:
            del vg.lvs[meta.name]
        pool = build_pool(ctx, vg, name, data, params.meta_extents, params, req.devices, meta)
    except LvmError:
        if not had_spare and (spare := spare_of(vg)) is not None:
            del vg.lvs[spare.name]
        raise
    apply_create_flags(ctx, pool)
    pool.alloc = "inherit"
    vg.seqno += 3  # LVM commits a new pool three times: data LV, metadata LV, conversion (recorded)
    if not virtual_ext:
        finish_create(ctx, vg, pool)
        return 0
    _chunk_aligned(ctx, vg, pool, requested)
    if req.lv_name:  # lv_create_single made and committed the pool first: it stays (recorded)
        _existing_check(vg, req.lv_name)
    lv = _new_thin(ctx, vg, req.lv_name or next_lv_name(vg), pool, virtual_ext)
    apply_create_flags(ctx, lv)
    finish_create(ctx, vg, lv)
    return 0


def _chunk_aligned(ctx: Ctx, vg: VG, pool: LV, extents: int) -> None:
    """LVM's chunk-boundary note for a thin created with its pool.

    lvcreate aligns the *pool's* extent count (not the thin's virtual size, which it then
    ignores) to chunks larger than an extent, and says so.
    """
    chunk = pool.chunk_size
    if chunk <= vg.extent_size:
        return
    aligned = -(-extents * vg.extent_size // chunk) * chunk // vg.extent_size
    if aligned != extents:
        ctx.console.print(f"Rounding size ({extents} extents) up to chunk boundary size ({aligned} extents).")


def _new_thin(ctx: Ctx, vg: VG, name: str, pool: LV, virtual_ext: int) -> LV:
    lv = new_lv(ctx, vg, name, kind=LVKind.THIN)
    lv.pool, lv.virtual_extents = pool.name, virtual_ext
    lv.thin_id = max((t.thin_id for t in mapping.thins_of(vg, pool)), default=0) + 1
    lv.transaction_id = pool.transaction_id
    pool.transaction_id += 1
    vg.lvs[name] = lv
    mapping.attach_thin(pool, lv)
    pool.active = pool.active or lv.active  # an active new thin activates its pool (recorded)
    vg.seqno += 2  # a new thin volume is committed twice (recorded)
    return lv


def _check_pool_usable(ctx: Ctx, vg: VG, pool: LV) -> None:
    """pool_below_threshold: a full or read-only pool refuses new thin volumes."""
    from lvsim.core import usage

    full = f"{vg.name}/{pool.name}"
    ok = True
    mode = mapping.pool_mode(pool)
    if mode != "rw":
        word = {
            "out_of_data": " is out of data space",
            "ro": " has read-only metadata",
            "fail": " is failed",
        }[mode]
        ctx.console.warn(f"Thin pool {full}{word}.")
        ok = False
    used, total = usage.pool_metadata_usage(ctx.state, vg, pool)
    tmeta = vg.lvs[pool.metadata_lv].le_count * vg.extent_size
    meta_free = min(25_000_000, percent_value(4 * MiB, tmeta))
    min_threshold = 100_000_000 - meta_free
    meta_pct = percent_value(used, total)
    if mode != "fail" and meta_pct >= min_threshold:
        ctx.console.warn(
            f"Remaining free space in metadata of thin pool {full} is too low "
            f"({_show_percent(meta_pct)}% >= {_show_percent(min_threshold)}%). Resize is recommended."
        )
        ok = False
    threshold = min(autoextend_config(ctx, "thin_pool")[0], 100) * 1_000_000
    data_pct = percent_value(*usage.pool_data_usage(ctx.state, vg, pool))
    if data_pct > threshold or meta_pct > threshold:  # LVM says this only in debug output
        ok = False
    if not ok:
        raise LvmError(f"Cannot create new thin volume, free space in thin pool {full} reached threshold.")


def _show_percent(p: int) -> str:
    return f"{f32(f32(p) / 1_000_000):.2f}"


def create_thin(ctx: Ctx, vg: VG, req: Request, pool: LV) -> int:
    args = ctx.args
    for option in ("alloc", "contiguous"):
        if args.has(option):
            raise LvmError(f"Option --{option} is only available when creating thin pool.")
    if req.devices:
        raise LvmError("Only specify Physical volumes when allocating thin pool.")
    vsize = args.get("virtualsize")
    assert isinstance(vsize, SizeArg)
    virtual_ext = extents_for_size(ctx, vg, vsize.value)
    name = req.lv_name
    if name:
        _existing_check(vg, name)
    _check_pool_usable(ctx, vg, pool)
    lv = _new_thin(ctx, vg, name or next_lv_name(vg), pool, virtual_ext)
    apply_create_flags(ctx, lv)
    _apply_skip(ctx, lv, default=False)
    finish_create(ctx, vg, lv)
    return 0


def _apply_skip(ctx: Ctx, lv: LV, default: bool) -> None:
    args = ctx.args
    skip = bool(args.get("setactivationskip")) if args.has("setactivationskip") else default
    lv.skip_activation = skip
    if skip and not args.has("ignoreactivationskip"):
        lv.active = False


def create_thin_snapshot(ctx: Ctx, vg: VG, req: Request, origin: LV) -> int:
    if req.pool_name:
        pool = vg.lvs.get(req.pool_name)
        if pool is None:
            raise LvmError(f"Thin pool volume {req.pool_name} not found in Volume group {vg.name}.")
        if pool.kind != LVKind.THIN_POOL:
            raise LvmError(f"Logical volume {vg.name}/{pool.name} is not a thin pool volume.")
    elif origin.kind != LVKind.THIN:
        if req.segtype != "thin":
            raise LvmError("Please specify either size or extents with snapshots.")
        raise LvmError(
            f"Logical volume {vg.name}/{origin.name} is not a thin volume. Thin snapshot supports only thin origins."
        )
    else:
        pool = vg.lvs[origin.pool]
    if origin.kind != LVKind.THIN or origin.pool != pool.name:
        raise LvmError("Cannot use writable LV as the external origin.")
    name = req.lv_name
    if name:
        _existing_check(vg, name)
    _check_pool_usable(ctx, vg, pool)
    lv = new_lv(ctx, vg, name or next_lv_name(vg), kind=LVKind.THIN)
    lv.pool, lv.virtual_extents, lv.origin = pool.name, origin.virtual_extents, origin.name
    lv.thin_id = max((t.thin_id for t in mapping.thins_of(vg, pool)), default=0) + 1
    lv.transaction_id = pool.transaction_id
    pool.transaction_id += 1
    vg.lvs[lv.name] = lv
    mapping.attach_snapshot(pool, origin, lv)
    vg.seqno += 2  # like a new thin volume (recorded)
    apply_create_flags(ctx, lv)
    _apply_skip(ctx, lv, default=True)
    finish_create(ctx, vg, lv)
    return 0


def create_cow(ctx: Ctx, vg: VG, req: Request, origin: LV, chunk: int) -> int:
    """A classic (COW) snapshot of origin in VG extents."""
    args = ctx.args
    chunk = chunk or COW_DEFAULT_CHUNK
    size, arg = args.get("size"), args.get("extents")
    partial = False
    if isinstance(size, SizeArg):
        extents = extents_for_size(ctx, vg, size.value)
    else:
        assert isinstance(arg, SizeArg)
        extents = arg.value
        if arg.percent == "ORIGIN":
            extents = (
                cow_max_extents(vg, origin, chunk) - origin.le_count + -(-arg.value * origin.le_count // 100)
            )
        elif arg.percent == "LV":
            raise LvmError("Please express size as %FREE, %ORIGIN, %PVS or %VG.")
        elif arg.percent:
            extents = percent_extents(ctx, vg, arg, req.devices)
        if arg.percent:
            partial = True
            if extents == 0:
                raise LvmError("Calculated size of logical volume is 0 extents. Needs to be larger.")
    limit = cow_max_extents(vg, origin, chunk)
    if limit < extents:
        ctx.console.print(
            f"Reducing COW size {display_size(extents * vg.extent_size)} down to maximum usable size "
            f"{display_size(limit * vg.extent_size)}."
        )
        extents = limit
    name = req.lv_name
    if name:
        _existing_check(vg, name)
    problem = _snapshot_origin_problem(origin)
    if problem:
        raise LvmError(f"Snapshots of {problem} are not supported.")
    if extents * vg.extent_size < 3 * chunk:
        raise LvmError(
            f"Snapshot volume cannot be smaller than 3 chunks ({-(-3 * chunk // vg.extent_size)} extents, "
            f"{display_size(3 * chunk)})."
        )
    free = alloc.vg_free_count(ctx.state, vg)
    if not partial and free < extents:
        raise LvmError(
            f'Volume group "{vg.name}" has insufficient free space ({free} extents): {extents} required.'
        )
    avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, req.devices or None))
    if not partial and avail < extents:  # free extents on PVs that are not allocatable
        raise LvmError(f"Insufficient free space: {extents} extents needed, but only {avail} available")
    lv = new_lv(ctx, vg, name or next_lv_name(vg), kind=LVKind.COW)
    lv.snapshot_name, lv.snapshot_uuid = next_snapshot_name(vg), ctx.state.new_uuid()
    lv.origin, lv.chunk_size = origin.name, chunk
    apply_create_flags(ctx, lv)
    lv.skip_activation = bool(ctx.args.get("setactivationskip", False))  # the flag only: a COW
    vg.lvs[lv.name] = lv  # snapshot is active whenever its origin is
    got = alloc.allocate(ctx.state, vg, lv, extents, req.devices or None, partial=partial)
    if not got:
        del vg.lvs[lv.name]
        raise LvmError(
            f"Insufficient suitable allocatable extents for logical volume {lv.name}: {extents} more required"
        )
    lv.active = origin.active and lv.active
    vg.seqno += 2  # the COW store, then the snapshot (recorded)
    finish_create(ctx, vg, lv)
    return 0


def _snapshot_origin_problem(origin: LV) -> str:
    if origin.kind == LVKind.COW:
        return "snapshots"
    if not origin.visible:
        return "hidden volumes"
    if origin.kind == LVKind.THIN_POOL:
        return "thin pool type volumes"
    return ""


# ---------------------------------------------------------------------------------------------
# Linear LVs


def check_space(ctx: Ctx, vg: VG, name: str, extents: int, devices: list[str]) -> None:
    """lvcreate's VG-level check, then the allocator's check of the PVs it may use."""
    free = alloc.vg_free_count(ctx.state, vg)
    if extents > free:
        raise LvmError(
            f'Volume group "{vg.name}" has insufficient free space ({free} extents): {extents} required.'
        )
    avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices or None))  # allocatable PVs only
    if extents > avail:
        raise LvmError(f"Insufficient free space: {extents} extents needed, but only {avail} available")


def split_create_target(args: Args) -> tuple[str, str, list[str]]:
    """VG name, LV name and PV list of an lvcreate command line (checking -n vg/name agrees)."""
    name = args.str("name")
    name_vg, name_lv = split_lv_arg(name) if name else ("", "")
    if not args.pos:  # the VG comes from -n VG/LV
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


def is_linear_create(args: Args) -> bool:
    return not any(args.has(o) for o in ("snapshot", "thin", "thinpool", "virtualsize")) and args.str(
        "type", "linear"
    ) in ("linear", "striped")


def is_sparse_create(args: Args) -> bool:
    """A COW snapshot of a new virtual origin: --type snapshot (or -s) with --virtualsize."""
    kind = args.str("type")
    return args.has("virtualsize") and (kind == "snapshot" or (not kind and args.has("snapshot")))


def create_sparse(ctx: Ctx) -> int:
    """lvcreate --type snapshot -L SIZE -V VIRTUAL VG: a hidden all-zero origin NAME_vorigin of the
    virtual size and a COW snapshot of it (what libvirt makes for a volume whose allocation is
    below its capacity)."""
    args = ctx.args
    if args.has("chunksize"):  # LVM's checks of a chunk size for a virtual origin were not recorded
        refuse("lvcreate --chunksize with --virtualsize")
    check_zero_size(args, "lvcreate")
    target = args.pos[0] if args.pos else ""
    if "/" in target.removeprefix("/dev/"):
        raise LvmError("Volume group name expected (no slash)", run_help("lvcreate"), rc=EINVALID_CMD_LINE)
    vg_name, name, devices = split_create_target(args)
    if name:
        check_new_lv_name(vg_name, name, "lvcreate")
    vg = read_vg_to_change(ctx, vg_name)
    name = name or next_lv_name(vg)
    if name:
        _existing_check(vg, name)
    virtual = args.get("virtualsize")
    assert isinstance(virtual, SizeArg)
    virtual_extents = extents_for_size(ctx, vg, virtual.value)
    extents, partial = requested_extents(ctx, vg, devices)
    if not partial:
        check_space(ctx, vg, name, extents, devices)
    origin = new_lv(ctx, vg, f"{name}_vorigin", kind=LVKind.ZERO)
    origin.visible, origin.writable, origin.role, origin.parent = False, False, "vorigin", name
    origin.virtual_extents = virtual_extents
    vg.lvs[origin.name] = origin
    lv = new_lv(ctx, vg, name, kind=LVKind.COW)
    lv.snapshot_name, lv.snapshot_uuid = next_snapshot_name(vg), ctx.state.new_uuid()
    lv.origin, lv.chunk_size = origin.name, COW_DEFAULT_CHUNK
    apply_create_flags(ctx, lv)
    vg.lvs[lv.name] = lv
    alloc.allocate(ctx.state, vg, lv, extents, devices or None, partial=partial)
    origin.active = lv.active
    vg.seqno += 2
    finish_create(ctx, vg, lv)
    return 0


@command(LvmSpec("lvcreate"))
def lvcreate(ctx: Ctx) -> int:
    args = ctx.args
    if args.has("mirrors"):  # lvsim has no mirrors: only -m 0, a linear LV
        if args.get("mirrors") != 0:
            refuse("lvcreate --mirrors (above 0)")
        ctx.console.print("Redundant mirrors argument: default is 0")
        del args.opts["mirrors"]
    if args.get("wipesignatures") is False:  # lvsim wipes what LVM wipes by default, nothing less
        refuse("lvcreate --wipesignatures n")
    if args.has("readahead"):  # _lvcreate_params reads it first (and warns when it rounds it)
        args.opts["readahead"] = [readahead.sectors(ctx.console, args.get("readahead"))]
    if is_sparse_create(args):
        return create_sparse(ctx)
    if not is_linear_create(args):
        return create_thin_or_snapshot(ctx)
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents (not both).", run_help("lvcreate"), rc=EINVALID_CMD_LINE
        )
    check_zero_size(args, "lvcreate")
    vg_name, name, devices = split_create_target(args)
    if name:
        check_new_lv_name(vg_name, name, "lvcreate")
    vg = read_vg_to_change(ctx, vg_name)
    # _lvcreate_single lists the PVs and works out the extents before _lv_create_an_lv checks the name
    expanded = tags.expand_pvs(ctx.state, vg, devices)
    if devices and not expanded:  # @tag arguments that no PV of the VG carries
        raise LvmError("No specified PVs have space available.")
    devices = expanded
    check_pvs(ctx, vg, devices)
    extents, partial = requested_extents(ctx, vg, devices)
    if name:
        _existing_check(vg, name)
    if not partial:
        check_space(ctx, vg, name or next_lv_name(vg), extents, devices)
    lv = new_lv(ctx, vg, name or next_lv_name(vg))
    apply_create_flags(ctx, lv)
    vg.lvs[lv.name] = lv
    if not alloc.allocate(ctx.state, vg, lv, extents, devices or None, partial=partial):
        del vg.lvs[lv.name]  # a percentage of the free space, none of it on allocatable PVs
        raise LvmError(f"Insufficient suitable allocatable extents found for logical volume {lv.name}.")
    vg.seqno += 1
    finish_create(ctx, vg, lv)
    return 0


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
    if args.has("addtag"):
        tags.change(args, tags.lv_tags(lv))
    if args.has("setautoactivation"):
        lv.autoactivation = bool(args.get("setautoactivation"))
    if "readahead" in ctx.args.opts:
        lv.read_ahead = args.opts["readahead"][-1]


def finish_create(ctx: Ctx, vg: VG, lv: LV) -> None:
    """What every successful lvcreate ends with."""
    overprovisioning_warnings(ctx, vg, lv)  # _lv_create_an_lv checks it before the new LV is wiped
    if (not lv.active or not lv.writable) and lv.kind == LVKind.LINEAR:  # a read-only LV is not zeroed either
        ctx.console.warn(f"Logical volume {vg.name}/{lv.name} not zeroed.")
    ctx.console.print(f'Logical volume "{lv.name}" created.')
