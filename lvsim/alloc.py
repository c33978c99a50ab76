"""Extents: how PVs are carved into physical extents and how LVs get them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lvsim.model import LV, PV, VG, Segment, State


@dataclass(frozen=True)
class Area:
    """A run of physical extents on one PV; lv is "" for free space."""

    pv: str
    pe_start: int
    count: int
    lv: str = ""
    le_start: int = 0


def pe_count(dev_size: int, pv: PV, extent_size: int) -> int:
    """How many whole extents fit on a PV of this device size (LVM's pv_pe_count)."""
    usable = dev_size - pv.pe_start
    if pv.mda_count > 1:
        usable -= pv.mda_size
    return max(0, usable // extent_size)


def pv_areas(vg: VG, device: str, total: int) -> list[Area]:
    """The PV's extents in PE order, used runs and free runs alike."""
    used = sorted(
        (
            Area(seg.pv, seg.pe_start, seg.extents, lv.name, seg.le_start)
            for lv in vg.lvs.values()
            for seg in lv.segments
            if seg.pv == device
        ),
        key=lambda a: a.pe_start,
    )
    areas: list[Area] = []
    pos = 0
    for a in used:
        if a.pe_start > pos:
            areas.append(Area(device, pos, a.pe_start - pos))
        areas.append(a)
        pos = a.pe_start + a.count
    if pos < total:
        areas.append(Area(device, pos, total - pos))
    return areas


def free_areas(state: State, vg: VG, devices: Iterable[str] | None = None) -> list[Area]:
    """Free extent runs of the VG's allocatable PVs, in PV order then PE order."""
    wanted = list(vg.pvs) if devices is None else [d for d in vg.pvs if d in set(devices)]
    result = []
    for device in wanted:
        pv = state.pvs[device]
        if not pv.allocatable:
            continue
        result += [a for a in pv_areas(vg, device, pv.pe_count) if not a.lv]
    return result


def pv_used(vg: VG, device: str) -> int:
    return sum(s.extents for lv in vg.lvs.values() for s in lv.segments if s.pv == device)


def vg_extent_count(state: State, vg: VG) -> int:
    return sum(state.pvs[d].pe_count for d in vg.pvs)


def vg_free_count(state: State, vg: VG) -> int:
    return vg_extent_count(state, vg) - sum(s.extents for lv in vg.lvs.values() for s in lv.segments)


def allocate(
    state: State, vg: VG, lv: LV, extents: int, devices: Iterable[str] | None = None, partial: bool = False
) -> int:
    """Append `extents` extents to lv's segments using the normal policy; return how many were given.

    An extension first continues right after the LV's last extent when that PE is free.
    With partial=False the caller must have checked there is room.
    """
    areas = free_areas(state, vg, devices)
    if lv.segments:
        last = lv.segments[-1]
        end = last.pe_start + last.extents
        areas.sort(key=lambda a: not (a.pv == last.pv and a.pe_start == end))
    need = extents
    for area in areas:
        if need == 0:
            break
        take = min(need, area.count)
        _append(lv, area.pv, area.pe_start, take)
        need -= take
    if need and not partial:
        raise AssertionError("allocate() called without enough free extents")
    return extents - need


def _append(lv: LV, device: str, pe_start: int, count: int) -> None:
    le = lv.le_count
    if lv.segments:
        last = lv.segments[-1]
        if last.pv == device and last.pe_start + last.extents == pe_start:
            last.extents += count
            return
    lv.segments.append(Segment(le, count, device, pe_start))


def release(lv: LV, extents: int) -> None:
    """Drop the last `extents` logical extents of lv."""
    keep = lv.le_count - extents
    kept: list[Segment] = []
    for seg in lv.segments:
        if seg.le_start >= keep:
            continue
        if seg.le_start + seg.extents > keep:
            seg.extents = keep - seg.le_start
        kept.append(seg)
    lv.segments = kept
