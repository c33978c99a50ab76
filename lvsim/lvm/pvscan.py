"""pvscan (the listing form): one line per PV, then the totals."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.units import display_size
from lvsim.lvm.display import field
from lvsim.lvm.parser import LvmSpec

ORPHAN_VG = "#orphans_lvm2"


@command(LvmSpec("pvscan"))
def pvscan(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    state = ctx.state
    walker = Walker(state, ctx.console, Env(state), ctx.args)
    rows = [r for r in walker.pvs(False, by_vg=False) if r.pv is not None]
    pv_width = max((len(p) for p in state.pvs), default=0) + 2
    # lvmcache's longest VG name counts the orphans' pseudo VG, #orphans_lvm2
    vg_width = max((len(v) for v in [*state.vgs, ORPHAN_VG]), default=0) + 2
    found = new = 0
    total = new_size = 0
    for row in rows:
        pv = row.pv
        assert pv is not None
        found += 1
        if ctx.args.has("short"):
            ctx.console.print(pv.device)
            continue
        if row.view is None:
            size = int(field(row, "pv_size"))
            new += 1
            new_size += size
            total += size
            ctx.console.print(f"PV {pv.device:<{pv_width}}    {' ':<{vg_width}} lvm2 [{display_size(size)}]")
            continue
        extent = row.view.vg.extent_size
        free = pv.pe_count - int(field(row, "pv_pe_alloc_count"))
        total += pv.pe_count * extent
        ctx.console.print(
            f"PV {pv.device:<{pv_width}} VG {pv.vg:<{vg_width}} lvm2 "
            f"[{display_size(pv.pe_count * extent)} / {display_size(free * extent)} free]"
        )
    if not found:
        ctx.console.print("No matching physical volumes found")
    else:
        ctx.console.print(
            f"Total: {found} [{display_size(total)}] / in use: {found - new} [{display_size(total - new_size)}]"
            f" / in no VG: {new} [{display_size(new_size)}]"
        )
    return walker.rc
