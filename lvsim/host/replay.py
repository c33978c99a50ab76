"""Replay a captured host's activation and usage onto an imported VG: which LVs were active, each
thin volume's Data% (that many chunks mapped), each pool's Data% (snapshots share their origin's
chunks, and stop sharing as many as the pool's count needs), each COW snapshot's Snap% (that many
exceptions), each pool's Meta% (its mapping trees take the blocks the host's did). The data itself is not
captured: mapped chunks read as zeroes.

What cannot be reproduced exactly (pool usage the sharing model cannot reach, LVs open on the host)
is returned as notes for the user.
"""

from __future__ import annotations

from lvsim.core import mapping, usage
from lvsim.core.model import LV, VG, LVKind, State, reset_runtime
from lvsim.core.units import format_percent
from lvsim.host.bundle import Bundle


def _target(percent: str, den: int, step: int = 1) -> int | None:
    """The count n (n * step of den) whose percentage LVM shows as `percent`; None if none does."""
    if not percent or den <= 0:
        return None
    try:
        guess = round(float(percent) * den / step / 100)
    except ValueError:
        return None
    limit = den // step + 1
    for delta in range(0, 64):
        for n in (guess - delta, guess + delta):
            if 0 <= n <= limit and format_percent(n * step, den) == percent:
                return n
    return None


def _rows(bundle: Bundle, vg_name: str) -> dict[str, dict[str, str]]:
    return {row["lv_name"].strip("[]"): row for row in bundle.rows("lv") if row.get("vg_name") == vg_name}


def replay(state: State, vg_name: str, bundle: Bundle) -> list[str]:
    """Activate and fill the VG as the bundle shows it; returns notes on what differs."""
    vg = state.vgs[vg_name]
    rows = _rows(bundle, vg_name)
    notes: list[str] = []
    for lv in vg.lvs.values():
        row = rows.get(lv.name)
        if row is None:
            continue
        lv.active = row.get("lv_active") == "active"
        in_use = lv.kind == LVKind.THIN_POOL or lv.role in ("tdata", "tmeta")  # open by the pool's devices
        if len(row.get("lv_attr", "")) > 5 and row["lv_attr"][5] == "o" and not in_use:
            notes.append(f"{vg_name}/{lv.name} was open on the host; it is closed in the simulated host")
    for pool in [lv for lv in vg.lvs.values() if lv.kind == LVKind.THIN_POOL]:
        notes += _replay_pool(state, vg, pool, rows)
    for cow in [lv for lv in vg.lvs.values() if lv.kind == LVKind.COW]:
        notes += _replay_cow(vg, cow, rows.get(cow.name, {}))
    return notes


def _replay_pool(state: State, vg: VG, pool: LV, rows: dict[str, dict[str, str]]) -> list[str]:
    chunk = pool.chunk_size
    pool.thin_map = None
    thins = sorted(mapping.thins_of(vg, pool), key=lambda t: t.thin_id)
    for lv in thins:
        reset_runtime(lv)
    shared: list[tuple[LV, int]] = []  # (snapshot, chunk) mappings still shared with the origin
    mapped: dict[str, list[int]] = {}  # the chunks each thin device maps, ascending
    for lv in thins:
        origin = vg.lvs.get(lv.origin)
        if origin is not None and origin.kind == LVKind.THIN and origin.pool == pool.name:
            mapping.attach_snapshot(pool, origin, lv)
            inherited = mapped.get(origin.name, [])
        else:
            mapping.attach_thin(pool, lv)
            inherited = []
        size = lv.le_count * vg.extent_size
        want = _target(rows.get(lv.name, {}).get("data_percent", ""), size, chunk)
        if want is None:
            want = len(inherited)
        for c in inherited[want:]:
            mapping.discard(state, vg, lv, c)
        shared += [(lv, c) for c in inherited[:want]]
        start = inherited[-1] + 1 if inherited else 0
        new = list(range(start, start + max(0, want - len(inherited))))
        for c in new:
            mapping.provision(state, vg, lv, c)
        mapped[lv.name] = inherited[:want] + new
    notes = []
    total = mapping.pool_total_blocks(vg, pool)
    want_used = _target(rows.get(pool.name, {}).get("data_percent", ""), total)
    if want_used is not None:
        while mapping.pool_used_blocks(pool) < want_used and shared:
            lv, c = shared.pop()
            mapping.provision(state, vg, lv, c)
        used = mapping.pool_used_blocks(pool)
        if used != want_used:
            notes.append(
                f"{vg.name}/{pool.name}: Data% {format_percent(used, total)} in the simulated host, "
                f"{rows[pool.name]['data_percent']} on the host (its thin volumes' sharing cannot be rebuilt)"
            )
    host_meta = rows.get(pool.name, {}).get("metadata_percent", "")
    if host_meta and pool.active:
        used, total = usage.pool_metadata_usage(state, vg, pool)
        want_meta = _target(host_meta, total)
        if want_meta is not None:  # the host's trees, laid out as its writes made them
            mapping.pool_state(pool)["host_trees"] = want_meta - used
        meta = format_percent(*usage.pool_metadata_usage(state, vg, pool))
        if meta != host_meta:
            notes.append(
                f"{vg.name}/{pool.name}: Meta% {meta} in the simulated host, {host_meta} on the host"
            )
    return notes


def _replay_cow(vg: VG, cow: LV, row: dict[str, str]) -> list[str]:
    percent = row.get("snap_percent", "")
    attr = row.get("lv_attr", "")
    if len(attr) > 4 and attr[4] == "I":
        cow.invalid = True
        return []
    if not percent:
        return []
    chunk = cow.chunk_size or 4096
    total = cow.le_count * vg.extent_size // chunk
    epc = chunk // 16
    for n in range(0, total + 1):
        used = 1 + (n // epc + 1) + n
        shown = "0.00" if n == 0 else format_percent(used, total)
        if shown == percent:
            cow.exceptions = {i: i for i in range(n)}
            return []
        if used > total:
            break
    return [f"{vg.name}/{cow.name}: Snap% {percent} on the host cannot be reproduced"]
