"""pvchange: allocatability, tags and a new uuid of the PVs named (LVM's _pvchange_single)."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.core.model import PV
from lvsim.lvm import tags
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("pvchange"))
def pvchange(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    pvs = [row.pv for row in walker.pvs(False, by_vg=False) if row.pv is not None]
    rc = walker.rc
    done = 0
    for pv in pvs:
        outcome = change_one(ctx, pv)
        done += outcome is True
        if outcome is False:
            rc = ECMD_FAILED
    total = len(pvs)
    ctx.console.print(
        f"{done} physical volume{'' if done == 1 else 's'} changed / "
        f"{total - done} physical volume{'' if total - done == 1 else 's'} not changed"
    )
    return rc


def change_one(ctx: Ctx, pv: PV) -> bool | None:
    """One PV's changes: True when made, None when there was nothing to change, False when LVM
    refuses them."""
    args, console = ctx.args, ctx.console
    vg = ctx.state.vgs.get(pv.vg) if pv.vg else None
    if vg is None and tags.changes_tags(args):
        console.error(f"Can't change tag on Physical Volume {pv.device} not in volume group")
        console.error(f"Physical volume {pv.device} not changed")
        return False
    if vg is not None and args.has("uuid") and any(lv.active for lv in vg.lvs.values()):
        console.error(f"Volume group containing {pv.device} has active logical volumes")
        console.error(f"Physical volume {pv.device} not changed")
        return False
    done = False
    if args.has("allocatable"):
        wanted = bool(args.get("allocatable"))
        if wanted == pv.allocatable:
            console.error(f'Physical volume "{pv.device}" is already {"" if wanted else "un"}allocatable.')
        else:
            pv.allocatable, done = wanted, True
    if tags.changes_tags(args):
        tags.change(args, pv.tags)
        done = True
    if args.has("uuid"):
        pv.uuid = ctx.state.new_uuid()
        done = True
    if not done:
        console.print(f"Physical volume {pv.device} not changed")
        return None
    if vg is not None:
        vg.seqno += 1
    console.print(f'Physical volume "{pv.device}" changed')
    return True
