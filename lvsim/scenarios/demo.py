"""`lvsim demo`: the thin-provisioning scenario on the simulator, then the pools' allocation at a glance."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

from lvsim.backend import Backend
from lvsim.core.model import LVKind
from lvsim.core.units import format_size

BAR_WIDTH = 60
REPORT_FIELDS = "vg_name,lv_name,segtype,pool_lv,lv_size,data_percent,metadata_percent"


@dataclass(frozen=True)
class ThinRow:
    """One thin volume: its virtual size and the pool space it maps, in bytes."""

    name: str
    virtual: int
    used: int


@dataclass
class PoolView:
    """One thin pool: data size, data used, metadata use, and its thin volumes (sizes in bytes)."""

    vg: str
    name: str
    size: int
    used: int
    meta_percent: float
    thins: list[ThinRow] = field(default_factory=list)

    @property
    def virtual(self) -> int:
        return sum(t.virtual for t in self.thins)


def _size(nbytes: int) -> str:
    return format_size(nbytes, long_form=True).strip() if nbytes else "0"


def _bytes(text: str) -> int:
    return int(float(text.rstrip("Bb") or 0))


def _used(size: int, percent: str) -> int:
    return round(size * float(percent or 0) / 100)


def pools_from_report(backend: Backend) -> list[PoolView]:
    """The thin pools and their volumes, as `lvs` reports them."""
    rows = backend.report("lv", "-a", "-o", REPORT_FIELDS, "--units", "b", "--nosuffix")
    pools = {
        (r["vg_name"], r["lv_name"]): PoolView(
            r["vg_name"],
            r["lv_name"],
            _bytes(r["lv_size"]),
            _used(_bytes(r["lv_size"]), r["data_percent"]),
            float(r["metadata_percent"] or 0),
        )
        for r in rows
        if r["segtype"] == "thin-pool"
    }
    for r in rows:
        pool = pools.get((r["vg_name"], r["pool_lv"]))
        if r["segtype"] == "thin" and pool is not None:
            size = _bytes(r["lv_size"])
            pool.thins.append(ThinRow(r["lv_name"], size, _used(size, r["data_percent"])))
    return list(pools.values())


def pools_from_model(backend: Backend) -> list[PoolView]:
    """The same read straight from the simulator's state (when its reports cannot say it yet)."""
    from lvsim.core import usage

    state = getattr(backend, "state", None)
    if state is None:
        return []
    views = []
    for vg in state.vgs.values():
        for pool in (lv for lv in vg.lvs.values() if lv.kind == LVKind.THIN_POOL):
            used, total = usage.pool_data_usage(state, vg, pool)
            meta_used, meta_total = usage.pool_metadata_usage(state, vg, pool)
            meta = round(100 * meta_used / meta_total, 2) if meta_total else 0.0
            view = PoolView(vg.name, pool.name, total * pool.chunk_size, used * pool.chunk_size, meta)
            for lv in vg.lvs.values():
                if lv.kind == LVKind.THIN and lv.pool == pool.name:
                    mapped = usage.thin_mapped_chunks(state, vg, lv) * pool.chunk_size
                    view.thins.append(ThinRow(lv.name, lv.le_count * vg.extent_size, mapped))
            views.append(view)
    return views


def _paint(text: str, code: str, color: bool) -> str:
    return f"\033[{code}m{text}\033[0m" if color and text else text


def render(pools: Sequence[PoolView], color: bool = False) -> str:
    """A table of each pool's thin volumes and a bar of used vs pool size vs total virtual size."""
    if not pools:
        return "No thin pools.\n"
    lines = []
    for pool in pools:
        pct = 100 * pool.used / pool.size if pool.size else 0.0
        lines.append(
            f"Thin pool {pool.vg}/{pool.name}: {_size(pool.size)}, data {pct:.2f}% used, "
            f"metadata {pool.meta_percent:.2f}% used"
        )
        lines.append(f"  {'LV':<16} {'virtual':>12} {'used':>12}  used of virtual")
        for t in pool.thins:
            share = t.used / t.virtual if t.virtual else 0.0
            bar = "█" * round(share * 20)
            lines.append(
                f"  {t.name:<16} {_size(t.virtual):>12} {_size(t.used):>12}  "
                f"{_paint(bar, '32', color)}{'·' * (20 - len(bar))} {100 * share:.0f}%"
            )
        scale = max(pool.size, pool.virtual, 1)
        used_w = round(BAR_WIDTH * pool.used / scale)
        size_w = max(round(BAR_WIDTH * pool.size / scale), used_w)
        over_w = BAR_WIDTH - size_w if pool.virtual > pool.size else 0
        bar = (
            _paint("█" * used_w, "32", color)
            + "░" * (size_w - used_w)
            + "|"
            + _paint("▒" * over_w, "31", color)
        )
        lines.append(f"  [{bar}]")
        ratio = 100 * pool.virtual / pool.size if pool.size else 0.0
        lines.append(
            f"   {_paint('█', '32', color)} used {_size(pool.used)}   ░ free {_size(pool.size - pool.used)}"
            f"   | pool size {_size(pool.size)}"
        )
        promise = f"   the thin volumes promise {_size(pool.virtual)}, {ratio:.0f}% of the pool"
        if over_w:
            promise += f": {_paint('▒', '31', color)} overcommitted by {_size(pool.virtual - pool.size)}"
        lines.append(promise)
        lines.append("")
    return "\n".join(lines)


def show(backend: Backend, out: TextIO, color: bool = False) -> None:
    """Print the allocation view, from the reports when they can give it, else from the model."""
    try:
        pools = pools_from_report(backend)
    except Exception as exc:  # reports without these fields yet: fall back to the simulator's model
        out.write(f"(lvs cannot report pool usage here: {exc}; reading the simulator's model)\n")
        pools = pools_from_model(backend)
    out.write("\n" + render(pools, color))
