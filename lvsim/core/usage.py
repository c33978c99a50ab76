"""Space accounting of thin pools, thin volumes and COW snapshots, as the reports show it.

The values behind Data%, Meta% and Snap%; all functions are read-only views over the
allocation model in `lvsim.core.mapping`.
"""

from __future__ import annotations

from lvsim.core import mapping
from lvsim.core.model import LV, VG, State


def pool_data_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used data chunks, total data chunks) of a thin pool; used counts distinct live blocks."""
    return mapping.pool_used_blocks(pool_lv), mapping.pool_total_blocks(vg, pool_lv)


def pool_metadata_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used, total) 4 KiB metadata blocks of a thin pool (see `mapping.metadata_usage`)."""
    return mapping.metadata_usage(vg, pool_lv)


def thin_mapped_chunks(state: State, vg: VG, thin_lv: LV) -> int:
    """How many chunks of a thin volume are mapped (its Data% is this × chunk / lv size)."""
    return mapping.mapped_count(thin_lv)


def cow_usage(state: State, vg: VG, cow_lv: LV) -> tuple[int, int, bool]:
    """(used chunks, total chunks, invalid) of a classic snapshot's exception store (§7.3).

    used = 1 header + (n // (chunk/16) + 1) metadata chunks + n exceptions, but 0 while there are
    no exceptions (dm reports 0%), and used == total once the snapshot is invalid (100%).
    """
    chunk = cow_lv.chunk_size or 4096
    total = cow_lv.le_count * vg.extent_size // chunk
    if mapping.cow_invalid(cow_lv):
        return total, total, True
    if mapping.cow_exception_count(cow_lv) == 0:
        return 0, total, False
    return mapping.cow_used_chunks(cow_lv), total, False


def pool_health(state: State, vg: VG, pool_lv: LV) -> str:
    """lv_health_status of a thin pool: "", "out_of_data", "metadata_read_only" or "failed"."""
    return {"out_of_data": "out_of_data", "ro": "metadata_read_only", "fail": "failed"}.get(
        mapping.pool_mode(pool_lv), ""
    )
