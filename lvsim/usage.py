"""Space accounting of thin pools, thin volumes and COW snapshots, as the reports show it.

The values behind Data%, Meta% and Snap%; all functions are read-only views over the
allocation model in `lvsim.thin`.
"""

from __future__ import annotations

from lvsim import thin
from lvsim.model import LV, VG, State

META_BLOCK = 4096
SPACE_MAP_ENTRIES = 16320  # space-map entries per 4 KiB bitmap block


def pool_data_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used data chunks, total data chunks) of a thin pool; used counts distinct live blocks."""
    return thin.pool_used_blocks(pool_lv), thin.pool_total_blocks(vg, pool_lv)


def pool_metadata_usage(state: State, vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used, total) 4 KiB metadata blocks of a thin pool (lvm-semantics §4.6).

    used = reserve min(4096, M/10) + 7 fixed blocks + the metadata and data space-map bitmaps
    + the mapping-tree blocks of every thin device with a tree of its own (a snapshot shares its
    origin's tree until it is written).
    """
    tmeta = vg.lvs.get(pool_lv.metadata_lv)
    total = (tmeta.le_count * vg.extent_size // META_BLOCK) if tmeta else 0
    data_blocks = thin.pool_total_blocks(vg, pool_lv)
    used = min(4096, total // 10) + 7 + -(-total // SPACE_MAP_ENTRIES) + -(-data_blocks // SPACE_MAP_ENTRIES)
    used += thin.pool_tree_blocks(vg, pool_lv)
    if thin.pool_mode(pool_lv) == "ro":
        used = total  # the kernel ran out of metadata blocks
    return min(used, total), total


def thin_mapped_chunks(state: State, vg: VG, thin_lv: LV) -> int:
    """How many chunks of a thin volume are mapped (its Data% is this × chunk / lv size)."""
    return thin.mapped_count(thin_lv)


def cow_usage(state: State, vg: VG, cow_lv: LV) -> tuple[int, int, bool]:
    """(used chunks, total chunks, invalid) of a classic snapshot's exception store (§7.3).

    used = 1 header + (n // (chunk/16) + 1) metadata chunks + n exceptions, but 0 while there are
    no exceptions (dm reports 0%), and used == total once the snapshot is invalid (100%).
    """
    chunk = cow_lv.chunk_size or 4096
    total = cow_lv.le_count * vg.extent_size // chunk
    if thin.cow_invalid(cow_lv):
        return total, total, True
    if thin.cow_exception_count(cow_lv) == 0:
        return 0, total, False
    return thin.cow_used_chunks(cow_lv), total, False


def pool_health(state: State, vg: VG, pool_lv: LV) -> str:
    """lv_health_status of a thin pool: "", "out_of_data", "metadata_read_only" or "failed"."""
    return {"out_of_data": "out_of_data", "ro": "metadata_read_only", "fail": "failed"}.get(
        thin.pool_mode(pool_lv), ""
    )
