"""Thin-pool construction shared by lvcreate and lvconvert: parameters, the metadata spare, the pool's sub-LVs."""

from __future__ import annotations

from dataclasses import dataclass

from lvsim.core import alloc, mapping
from lvsim.core.context import Ctx
from lvsim.core.errors import LvmError
from lvsim.core.model import LV, VG, LVKind
from lvsim.core.names import next_lv_name
from lvsim.core.pool_sizing import (
    DEFAULT_THIN_CHUNK,
    MAX_METADATA,
    MIN_METADATA,
    OPTIMAL_METADATA,
    PERFORMANCE_CHUNK,
    SPARE_MAX,
    THIN_MAX_CHUNK,
    estimate_chunk,
    estimate_metadata,
    round_up,
    validate_chunk,
)
from lvsim.core.units import SECTOR, display_size
from lvsim.lvm.common import (
    new_lv,
)


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
    configured = ctx.config.find("allocation/thin_pool_chunk_size")  # KiB; none by default
    if not chunk and isinstance(configured, int) and configured > 0:
        chunk = configured * 1024
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
        meta = round_up(meta, ext)
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
    max_meta, min_meta = round_up(MAX_METADATA, ext), round_up(MIN_METADATA, ext)
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
    zero = ctx.config.int("allocation/thin_pool_zero") != 0 if zero is None else zero
    if zero and chunk >= PERFORMANCE_CHUNK:
        ctx.console.warn(
            f"Pool zeroing and {display_size(chunk)} large chunk size slows down thin provisioning."
        )
        ctx.console.warn(
            f"Consider disabling zeroing (-Zn) or using smaller chunk size (<{display_size(PERFORMANCE_CHUNK)})."
        )
    return PoolParams(chunk, -(-meta // ext), zero)


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
        avail = sum(a.count for a in alloc.free_areas(ctx.state, vg, devices or None))
        if avail < extents:  # free extents on PVs that are not allocatable
            raise LvmError(f"Insufficient free space: {extents} extents needed, but only {avail} available")
        spare = new_lv(ctx, vg, next_lv_name(vg) + "_pmspare")
        spare.visible, spare.active, spare.role = False, False, "pmspare"
        vg.lvs[spare.name] = spare
        alloc.allocate(ctx.state, vg, spare, extents, devices or None)
        return spare
    if spare.le_count < extents:
        allocate_checked(ctx, vg, spare, extents - spare.le_count, devices)
    return spare


def allocate_checked(ctx: Ctx, vg: VG, lv: LV, extents: int, devices: list[str]) -> None:
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
    pool = new_lv(ctx, vg, name, kind=LVKind.THIN_POOL)
    data_lv.name, data_lv.role, data_lv.parent, data_lv.visible = f"{name}_tdata", "tdata", name, False
    data_lv.active = True
    meta = placed_meta or new_lv(ctx, vg, f"{name}_tmeta")
    meta.role, meta.parent, meta.visible = "tmeta", name, False
    pool.data_lv, pool.metadata_lv = data_lv.name, meta.name
    pool.chunk_size, pool.zero = params.chunk, params.zero
    pool.virtual_extents = data_lv.le_count
    pool.discards = str(ctx.args.get("discards") or ctx.config.str("allocation/thin_pool_discards"))
    if ctx.args.has("errorwhenfull"):
        pool.error_when_full = bool(ctx.args.get("errorwhenfull"))
    vg.lvs[meta.name] = meta  # LVM lists _tmeta before _tdata (its metadata backups show the order)
    vg.lvs[data_lv.name] = data_lv
    vg.lvs[name] = pool
    # Like a mirror log, the metadata goes on a PV the data does not use when there is one.
    if placed_meta is None:
        data_pvs = {seg.pv for seg in data_lv.segments}
        order = sorted(devices or vg.pvs, key=lambda d: alloc.parse_pv_arg(d)[0] in data_pvs)
        alloc.allocate(ctx.state, vg, meta, meta_extents, order)
    mapping.pool_state(pool)
    return pool
