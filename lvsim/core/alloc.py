"""Extents: how PVs are carved into physical extents and how LVs get them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from lvsim.core.model import LV, PV, VG, Segment, State


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


def parse_pv_arg(arg: str) -> tuple[str, list[tuple[int, int]]]:
    """'/dev/sdb:0-9:20' -> ('/dev/sdb', [(0, 9), (20, 20)]): a PV and optional PE ranges."""
    device, *ranges = arg.split(":")
    spans = []
    for r in ranges:
        first, dash, last = r.partition("-")
        if first.isdigit() and (not last or last.isdigit()):
            spans.append((int(first), int(last) if last else (2**32 if dash else int(first))))
    return device, spans


def free_areas(state: State, vg: VG, devices: Iterable[str] | None = None) -> list[Area]:
    """Free extent runs of the allocatable PVs (all of the VG's, or `devices` with optional PE ranges).

    Runs come in the order the PVs are given, each PV's runs in PE order.
    """
    wanted = [parse_pv_arg(d) for d in devices] if devices is not None else [(d, []) for d in vg.pvs]
    result = []
    for device, spans in wanted:
        pv = state.pvs.get(device)
        if pv is None or pv.vg != vg.name or not pv.allocatable:
            continue
        for a in pv_areas(vg, device, pv.pe_count):
            if a.lv:
                continue
            if not spans:
                result.append(a)
            for first, last in spans:
                lo, hi = max(a.pe_start, first), min(a.pe_start + a.count - 1, last)
                if lo <= hi:
                    result.append(Area(device, lo, hi - lo + 1))
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
    """Append `extents` extents to lv as LVM's normal policy does; return how many were given.

    LVM tries its policies in turn (lib/metadata/lv_manip.c _allocate): contiguous (the run right
    after the LV's last segment; for a new LV one pick as below), cling (the largest run on the PV
    of the last segment, or on PVs used by this allocation), then normal: on each PV the smallest
    run that holds what is still needed, else its largest; of those, the one giving most extents,
    PVs in the given order breaking ties.  With partial=False the caller checked there is room.
    """
    areas = free_areas(state, vg, devices)
    need = extents
    prev = lv.segments[-1] if lv.segments else None
    used_pvs: list[str] = []

    def take(area: Area, count: int) -> None:
        nonlocal need
        _append(lv, area.pv, area.pe_start, count)
        areas.remove(area)
        if count < area.count:
            areas.append(Area(area.pv, area.pe_start + count, area.count - count))
        need -= count
        used_pvs.append(area.pv)

    def largest_on(pv: str) -> Area | None:
        runs = [a for a in areas if a.pv == pv]
        return max(runs, key=lambda a: a.count) if runs else None

    if prev is not None:
        after = prev.pe_start + prev.extents
        contiguous = next((a for a in areas if a.pv == prev.pv and a.pe_start == after), None)
        if contiguous is not None and need:
            take(contiguous, min(contiguous.count, need))
    elif need and (first := _normal_pick(areas, need)) is not None:
        take(first, min(first.count, need))
    while need:
        cling_pv = prev.pv if prev is not None else next((p for p in used_pvs if largest_on(p)), None)
        area = largest_on(cling_pv) if cling_pv else None
        if area is None:
            break
        take(area, min(area.count, need))
    while need:
        area = _normal_pick(areas, need, used_pvs) if used_pvs else None
        area = area or _normal_pick(areas, need)
        if area is None:
            break
        take(area, min(area.count, need))
    if need and not partial:
        raise AssertionError("allocate() called without enough free extents")
    return extents - need


def _normal_pick(areas: list[Area], need: int, pvs: list[str] | None = None) -> Area | None:
    """Normal policy: per PV the smallest run holding `need` (else its largest); the one giving most wins."""
    best: tuple[int, Area] | None = None
    order = list(dict.fromkeys(a.pv for a in areas))
    for pv in order if pvs is None else [p for p in order if p in pvs]:
        runs = sorted((a for a in areas if a.pv == pv), key=lambda a: -a.count)
        fitting = [a for a in runs if a.count >= need]
        pick = fitting[-1] if fitting else runs[0]
        gives = min(pick.count, need)
        if best is None or gives > best[0]:
            best = (gives, pick)
    return best[1] if best else None


def log_area(
    state: State, vg: VG, data_extents: int, log_extents: int, devices: Iterable[str] | None = None
) -> Area | None:
    """Where LVM puts a metadata area allocated together with data (a thin pool's _tmeta).

    Like a mirror log it goes on the smallest run that holds it on a PV other than the one the data
    starts on; None when no other PV has room, and then it follows the data.
    """
    areas = free_areas(state, vg, devices)
    first = _normal_pick(areas, data_extents)
    others = [a for a in areas if first is not None and a.pv != first.pv and a.count >= log_extents]
    return min(others, key=lambda a: a.count) if others else None


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
