"""LV lifecycle on the state: what removing, renaming and merging an LV changes besides the LV itself."""

from __future__ import annotations

from lvsim.core import mapping
from lvsim.core.model import LV, VG, LVKind, State


def rename_lv(vg: VG, lv: LV, new: str) -> None:
    """Rename lv and every reference to it (sub-LVs of a pool, and a sparse snapshot's virtual origin,
    follow the LV's name)."""
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
            if suffix == "_vorigin":  # a sparse snapshot's virtual origin
                lv.origin = other.name


def finish_merge(state: State, vg: VG, snap: LV) -> None:
    """Complete a merge: a thin snapshot replaces its origin; a COW snapshot's chunks go back."""
    origin = vg.lvs[snap.origin]
    vg.seqno += 1
    if snap.kind == LVKind.COW:
        _merge_cow_content(state, vg, snap, origin)
        del vg.lvs[snap.name]
        return
    pool = vg.lvs[origin.pool]
    mapping.detach_thin(pool, origin)
    pool.transaction_id += 1
    old = origin.name
    del vg.lvs[old]
    del vg.lvs[snap.name]
    for other in vg.lvs.values():
        if other.origin == snap.name:
            other.origin = old
    snap.name, snap.origin, snap.visible = old, origin.origin, True
    snap.skip_activation, snap.active = origin.skip_activation, origin.active
    snap.merging = False
    vg.lvs[old] = snap
    mapping.own_tree(pool, snap)


def _merge_cow_content(state: State, vg: VG, snap: LV, origin: LV) -> None:
    """Copy the snapshot's exception chunks back over the origin's own data."""
    from lvsim.core import datapath

    size = snap.chunk_size
    end = origin.le_count * vg.extent_size
    for chunk in list(snap.exceptions):
        offset = int(chunk) * size
        where = mapping.cow_lookup(state, vg, snap, int(chunk))
        if where is None or offset >= end:
            continue
        length = min(size, end - offset)
        content = datapath._linear_get(state, vg, snap, where * size, length)
        if origin.kind == LVKind.THIN:
            datapath._thin_put(state, vg, origin, offset, length, content, None)
        else:
            datapath._linear_put(state, vg, origin, offset, length, content)


def before_delete(vg: VG, lv: LV) -> None:
    """Release what an LV holds before lvremove drops it: sub-LVs, mappings, the last spare."""
    if lv.kind == LVKind.THIN and lv.pool in vg.lvs:
        pool = vg.lvs[lv.pool]
        mapping.detach_thin(pool, lv)
        pool.transaction_id += 1
        # LVM reloads the pool; on resume the kernel leaves out-of-data mode if blocks were freed.
        mapping.pool_resized(vg, pool)
    if lv.kind == LVKind.THIN_POOL:
        for sub in (lv.data_lv, lv.metadata_lv):
            vg.lvs.pop(sub, None)
        if not any(o.kind == LVKind.THIN_POOL for o in vg.lvs.values() if o is not lv):
            for name in [n for n, o in vg.lvs.items() if o.role == "pmspare"]:
                del vg.lvs[name]
    if lv.kind == LVKind.THIN:
        for other in vg.lvs.values():
            if other.kind == LVKind.THIN and other.origin == lv.name:
                other.origin = ""
