"""vgchange: activation, allocation policy, resizeable, autoactivation, tags, a new uuid, refresh."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.core.model import VG, LVKind, State
from lvsim.core.partial import is_partial
from lvsim.lvm import missing_pvs
from lvsim.lvm.common import set_active
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse


def scan_order(state: State) -> list[str]:
    """The order LVM walks all VGs in: by their first PV in device order, last found first."""
    disks = list(state.disks)
    return sorted(
        state.vgs, key=lambda n: -min((disks.index(d) for d in state.vgs[n].pvs if d in disks), default=0)
    )


@command(LvmSpec("vgchange"))
def vgchange(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env

    rc = 0
    if ctx.args.pos:
        walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
        names = walker.vg_names()
        rc = walker.rc
    else:
        names = scan_order(ctx.state)
    for name in names:  # recorded: vgchange -ay and -an of a VG with missing PVs, nothing else
        vg = ctx.state.vgs[name]
        if missing_pvs.missing_pvs(ctx.state, vg):
            missing_pvs.only_options(ctx, vg, ("activate",))
            if ctx.args.get("activate") not in ("y", "n"):
                refuse(f"vgchange -a {ctx.args.get('activate')} of VG {name} with missing PVs")
    for name in names:
        vg = ctx.state.vgs[name]
        partial = missing_pvs.missing_pvs(ctx.state, vg)
        if partial:
            missing_pvs.warn_missing(ctx.console, ctx.state, vg)
        changed = change_properties(ctx, vg)
        if changed is False:
            rc = ECMD_FAILED
            continue
        if changed:
            vg.seqno += 1
            ctx.console.print(f'Volume group "{name}" successfully changed')
        if ctx.args.has("monitor") and not ctx.args.has("activate"):  # vgchange_monitor
            from lvsim.lvm.dmeventd import vg_monitoring

            vg_monitoring(ctx, vg, bool(ctx.args.get("monitor")))
        if ctx.args.has("activate"):
            on = ctx.args.get("activate") == "y"
            for lv in vg.lvs.values():
                if lv.kind == LVKind.COW:  # a snapshot follows its origin (skipped or not)
                    continue
                if lv.visible and (not on or not lv.skip_activation or ctx.args.has("ignoreactivationskip")):
                    if on and partial and is_partial(ctx.state, vg, lv):
                        ctx.console.error(missing_pvs.refuse_activation(vg, lv))
                        rc = ECMD_FAILED
                        continue
                    set_active(ctx, vg, lv, on)
            active = sum(1 for lv in vg.lvs.values() if lv.visible and lv.active)
            ctx.console.print(f'{active} logical volume(s) in volume group "{name}" now active')
    return rc


# The properties vgchange changes, in the order LVM applies them (_vgchange_single).
PROPERTIES = ("resizeable", "setautoactivation", "deltag", "addtag", "uuid", "alloc")


def change_properties(ctx: Ctx, vg: VG) -> bool | None:
    """Apply the property options to one VG: None if none was given, False when LVM refuses one
    (nothing is then written)."""
    args = ctx.args
    given = [o for o in PROPERTIES if args.has(o)]
    if not given:
        return None
    for option in given:
        if option == "resizeable":
            vg.resizeable = bool(args.get("resizeable"))
        elif option == "setautoactivation":
            wanted = bool(args.get("setautoactivation"))
            if wanted == vg.autoactivation:
                ctx.console.error(f"Volume group autoactivation is already {'yes' if wanted else 'no'}.")
                return False
            vg.autoactivation = wanted
        elif option == "deltag":
            for tag in args.opts["deltag"]:
                if str(tag) in vg.tags:
                    vg.tags.remove(str(tag))
        elif option == "addtag":
            for tag in args.opts["addtag"]:
                if str(tag) not in vg.tags:
                    vg.tags.append(str(tag))
        elif option == "uuid":
            if any(lv.active for lv in vg.lvs.values()):
                ctx.console.error("Volume group has active logical volumes")
                return False
            vg.uuid = ctx.state.new_uuid()
        elif option == "alloc":
            vg.alloc = str(args.get("alloc"))
    return True
