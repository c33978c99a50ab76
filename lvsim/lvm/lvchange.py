"""lvchange: permission, allocation, activation skip, activation and thin-pool settings."""

from __future__ import annotations

from lvsim.core import mapping
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.model import LV, VG
from lvsim.core.names import find_vg, split_lv_arg
from lvsim.lvm.common import set_active
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse


@command(LvmSpec("lvchange"))
def lvchange(ctx: Ctx) -> int:
    args = ctx.args
    rc = 0
    for arg in args.pos:
        vg_name, lv_name = split_lv_arg(arg)
        try:
            if not vg_name:
                vg = find_vg(ctx.state, lv_name)
                targets = [lv for lv in vg.lvs.values() if lv.visible]
            else:
                vg = find_vg(ctx.state, vg_name)
                lv = vg.lvs.get(lv_name)
                if lv is None:
                    raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
                targets = [lv]
            for lv in targets:
                change_one(ctx, vg, lv)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc


def change_one(ctx: Ctx, vg: VG, lv: LV) -> None:
    args = ctx.args
    changed = False
    if args.has("permission"):
        lv.writable = args.get("permission") != "r"
        changed = True
    if args.has("alloc"):
        lv.alloc = str(args.get("alloc"))
        changed = True
    if args.has("setactivationskip"):
        lv.skip_activation = bool(args.get("setactivationskip"))
        changed = True
    if any(args.has(o) for o in ("zero", "errorwhenfull", "discards")):
        change_pool(ctx, vg, lv)
        changed = True
    if changed:
        vg.seqno += 1
        ctx.console.print(f"Logical volume {vg.name}/{lv.name} changed.")
    if args.has("activate"):
        on = args.get("activate") == "y"
        if lv.role in ("tdata", "tmeta"):
            activate_component(ctx, vg, lv, on)
            return
        if on and lv.skip_activation and not args.has("ignoreactivationskip"):
            return
        set_active(ctx, vg, lv, on)


def activate_component(ctx: Ctx, vg: VG, lv: LV, on: bool) -> None:
    """lvchange -a of a pool's _tdata/_tmeta: held by the active pool's device, or (answered no) not
    activated on its own; its read-only activation (answered yes) is not emulated."""
    from lvsim.core import devmap
    from lvsim.core.names import dm_name

    full = f"{vg.name}/{lv.name}"
    pool = vg.lvs.get(lv.parent)
    if not on:
        if pool is not None and pool.active:
            name = dm_name(vg.name, lv.name)
            minor = devmap.dm_state(ctx.state)["minor"].get(name, 0)
            raise LvmError(f"Device {name} ({devmap.DM_MAJOR}:{minor}) is used by another device.")
        return
    if ctx.args.has("yes") or ctx.console.prompt("Do you want to activate component LV in read-only mode? [y/n]: "):
        refuse(f"lvchange -ay of the pool component {full}")
    raise LvmError(f"Operation not permitted on hidden LV {full}.")


def change_pool(ctx: Ctx, vg: VG, lv: LV) -> None:
    """lvchange --errorwhenfull / --discards / -Z of a thin pool, in LVM's order and wording.

    Returns when everything changed (the caller then says "changed"); on any failure prints
    LVM's errors (and "changed" if something did change) and raises.
    """
    args = ctx.args
    full = f"{vg.name}/{lv.name}"
    if lv.kind != "thin-pool":
        raise LvmError(
            f"Command on LV {full} uses options that require LV types thinpool.",
            f"Command not permitted on LV {full}.",
        )
    changed = False
    if args.has("errorwhenfull"):
        wanted = bool(args.get("errorwhenfull"))
        if wanted == lv.error_when_full:
            raise LvmError(f"Error when full is already {'' if wanted else 'un'}set for {full}.")
        lv.error_when_full, changed = wanted, True
    failed = False
    for _ in [o for o in ("discards", "zero") if args.has(o)]:  # LVM updates both, once per option
        updated = False
        if args.has("discards"):
            value = str(args.get("discards"))
            if value == lv.discards:
                ctx.console.error(f"Logical volume {full} already uses --discards {value}.")
            elif "ignore" in (value, lv.discards) and mapping.tpool_active(vg, lv):
                ctx.console.error(f"Cannot change support for discards while pool volume {full} is active.")
            else:
                lv.discards, updated = value, True
        if args.has("zero"):
            zero = bool(args.get("zero"))
            if zero == lv.zero:
                ctx.console.error(
                    f"Logical volume {full} already {'' if zero else 'does not '}zero new blocks."
                )
            else:
                lv.zero, updated = zero, True
        changed = changed or updated
        failed = failed or not updated
    if failed:
        if changed:
            vg.seqno += 1
            ctx.console.print(f"Logical volume {full} changed.")
        raise LvmError()
