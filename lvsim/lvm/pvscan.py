"""pvscan (the listing form): one line per PV, then the totals."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.units import display_size
from lvsim.lvm.common import run_help
from lvsim.lvm.display import field
from lvsim.lvm.parser import LvmSpec

ORPHAN_VG = "#orphans_lvm2"
UUID_SUFFIX = 40 + 10  # sizeof(uuid) + 10: " with UUID " and the uuid


@command(LvmSpec("pvscan"))
def pvscan(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    state = ctx.state
    if ctx.args.has("novolumegroup") and ctx.args.has("exported"):
        raise LvmError("Options -e and -n are incompatible", run_help("pvscan"), rc=EINVALID_CMD_LINE)
    if ctx.args.has("exported"):
        ctx.console.warn("only considering physical volumes of exported volume group(s)")
    elif ctx.args.has("novolumegroup"):
        ctx.console.warn("only considering physical volumes in no volume group")
    walker = Walker(state, ctx.console, Env(state), ctx.args)
    rows = [r for r in walker.pvs(False, by_vg=False) if r.pv is not None]
    pv_width = max((len(p) for p in state.pvs), default=0) + 2
    # lvmcache's longest VG name counts the orphans' pseudo VG, #orphans_lvm2
    vg_width = max((len(v) for v in [*state.vgs, ORPHAN_VG]), default=0) + 2
    args = ctx.args
    width = pv_width  # pv_len: the name column, wider by the uuid's suffix with -u
    if args.has("uuid"):
        width += UUID_SUFFIX
    found = new = 0
    total = new_size = 0
    for row in rows:
        pv = row.pv
        assert pv is not None
        orphan = row.view is None
        if args.has("exported") or (args.has("novolumegroup") and not orphan):
            continue  # lvsim has no exported VGs
        found += 1
        if orphan:
            size = int(field(row, "pv_size"))
            new += 1
            new_size += size
            total += size
        else:
            extent = row.view.vg.extent_size
            total += pv.pe_count * extent
        if args.has("short"):
            ctx.console.print(pv.device)
            continue
        name = pv.device
        if args.has("uuid"):
            name = f"{pv.device:<{pv_width - 2}} with UUID {pv.uuid}"
        if orphan:
            ctx.console.print(f"PV {name:<{width}}    {' ':<{vg_width}} lvm2 [{display_size(size)}]")
            continue
        free = pv.pe_count - int(field(row, "pv_pe_alloc_count"))
        ctx.console.print(
            f"PV {name:<{width}} VG {pv.vg:<{vg_width}} lvm2 "
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
