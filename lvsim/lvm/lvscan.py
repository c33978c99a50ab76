"""lvscan: one line per LV with its activity, snapshot role, path, size and allocation policy."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.model import LVKind
from lvsim.core.units import display_size
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("lvscan"))
def lvscan(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    for row in walker.lvs(False):
        view, lv = row.view, row.lv
        assert view is not None and lv is not None
        if not lv.visible and not ctx.args.has("all"):
            continue
        info = view.info(lv)
        active = info.exists and not (lv.kind == LVKind.COW and info.invalid)
        role = "Original" if view.is_cow_origin(lv) else "Snapshot" if lv.kind == LVKind.COW else "        "
        ctx.console.print(
            f"{'ACTIVE   ' if active else 'inactive '}{role} '/dev/{view.vg.name}/{lv.name}' "
            f"[{display_size(view.size(lv))}] {lv.alloc}"
        )
    return walker.rc
