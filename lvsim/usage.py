"""Thin-pool and COW-snapshot usage as the kernel reports it (the values behind Data%, Meta%, Snap%).

This is the single place the reports ask for dynamic thin/COW state.  This first
version knows only what is true of freshly created pools and snapshots (nothing
written yet); the data path replaces it with real accounting.
"""

from __future__ import annotations

from lvsim.model import LV, VG, State

_META_BLOCK = 4096


def _pool_part(vg: VG, name: str) -> LV | None:
    return vg.lvs.get(name) if name else None


def _extents(lv: LV | None) -> int:
    return sum(s.extents for s in lv.segments) if lv is not None else 0


def pool_data_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used, total) data chunks of a thin pool."""
    data = _pool_part(vg, pool_lv.data_lv)
    size = _extents(data) * vg.extent_size if data is not None else _extents(pool_lv) * vg.extent_size
    return 0, size // pool_lv.chunk_size if pool_lv.chunk_size else 0


def pool_metadata_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used, total) 4 KiB metadata blocks of a thin pool, reserve included (lvm-semantics §4.6)."""
    meta = _pool_part(vg, pool_lv.metadata_lv)
    total = _extents(meta) * vg.extent_size // _META_BLOCK
    _, chunks = pool_data_usage(state, vg, pool_lv)
    trees = sum(
        1
        for lv in vg.lvs.values()
        if lv.kind == "thin" and lv.pool == pool_lv.name and not _is_thin_snapshot(vg, lv)
    )
    used = min(4096, total // 10) + 7 + -(-total // 16320) + -(-chunks // 16320) + trees
    return min(used, total), total


def _is_thin_snapshot(vg: VG, lv: LV) -> bool:
    origin = vg.lvs.get(lv.origin) if lv.origin else None
    return origin is not None and origin.kind == "thin"


def thin_mapped_chunks(state: State, vg: VG, thin_lv: LV) -> int:
    """Chunks of the pool mapped by this thin volume."""
    return 0


def cow_usage(state: State, vg: VG, cow_lv: LV) -> tuple[int, int, bool]:
    """(used, total, invalid) chunks of a COW exception store: header + metadata chunks + exceptions."""
    chunk = cow_lv.chunk_size or 4096
    total = _extents(cow_lv) * vg.extent_size // chunk
    return 2, total, False


def pool_health(state: State, vg: VG, pool_lv: LV) -> str:
    """ "", "out_of_data", "metadata_read_only" or "failed"."""
    return ""
