"""Missing PVs and partial LVs in the model: a PV whose label is gone stays in its VG (`PV.missing`);
an LV on it, or built on such an LV, is partial (lvsim.lvm.missing_pvs has LVM's answers to them)."""

from __future__ import annotations

from lvsim.core.model import LV, PV, VG, LVKind, State


def missing_pvs(state: State, vg: VG) -> list[PV]:
    """The VG's missing PVs, in its order."""
    return [pv for key in vg.pvs if (pv := state.pvs.get(key)) is not None and pv.missing]


def is_partial(state: State, vg: VG, lv: LV) -> bool:
    """An LV with extents on a missing PV, a pool whose data or metadata LV is partial, a thin volume
    of a partial pool."""
    if any(state.pvs[seg.pv].missing for seg in lv.segments if seg.pv in state.pvs):
        return True
    if lv.kind == LVKind.THIN_POOL:
        subs = [vg.lvs.get(lv.data_lv), vg.lvs.get(lv.metadata_lv)]
        return any(sub is not None and is_partial(state, vg, sub) for sub in subs)
    pool = vg.lvs.get(lv.pool) if lv.kind == LVKind.THIN else None
    return pool is not None and is_partial(state, vg, pool)


def partial_lvs(state: State, vg: VG) -> list[LV]:
    """The VG's partial LVs in LVM's list order (the metadata's: visible LVs first)."""
    lvs = [lv for lv in vg.lvs.values() if is_partial(state, vg, lv)]
    return [lv for lv in lvs if lv.visible] + [lv for lv in lvs if not lv.visible]
