"""The model as the reports see it: LV relationships, device-mapper state and segments.

Everything here is derived from `lvsim.core.model` on demand and cached per report run,
so a VG with thousands of LVs is indexed once, not once per field.
"""

from __future__ import annotations

from lvsim.core import devmap
from lvsim.core.model import LV, VG, LVKind, State
from lvsim.core.partial import is_partial, missing_pvs
from lvsim.core.units import percent_value

ALLOC_CHARS = {
    "contiguous": "c",
    "cling": "l",
    "cling_by_tags": "t",
    "normal": "n",
    "anywhere": "a",
    "inherit": "i",
}

# Segment status kinds (lvm's SEG_STATUS_*) a device can report.
ST_NONE, ST_POOL, ST_THIN, ST_SNAP = 0, 1, 2, 3


class Seg:
    """One LV segment: its logical start and length, type and areas (("pv"|"lv", name, start))."""

    __slots__ = ("areas", "le", "length", "segtype")

    def __init__(self, le: int, length: int, segtype: str, areas: list[tuple[str, str, int]]) -> None:
        self.le = le
        self.length = length
        self.segtype = segtype
        self.areas = areas


class LvInfo:
    """What `lv_info_with_seg_status` would find in the kernel for one LV."""

    __slots__ = ("data", "exists", "fail", "health", "invalid", "meta", "open", "status", "unknown")

    def __init__(self) -> None:
        self.unknown = False  # the kernel was not asked (--readonly): LVM shows X for the state
        self.exists = False  # the LV's own device is present (active)
        self.open = False
        self.status = ST_NONE
        self.health = ""  # thin pool health word
        self.fail = False
        self.invalid = False  # COW snapshot overflowed
        self.data: int | None = None  # dm_percent values (1e-6 %); None = not reported
        self.meta: int | None = None


class VgView:
    """Indexes over one VG's LVs, built once per report."""

    def __init__(self, state: State, vg: VG, kernel: bool = True) -> None:
        self.state = state
        self.vg = vg
        self.kernel = kernel  # False with --readonly: LVM reads the metadata only
        self.cows: dict[str, list[LV]] = {}  # origin name -> its COW snapshots
        self.thins: dict[str, list[LV]] = {}  # pool name -> its thin volumes
        self.thin_children: dict[str, list[LV]] = {}  # origin name -> thin LVs naming it as origin
        self.owner: dict[str, LV] = {}  # _tdata/_tmeta name -> pool
        self.any_merging = False
        for lv in vg.lvs.values():
            kind = lv.kind
            if lv.merging:
                self.any_merging = True
            if kind == LVKind.COW and lv.origin:
                self.cows.setdefault(lv.origin, []).append(lv)
            elif kind == LVKind.THIN:
                self.thins.setdefault(lv.pool, []).append(lv)
                if lv.origin:
                    self.thin_children.setdefault(lv.origin, []).append(lv)
            elif kind == LVKind.THIN_POOL:
                for sub in (lv.data_lv, lv.metadata_lv):
                    if sub:
                        self.owner[sub] = lv
        for lv in vg.lvs.values():
            if lv.role in ("tdata", "tmeta") and lv.name not in self.owner and lv.parent in vg.lvs:
                self.owner[lv.name] = vg.lvs[lv.parent]
        self._infos: dict[str, LvInfo] = {}
        from lvsim.core import usage

        self._usage = usage  # the thin/COW accounting, imported only when a VG is reported
        self._hand_removed = bool((state.dm or {}).get("removed"))
        self._pool_health: dict[str, str] = {}
        self._segs: dict[str, list[Seg]] = {}
        self.extent_count = sum(state.pvs[d].pe_count for d in vg.pvs if d in state.pvs)
        self.alloc_by_pv: dict[str, int] = {}
        for lv in vg.lvs.values():
            for seg in lv.segments:
                self.alloc_by_pv[seg.pv] = self.alloc_by_pv.get(seg.pv, 0) + seg.extents
        self.free_count = self.extent_count - sum(self.alloc_by_pv.values())
        self.missing_count = len(missing_pvs(state, vg))
        self._partial: dict[str, bool] = {}

    # -- relationships -------------------------------------------------------------------------

    def lv(self, name: str) -> LV | None:
        return self.vg.lvs.get(name) if name else None

    def extents(self, lv: LV) -> int:
        """le_count: virtual size for thin LVs, the data LV's for a pool."""
        if lv.kind in (LVKind.THIN, LVKind.ZERO):
            return lv.virtual_extents
        if lv.kind == LVKind.THIN_POOL and not lv.segments:
            data = self.lv(lv.data_lv)
            return sum(s.extents for s in data.segments) if data is not None else 0
        return sum(s.extents for s in lv.segments)

    def size(self, lv: LV) -> int:
        return self.extents(lv) * self.vg.extent_size

    def is_cow_origin(self, lv: LV) -> bool:
        return lv.name in self.cows

    def thin_origin(self, lv: LV) -> LV | None:
        """The origin of a thin snapshot (or the external origin of a thin LV)."""
        return self.lv(lv.origin) if lv.kind == LVKind.THIN else None

    def is_thin_snapshot(self, lv: LV) -> bool:
        origin = self.thin_origin(lv)
        return origin is not None and origin.kind == LVKind.THIN

    def is_external_origin(self, lv: LV) -> bool:
        return lv.kind != LVKind.THIN and lv.name in self.thin_children

    def thin_snapshots(self, lv: LV) -> list[LV]:
        return self.thin_children.get(lv.name, []) if lv.kind == LVKind.THIN else []

    def origin(self, lv: LV) -> LV | None:
        """lv_origin_lv: a COW snapshot's origin, a thin LV's (external) origin."""
        if lv.kind in (LVKind.COW, LVKind.THIN):
            return self.lv(lv.origin)
        return None

    def pool(self, lv: LV) -> LV | None:
        return self.lv(lv.pool) if lv.kind == LVKind.THIN else None

    def parent(self, lv: LV) -> LV | None:
        return None if lv.visible else self.owner.get(lv.name)

    def is_merging(self, lv: LV) -> bool:
        """A snapshot (COW or thin) whose merge into its origin is pending."""
        return lv.merging

    def is_merging_origin(self, lv: LV) -> bool:
        snaps = self.cows.get(lv.name, []) + self.thin_snapshots(lv)
        return any(self.is_merging(s) for s in snaps)

    def is_partial(self, lv: LV) -> bool:
        """An LV with extents on a missing PV, or over such an LV (lvsim.lvm.missing_pvs)."""
        if not self.missing_count:
            return False
        partial = self._partial.get(lv.name)
        if partial is None:
            partial = self._partial[lv.name] = is_partial(self.state, self.vg, lv)
        return partial

    def tpool_active(self, pool: LV) -> bool:
        """The pool's -tpool layer is up: the pool or any of its thin volumes is active."""
        return pool.active or any(t.active for t in self.thins.get(pool.name, ()))

    def pool_health(self, pool: LV) -> str:
        health = self._pool_health.get(pool.name)
        if health is None:
            health = self._pool_health[pool.name] = self._usage.pool_health(self.state, self.vg, pool)
        return health

    # -- kernel state --------------------------------------------------------------------------

    def info(self, lv: LV) -> LvInfo:
        """Device presence, open state and segment status of an LV (cached)."""
        info = self._infos.get(lv.name)
        if info is None:
            info = self._infos[lv.name] = self._make_info(lv)
        return info

    def _make_info(self, lv: LV) -> LvInfo:
        usage = self._usage
        info = LvInfo()
        if not self.kernel:
            info.unknown = True
            return info
        kind = lv.kind
        state, vg = self.state, self.vg
        if kind == LVKind.THIN_POOL:
            if self.tpool_active(lv):
                info.exists = lv.active
                # a pool in use (with thin volumes) is held open by its own pool device [VM]
                info.open = info.exists and bool(self.thins.get(lv.name))
                info.status = ST_POOL
                info.health = self.pool_health(lv)
                info.fail = info.health == "failed"
                if not info.fail:
                    info.data = percent_value(*usage.pool_data_usage(state, vg, lv))
                    info.meta = percent_value(*usage.pool_metadata_usage(state, vg, lv))
            return info
        if lv.role in ("tdata", "tmeta"):
            pool = self.owner.get(lv.name)
            info.exists = info.open = pool is not None and self.tpool_active(pool)
            return info
        if lv.role == "pmspare":
            return info
        info.exists = lv.active and not (self._hand_removed and devmap.removed_by_hand(state, vg, lv))
        info.open = info.exists and lv.open_count > 0
        if not info.exists:
            return info
        if kind == LVKind.THIN:
            pool = vg.lvs.get(lv.pool)
            info.status = ST_THIN
            info.fail = pool is not None and self.pool_health(pool) == "failed"
            if not info.fail and pool is not None and pool.chunk_size:
                chunk = pool.chunk_size
                size = -(-lv.virtual_extents * vg.extent_size // chunk) * chunk
                mapped = usage.thin_mapped_chunks(state, vg, lv) * chunk
                info.data = percent_value(mapped, size) if mapped <= size else 100_000_000
        elif kind == LVKind.COW:
            used, total, invalid = usage.cow_usage(state, vg, lv)
            info.status = ST_SNAP
            info.invalid = invalid
            info.data = 100_000_000 if invalid else (0 if used <= 2 else percent_value(used, total))
        return info

    # -- segments ------------------------------------------------------------------------------

    def segments(self, lv: LV) -> list[Seg]:
        segs = self._segs.get(lv.name)
        if segs is None:
            segs = self._segs[lv.name] = self._make_segments(lv)
        return segs

    def _make_segments(self, lv: LV) -> list[Seg]:
        if lv.kind in (LVKind.THIN, LVKind.ZERO):
            return [Seg(0, lv.virtual_extents, lv.kind.value, [])]  # segment type "thin" or "zero"
        if lv.kind == LVKind.THIN_POOL and not lv.segments:
            return [Seg(0, self.extents(lv), "thin-pool", [("lv", lv.data_lv, 0)])]
        return [Seg(s.le_start, s.extents, "linear", [("pv", s.pv, s.pe_start)]) for s in lv.segments]


def dev_numbers(path: str) -> tuple[int, int]:
    """(major, minor) of a simulated block device: loopN is 7:N, sdX 8:16n, vdX 253:16n."""
    base = path.rsplit("/", 1)[-1]
    if base.startswith("loop") and base[4:].isdigit():
        return 7, int(base[4:])
    if base[:2] in ("sd", "vd") and base[2:].isalpha():
        index = 0
        for ch in base[2:]:
            index = index * 26 + ord(ch) - 96
        return (8 if base[0] == "s" else 253), (index - 1) * 16
    return 0, 0


def _scan_key(path: str) -> tuple[int, int, str]:
    return (*dev_numbers(path), path)


def system_vgs(state: State) -> list[str]:
    """VG names in the order LVM processes them when none are named.

    The label scan visits devices by device number, and lvmcache puts each newly seen VG at
    the head of its list, so the VG found last comes first.
    """
    seen: list[str] = []
    for device in sorted(state.pvs, key=_scan_key):
        name = state.pvs[device].vg
        if name and name in state.vgs and name not in seen:
            seen.append(name)
    return [*reversed(seen), *(name for name in state.vgs if name not in seen)]


def system_pvs(state: State) -> list[str]:
    """PV devices in processing order: each VG's PVs (VGs as in system_vgs), then the orphans."""
    pvs = [d for name in system_vgs(state) for d in state.vgs[name].pvs if d in state.pvs]
    return pvs + sorted((d for d, pv in state.pvs.items() if not pv.vg), key=_scan_key)
