"""lvcreate of thin pools, thin volumes and snapshots; their resizing, lvchange and lvconvert.

`lvsim.commands.lv` hands every non-linear lvcreate, resize and pool lvchange to this module.
Sizes inside follow LVM: sectors for chunk and metadata arithmetic, extents for allocation.
"""

from __future__ import annotations

from dataclasses import dataclass

from lvsim import alloc, thin
from lvsim.cmdline import CommandSpec
from lvsim.commands.lv import (
    apply_create_flags,
    check_pvs,
    check_zero_size,
    extents_for_size,
    finish_create,
    new_lv,
    percent_extents,
    resize_extents,
    run_help,
)
from lvsim.commands.pv import no_syntax
from lvsim.emulator import Ctx, command
from lvsim.errors import EINVALID_CMD_LINE, LvmError
from lvsim.model import LV, VG, MiB
from lvsim.names import check_new_lv_name, find_vg, next_lv_name, split_lv_arg
from lvsim.units import SECTOR, SizeArg, display_size

KiB = 1024
THIN_MIN_CHUNK = 64 * KiB
THIN_MAX_CHUNK = 1024 * MiB
DEFAULT_THIN_CHUNK = 64 * KiB
OPTIMAL_METADATA = 128 * MiB
MIN_METADATA = 2 * MiB
MAX_METADATA = 16646400 * KiB  # 255 * 16320 * 4 KiB, thin_pool_crop_metadata=0
PERFORMANCE_CHUNK = 512 * KiB
SPARE_MAX = 16 * 1024 * MiB
COW_DEFAULT_CHUNK = 4 * KiB
AUTOEXTEND_THRESHOLD = 100
AUTOEXTEND_PERCENT = 20


def _round_up(value: int, unit: int) -> int:
    return -(-value // unit) * unit


# ---------------------------------------------------------------------------------------------
# Pool parameters (chunk size, metadata size)


def estimate_metadata(data_bytes: int, chunk: int) -> int:
    """64 bytes of metadata per data chunk, computed in sectors as LVM does (bytes)."""
    return data_bytes // SECTOR // (chunk // SECTOR * 8) * SECTOR


def estimate_chunk(data_bytes: int, meta_bytes: int) -> int:
    """The chunk size LVM derives from a data and a metadata size (bytes)."""
    sectors = data_bytes // SECTOR // (meta_bytes // SECTOR * 8) if meta_bytes else 0
    if sectors > 2047:
        sectors = _round_up(sectors, 2048)
    else:
        sectors = 1 << max(0, (sectors - 1).bit_length()) if sectors > 1 else 1
    return min(max(sectors * SECTOR, THIN_MIN_CHUNK), THIN_MAX_CHUNK)


def validate_chunk(chunk: int) -> list[str]:
    """LVM's complaints about a thin pool chunk size (empty when fine)."""
    problems = []
    if not THIN_MIN_CHUNK <= chunk <= THIN_MAX_CHUNK:
        problems.append(
            f"Thin pool chunk size {display_size(chunk)} is not in the range "
            f"{display_size(THIN_MIN_CHUNK)} to {display_size(THIN_MAX_CHUNK)}."
        )
    if chunk % THIN_MIN_CHUNK:
        problems.append(
            f"Thin pool chunk size {display_size(chunk)} must be a multiple of {display_size(THIN_MIN_CHUNK)}."
        )
    return problems


@dataclass
class PoolParams:
    chunk: int
    meta_extents: int
    zero: bool


def pool_params(
    ctx: Ctx, vg: VG, data_extents: int, chunk: int, meta_extents: int, zero: bool | None
) -> PoolParams:
    """update_thin_pool_params: pick chunk and metadata size, print the "can address" line."""
    ext = vg.extent_size
    data = data_extents * ext
    if not meta_extents:
        if not chunk:
            chunk = DEFAULT_THIN_CHUNK
            meta = estimate_metadata(data, chunk)
            while meta > OPTIMAL_METADATA and chunk < THIN_MAX_CHUNK:
                chunk *= 2
                meta = meta // SECTOR // 2 * SECTOR
        else:
            meta = estimate_metadata(data, chunk)
            if meta > MAX_METADATA:
                ctx.console.warn(
                    f"Chunk size is too small for pool, suggested minimum is "
                    f"{display_size(estimate_chunk(data, MAX_METADATA))}."
                )
        meta = _round_up(meta, ext)
        given = False
    else:
        meta = meta_extents * ext
        estimate = estimate_chunk(data, meta)
        if not chunk:
            chunk = estimate
        elif chunk < estimate:
            ctx.console.warn(f"Chunk size is smaller then suggested minimum size {display_size(estimate)}.")
        given = True
    max_data = MAX_METADATA // SECTOR * chunk * 8
    max_meta, min_meta = _round_up(MAX_METADATA, ext), _round_up(MIN_METADATA, ext)
    if meta > max_meta:
        if given:
            ctx.console.print(
                f"Reducing pool metadata size {display_size(meta)} to maximum usable size {display_size(max_meta)}."
            )
        meta = max_meta
    elif meta < min_meta:
        if given:
            ctx.console.print(
                f"Extending pool metadata size {display_size(meta)} to required minimal size {display_size(min_meta)}."
            )
        meta = min_meta
    if max_data // ext < data_extents:
        raise LvmError(
            f"Selected chunk size {display_size(chunk)} cannot address more then "
            f"{display_size(max_data)} of thin pool data space."
        )
    ctx.console.print(
        f"Thin pool volume with chunk size {display_size(chunk)} can address at most {display_size(max_data)} of data."
    )
    problems = validate_chunk(chunk)
    if problems:
        raise LvmError(*problems)
    if chunk > data:
        raise LvmError(
            f"Size of thin-pool data volume cannot be smaller than chunk size {display_size(chunk)}."
        )
    zero = True if zero is None else zero
    if zero and chunk >= PERFORMANCE_CHUNK:
        ctx.console.warn(
            f"Pool zeroing and {display_size(chunk)} large chunk size slows down thin provisioning."
        )
        ctx.console.warn(
            f"Consider disabling zeroing (-Zn) or using smaller chunk size (<{display_size(PERFORMANCE_CHUNK)})."
        )
    return PoolParams(chunk, -(-meta // ext), zero)


# ---------------------------------------------------------------------------------------------
# Spare and pool construction


def spare_of(vg: VG) -> LV | None:
    return next((lv for lv in vg.lvs.values() if lv.role == "pmspare"), None)


def handle_spare(ctx: Ctx, vg: VG, extents: int, devices: list[str], wanted: bool = True) -> LV | None:
    """Create or grow the VG's pool metadata spare to `extents` (0: the largest _tmeta)."""
    if not extents:
        extents = max((lv.le_count for lv in vg.lvs.values() if lv.role == "tmeta"), default=0)
    if not wanted:
        if extents:
            ctx.console.warn("recovery of pools without pool metadata spare LV is not automated.")
        return None
    if not extents:
        return None
    extents = min(extents, -(-SPARE_MAX // vg.extent_size))
    spare = spare_of(vg)
    if spare is None:
        free = alloc.vg_free_count(ctx.state, vg)
        if free < extents:
            raise LvmError(
                f'Volume group "{vg.name}" has insufficient free space ({free} extents): {extents} required.'
            )
        spare = new_lv(ctx, vg, next_lv_name(vg) + "_pmspare")
        spare.visible, spare.active, spare.role = False, False, "pmspare"
        vg.lvs[spare.name] = spare
        alloc.allocate(ctx.state, vg, spare, extents, devices or None)
        return spare
    if spare.le_count < extents:
        _allocate_checked(ctx, vg, spare, extents - spare.le_count, devices)
    return spare


def _allocate_checked(ctx: Ctx, vg: VG, lv: LV, extents: int, devices: list[str]) -> None:
    avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices or None))
    if extents > avail:
        raise LvmError(f"Insufficient free space: {extents} extents needed, but only {avail} available")
    alloc.allocate(ctx.state, vg, lv, extents, devices or None)


def build_pool(
    ctx: Ctx,
    vg: VG,
    name: str,
    data_lv: LV,
    meta_extents: int,
    params: PoolParams,
    devices: list[str],
    placed_meta: LV | None = None,
) -> LV:
    """Turn data_lv into NAME_tdata under a new pool NAME and allocate NAME_tmeta (unless already placed)."""
    pool = new_lv(ctx, vg, name, kind="thin-pool")
    data_lv.name, data_lv.role, data_lv.parent, data_lv.visible = f"{name}_tdata", "tdata", name, False
    data_lv.active = True
    meta = placed_meta or new_lv(ctx, vg, f"{name}_tmeta")
    meta.role, meta.parent, meta.visible = "tmeta", name, False
    pool.data_lv, pool.metadata_lv = data_lv.name, meta.name
    pool.chunk_size, pool.zero = params.chunk, params.zero
    pool.virtual_extents = data_lv.le_count
    if ctx.args.has("discards"):
        pool.discards = str(ctx.args.get("discards"))
    if ctx.args.has("errorwhenfull"):
        pool.error_when_full = bool(ctx.args.get("errorwhenfull"))
    vg.lvs[data_lv.name] = data_lv
    vg.lvs[meta.name] = meta
    vg.lvs[name] = pool
    # Like a mirror log, the metadata goes on a PV the data does not use when there is one.
    if placed_meta is None:
        data_pvs = {seg.pv for seg in data_lv.segments}
        order = sorted(devices or vg.pvs, key=lambda d: alloc.parse_pv_arg(d)[0] in data_pvs)
        alloc.allocate(ctx.state, vg, meta, meta_extents, order)
    thin.pool_state(pool)
    return pool


def _existing_check(vg: VG, name: str) -> None:
    if name in vg.lvs:
        raise LvmError(f'Logical Volume "{name}" already exists in volume group "{vg.name}"')


# ---------------------------------------------------------------------------------------------
# lvcreate


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
            raise LvmError(f"Option --{option} {what}.", rc=EINVALID_CMD_LINE)


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
    if not vg_name:
        raise no_syntax("lvcreate")
    if segtype == "thin-pool" and lv_name:
        if pool_name and lv_name != pool_name:
            raise LvmError(f"Ambiguous thin-pool name specified, {lv_name} and {pool_name}.")
        pool_name, lv_name = lv_name, ""
    if pool_name and lv_name and pool_name == lv_name:
        raise LvmError(f"Logical volume name {lv_name} and pool name must be different.")
    for name in (lv_name, pool_name):
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


def lvcreate(ctx: Ctx) -> int:
    """lvcreate for thin pools, thin volumes, thin snapshots and COW snapshots."""
    args = ctx.args
    if args.has("size") and args.has("extents"):
        raise LvmError(
            "Please specify either size or extents (not both).", run_help("lvcreate"), rc=EINVALID_CMD_LINE
        )
    check_zero_size(args, "lvcreate")
    req = parse_request(ctx)
    chunk = _check_chunk_arg(ctx, req)
    vg = find_vg(ctx.state, req.vg)
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
            raise LvmError("Please specify name of existing pool.")
        pool = vg.lvs.get(req.pool_name)
        if pool is None:
            raise LvmError(f"Pool {req.pool_name} not found in Volume group {vg.name}.")
        if pool.kind != "thin-pool":
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
    vg.seqno += 1
    if not virtual_ext:
        finish_create(ctx, vg, pool)
        return 0
    _chunk_aligned(ctx, vg, pool, requested)
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
    lv = new_lv(ctx, vg, name, kind="thin")
    lv.pool, lv.virtual_extents = pool.name, virtual_ext
    lv.thin_id = max((t.thin_id for t in thin.thins_of(vg, pool)), default=0) + 1
    lv.transaction_id = pool.transaction_id
    pool.transaction_id += 1
    vg.lvs[name] = lv
    thin.attach_thin(pool, lv)
    pool.active = pool.active or lv.active  # an active new thin activates its pool (recorded)
    vg.seqno += 1
    return lv


def _check_pool_usable(ctx: Ctx, vg: VG, pool: LV) -> None:
    """pool_below_threshold: a full or read-only pool refuses new thin volumes."""
    from lvsim import usage

    full = f"{vg.name}/{pool.name}"
    ok = True
    mode = thin.pool_mode(pool)
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
    meta_free = min(25_000_000, _percent(4 * MiB, tmeta))
    min_threshold = 100_000_000 - meta_free
    meta_pct = _percent(used, total)
    if mode != "fail" and meta_pct >= min_threshold:
        ctx.console.warn(
            f"Remaining free space in metadata of thin pool {full} is too low "
            f"({_show_percent(meta_pct)}% >= {_show_percent(min_threshold)}%). Resize is recommended."
        )
        ok = False
    threshold = min(autoextend_config(ctx, "thin_pool")[0], 100) * 1_000_000
    data_pct = _percent(*usage.pool_data_usage(ctx.state, vg, pool))
    if data_pct > threshold or meta_pct > threshold:  # LVM says this only in debug output
        ok = False
    if not ok:
        raise LvmError(f"Cannot create new thin volume, free space in thin pool {full} reached threshold.")


def _percent(num: int, den: int) -> int:
    from lvsim.units import percent_value

    return percent_value(num, den)


def _show_percent(p: int) -> str:
    from lvsim.units import _f32

    return f"{_f32(_f32(p) / 1_000_000):.2f}"


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
        if pool.kind != "thin-pool":
            raise LvmError(f"Logical volume {vg.name}/{pool.name} is not a thin pool volume.")
    elif origin.kind != "thin":
        if req.segtype != "thin":
            raise LvmError("Please specify either size or extents with snapshots.")
        raise LvmError(
            f"Logical volume {vg.name}/{origin.name} is not a thin volume. Thin snapshot supports only thin origins."
        )
    else:
        pool = vg.lvs[origin.pool]
    if origin.kind != "thin" or origin.pool != pool.name:
        raise LvmError("Cannot use writable LV as the external origin.")
    name = req.lv_name
    if name:
        _existing_check(vg, name)
    _check_pool_usable(ctx, vg, pool)
    lv = new_lv(ctx, vg, name or next_lv_name(vg), kind="thin")
    lv.pool, lv.virtual_extents, lv.origin = pool.name, origin.virtual_extents, origin.name
    lv.thin_id = max((t.thin_id for t in thin.thins_of(vg, pool)), default=0) + 1
    lv.transaction_id = pool.transaction_id
    pool.transaction_id += 1
    vg.lvs[lv.name] = lv
    thin.attach_snapshot(pool, origin, lv)
    vg.seqno += 1
    apply_create_flags(ctx, lv)
    _apply_skip(ctx, lv, default=True)
    finish_create(ctx, vg, lv)
    return 0


def cow_max_extents(vg: VG, origin: LV, chunk: int) -> int:
    """The largest useful COW size for an origin, in extents (snapshot_manip.c _cow_max_size)."""
    size = origin.le_count * vg.extent_size
    origin_chunks = -(-size // chunk)
    per_area = chunk // 16
    metadata_chunks = (origin_chunks + per_area) // per_area
    return -(-(1 + origin_chunks + metadata_chunks) * chunk // vg.extent_size)


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
    lv = new_lv(ctx, vg, name or next_lv_name(vg), kind="cow")
    lv.origin, lv.chunk_size = origin.name, chunk
    apply_create_flags(ctx, lv)
    vg.lvs[lv.name] = lv
    got = alloc.allocate(ctx.state, vg, lv, extents, req.devices or None, partial=partial)
    if not got:
        del vg.lvs[lv.name]
        raise LvmError(
            f"Insufficient suitable allocatable extents for logical volume {lv.name}: {extents} more required"
        )
    lv.active = origin.active and lv.active
    vg.seqno += 1
    finish_create(ctx, vg, lv)
    return 0


def _snapshot_origin_problem(origin: LV) -> str:
    if origin.kind == "cow":
        return "snapshots"
    if not origin.visible:
        return "hidden volumes"
    if origin.kind == "thin-pool":
        return "thin pool type volumes"
    return ""


# ---------------------------------------------------------------------------------------------
# Resizing


def resize_lv(ctx: Ctx, mode: str, vg: VG, lv: LV) -> int:
    """lvextend/lvreduce/lvresize of a thin pool, its sub-LVs, a thin volume or a COW snapshot."""
    from lvsim.commands.lv import new_extents

    devices = ctx.args.pos[1:]
    if lv.kind == "thin-pool" or lv.role == "tdata":
        pool = lv if lv.kind == "thin-pool" else vg.lvs[lv.parent]
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
            after=lambda: thin.overprovisioning_warnings(ctx, vg, lv),
        )
        handle_spare(ctx, vg, 0, devices)
        return rc
    if lv.kind == "thin":
        target, _ = new_extents(ctx, vg, lv, mode)
        return _resize_thin(ctx, mode, vg, lv, target)
    if lv.kind == "cow":
        return _resize_cow(ctx, mode, vg, lv, devices)
    raise LvmError(f"Cannot resize {vg.name}/{lv.name}.")


def _resize_thin(ctx: Ctx, mode: str, vg: VG, lv: LV, target: int) -> int:
    from lvsim.commands.lv import check_new_size

    cur = lv.le_count
    full = f"{vg.name}/{lv.name}"
    check_new_size(vg, lv, mode, target)
    if target < cur and lv.active:
        from lvsim.commands.lv import confirm_reduce

        if ctx.args.has("force"):
            ctx.console.warn(f"Reducing active logical volume to {display_size(target * vg.extent_size)}.")
            ctx.console.error("THIS MAY DESTROY YOUR DATA (filesystem etc.)")
        else:
            confirm_reduce(ctx, vg, lv, target)
    ext = vg.extent_size
    ctx.console.print(
        f"Size of logical volume {full} changed from {display_size(cur * ext)} ({cur} extents) "
        f"to {display_size(target * ext)} ({target} extents)."
    )
    lv.virtual_extents = target
    vg.seqno += 1
    if target > cur:
        thin.overprovisioning_warnings(ctx, vg, lv)
    ctx.console.print(f"Logical volume {full} successfully resized.")
    return 0


def _resize_cow(ctx: Ctx, mode: str, vg: VG, lv: LV, devices: list[str], target: int = 0) -> int:
    from lvsim.commands.lv import new_extents

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
        thin.pool_resized(vg, pool)
        thin.overprovisioning_warnings(ctx, vg, pool)

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
        _allocate_checked(ctx, vg, tmeta, target - cur, devices)
        ctx.console.print(
            f"Size of logical volume {full} changed from {display_size(cur * ext)} ({cur} extents) "
            f"to {display_size(target * ext)} ({target} extents)."
        )
        handle_spare(ctx, vg, 0, devices)
        vg.seqno += 1
        if standalone:
            thin.overprovisioning_warnings(ctx, vg, tmeta)
    if standalone:
        ctx.console.print(f"Logical volume {full} successfully resized.")


def autoextend_config(ctx: Ctx, kind: str) -> tuple[int, int]:
    """activation/{kind}_autoextend_threshold and _percent, from --config (defaults 100 and 20)."""
    import re

    text = " ".join(str(v) for v in ctx.args.opts.get("config", []))
    threshold = re.search(rf"{kind}_autoextend_threshold\s*=\s*(-?\d+)", text)
    percent = re.search(rf"{kind}_autoextend_percent\s*=\s*(\d+)", text)
    return (
        int(threshold.group(1)) if threshold else AUTOEXTEND_THRESHOLD,
        int(percent.group(1)) if percent else AUTOEXTEND_PERCENT,
    )


def _policy_amount(pct: int, threshold: int, amount: int) -> int:
    """_adjust_amount: the percentage to grow by so usage drops below the threshold (0: none)."""
    if not 50_000_000 < pct <= 100_000_000 or pct <= threshold * 1_000_000:
        return 0
    step = threshold * 10_000
    needed = (pct + step - 1) // step - 100
    return max(needed, amount)


def use_policies(ctx: Ctx, vg: VG, lv: LV) -> int:
    """lvextend --use-policies: what dmeventd runs when a pool or snapshot fills up."""
    from lvsim import usage
    from lvsim.units import percent_value

    full = f"{vg.name}/{lv.name}"
    if lv.kind not in ("thin-pool", "cow"):
        raise LvmError("Policy-based resize is supported only for snapshot, thin pool and vdo pool volumes.")
    kind = "thin_pool" if lv.kind == "thin-pool" else "snapshot"
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
    if lv.kind == "cow":
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
    """lvextend --use-policies / --poolmetadatasize without -L/-l."""
    from lvsim.commands.lv import resize_target

    args = ctx.args
    vg, lv = resize_target(ctx)
    if args.has("use-policies"):
        return use_policies(ctx, vg, lv)
    if lv.kind != "thin-pool" and lv.role != "tmeta":
        raise LvmError("--poolmetadatasize can be used only with thin pools.")
    tmeta = lv if lv.role == "tmeta" else vg.lvs[lv.metadata_lv]
    resize_metadata(ctx, vg, tmeta, metadata_target(ctx, vg, tmeta), args.pos[1:], standalone=True)
    return 0


# ---------------------------------------------------------------------------------------------
# lvchange of pool settings


def change_pool(ctx: Ctx, vg: VG, lv: LV) -> None:
    """lvchange --errorwhenfull / --discards / -Z of a thin pool, in LVM's order and wording.

    Returns when everything changed (the caller then says "changed"); on any failure prints
    LVM's errors (and "changed" if something did change) and raises.
    """
    args = ctx.args
    full = f"{vg.name}/{lv.name}"
    if lv.kind != "thin-pool":
        raise LvmError(
            f"Command on LV {full} uses options that require LV types thinpool.",
            f"Command not permitted on LV {full}.",
        )
    changed = False
    if args.has("errorwhenfull"):
        wanted = bool(args.get("errorwhenfull"))
        if wanted == lv.error_when_full:
            raise LvmError(f"Error when full is already {'' if wanted else 'un'}set for {full}.")
        lv.error_when_full, changed = wanted, True
    failed = False
    for _ in [o for o in ("discards", "zero") if args.has(o)]:  # LVM updates both, once per option
        updated = False
        if args.has("discards"):
            value = str(args.get("discards"))
            if value == lv.discards:
                ctx.console.error(f"Logical volume {full} already uses --discards {value}.")
            elif "ignore" in (value, lv.discards) and thin.tpool_active(vg, lv):
                ctx.console.error(f"Cannot change support for discards while pool volume {full} is active.")
            else:
                lv.discards, updated = value, True
        if args.has("zero"):
            zero = bool(args.get("zero"))
            if zero == lv.zero:
                ctx.console.error(
                    f"Logical volume {full} already {'' if zero else 'does not '}zero new blocks."
                )
            else:
                lv.zero, updated = zero, True
        changed = changed or updated
        failed = failed or not updated
    if failed:
        if changed:
            vg.seqno += 1
            ctx.console.print(f"Logical volume {full} changed.")
        raise LvmError()


# ---------------------------------------------------------------------------------------------
# lvconvert


LVCONVERT_OPTIONS: dict[str, str | None] = {
    "type": None,
    "thinpool": None,
    "poolmetadata": None,
    "poolmetadatasize": None,
    "poolmetadataspare": None,
    "chunksize": "c",
    "zero": "Z",
    "discards": None,
    "errorwhenfull": None,
    "merge": None,
    "force": "f",
    "autobackup": "A",
    "snapshot": "s",
}


@command(CommandSpec("lvconvert", LVCONVERT_OPTIONS))
def lvconvert(ctx: Ctx) -> int:
    args = ctx.args
    if args.has("merge"):
        return merge(ctx)
    segtype = args.str("type")
    if segtype == "thin-pool" or (args.has("thinpool") and segtype != "thin"):
        target = args.pos[0] if args.pos else args.str("thinpool")
        if not target:
            raise no_syntax("lvconvert")
        return convert_to_pool(ctx, target)
    raise no_syntax("lvconvert")


def convert_to_pool(ctx: Ctx, target: str) -> int:
    args = ctx.args
    vg_name, lv_name = split_lv_arg(target)
    if not vg_name:
        raise LvmError("Please specify a logical volume path.", run_help("lvconvert"), rc=EINVALID_CMD_LINE)
    vg = find_vg(ctx.state, vg_name)
    lv = vg.lvs.get(lv_name)
    if lv is None:
        raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
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
    meta_ext = meta_lv.le_count if meta_lv else 0
    msize = args.get("poolmetadatasize")
    if isinstance(msize, SizeArg) and not meta_lv:
        meta_ext = extents_for_size(ctx, vg, msize.value)
    zero = args.get("zero")
    if meta_lv and meta_lv.le_count * vg.extent_size < MIN_METADATA:
        raise LvmError(
            f"Can't use volume {vg.name}/{meta_lv.name} with size {display_size(meta_lv.le_count * vg.extent_size)} "
            f"as pool metadata. Minimal required size is {display_size(_round_up(MIN_METADATA, vg.extent_size))}."
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


def merge(ctx: Ctx) -> int:
    """lvconvert --merge of a thin or COW snapshot; delayed while the origin is open."""
    if not ctx.args.pos:
        raise no_syntax("lvconvert")
    vg_name, lv_name = split_lv_arg(ctx.args.pos[0])
    vg = find_vg(ctx.state, vg_name)
    snap = vg.lvs.get(lv_name)
    if snap is None:
        raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
    origin = vg.lvs.get(snap.origin) if snap.origin else None
    if origin is None or snap.kind not in ("thin", "cow"):
        raise LvmError(f"Logical volume {vg.name}/{snap.name} is not a snapshot.")
    if snap.kind == "thin" and thin.cow_snapshots_of(vg, origin):
        raise LvmError(f"Merging into the old snapshot origin {vg.name}/{origin.name} is not supported.")
    full, origin_full = f"{vg.name}/{snap.name}", f"{vg.name}/{origin.name}"
    if origin.open_count:
        snap.extra["merging"] = True
        snap.visible = False
        vg.seqno += 1
        if snap.kind == "thin":
            ctx.console.print("Delaying merge since origin volume is open.")
            ctx.console.print(
                f"Merging of thin snapshot {full} will occur on next activation of {origin_full}."
            )
            ctx.console.error(f"Logical volume {origin_full} in use.")
        else:
            ctx.console.print("Delaying merge since origin is open.")
            ctx.console.print(f"Merging of snapshot {full} will occur on next activation of {origin_full}.")
        return 0
    if snap.kind == "thin":
        finish_merge(ctx, vg, snap)
        ctx.console.print(f"Volume {full} replaced origin {origin_full}.")
        return 0
    ctx.console.print(f"Merging of volume {full} started.")
    ctx.console.print(f"{origin_full}: Merged: 100.00%")
    ctx.console.print(f"Merge of snapshot into logical volume {origin_full} has finished.")
    finish_merge(ctx, vg, snap)
    ctx.console.print(f'Logical volume "{snap.name}" successfully removed.')
    return 0


def finish_merge(ctx: Ctx, vg: VG, snap: LV) -> None:
    """Complete a merge: a thin snapshot replaces its origin; a COW snapshot's chunks go back."""
    origin = vg.lvs[snap.origin]
    vg.seqno += 1
    if snap.kind == "cow":
        _merge_cow_content(ctx, vg, snap, origin)
        del vg.lvs[snap.name]
        return
    pool = vg.lvs[origin.pool]
    thin.detach_thin(pool, origin)
    pool.transaction_id += 1
    old = origin.name
    del vg.lvs[old]
    del vg.lvs[snap.name]
    for other in vg.lvs.values():
        if other.origin == snap.name:
            other.origin = old
    snap.name, snap.origin, snap.visible = old, origin.origin, True
    snap.skip_activation, snap.active = origin.skip_activation, origin.active
    snap.extra.pop("merging", None)
    vg.lvs[old] = snap
    thin.own_tree(pool, snap)


def _merge_cow_content(ctx: Ctx, vg: VG, snap: LV, origin: LV) -> None:
    """Copy the snapshot's exception chunks back over the origin's own data."""
    from lvsim import datapath

    size = snap.chunk_size
    end = origin.le_count * vg.extent_size
    for chunk in list(snap.extra.get("cow", {})):
        offset = int(chunk) * size
        where = thin.cow_lookup(ctx.state, vg, snap, int(chunk))
        if where is None or offset >= end:
            continue
        length = min(size, end - offset)
        content = datapath._linear_get(ctx.state, vg, snap, where * size, length)
        if origin.kind == "thin":
            datapath._thin_put(ctx.state, vg, origin, offset, length, content)
        else:
            datapath._linear_put(ctx.state, vg, origin, offset, length, content)
