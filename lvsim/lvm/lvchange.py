"""lvchange: permission, allocation, activation skip, activation and thin-pool settings."""

from __future__ import annotations

from lvsim.core import mapping
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, NOT_EMULATED, LvmError
from lvsim.core.model import LV, VG, LVKind
from lvsim.core.names import find_vg, split_lv_arg
from lvsim.core.partial import is_partial
from lvsim.lvm import missing_pvs, readahead, tags
from lvsim.lvm.common import LV_TYPE_NAMES, set_active
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse


def refuse_resync(ctx: Ctx) -> int:
    """lvchange --resync takes mirror and raid LVs only, which lvsim has none of: every LV named
    fails LVM's LV type check (an LV not named by itself is skipped)."""
    rc = 0
    for arg in ctx.args.pos:
        vg_name, lv_name = split_lv_arg(arg)
        vg = find_vg(ctx.state, vg_name or lv_name)
        lv = vg.lvs.get(lv_name) if vg_name else None
        if not vg_name:
            continue
        if lv is None:
            ctx.console.error(f'Failed to find logical volume "{vg_name}/{lv_name}"')
        elif lv.kind not in LV_TYPE_NAMES:
            refuse(f"lvchange --resync of a {lv.kind} LV")
        else:
            full = f"{vg.name}/{lv.name}"
            ctx.console.error(f"Command on LV {full} does not accept LV type {LV_TYPE_NAMES[lv.kind]}.")
            ctx.console.error(f"Command not permitted on LV {full}.")
        rc = ECMD_FAILED
    return rc


def read_vg(ctx: Ctx, name: str) -> VG:
    """The VG an LV argument names; of a VG with missing PVs only activation is emulated."""
    vg = find_vg(ctx.state, name)
    if missing_pvs.missing_pvs(ctx.state, vg):
        missing_pvs.only_options(ctx, vg, ("activate",))
    return missing_pvs.read_vg(ctx, name)


@command(LvmSpec("lvchange"))
def lvchange(ctx: Ctx) -> int:
    args = ctx.args
    if args.has("resync"):
        return refuse_resync(ctx)
    if args.has("select") or any(a.startswith("@") for a in args.pos):
        from lvsim.lvm.selection import selected_lvs

        found, rc = selected_lvs(ctx)
        for vg, lv in found:
            try:
                change_one(ctx, vg, lv, named=False)
            except LvmError as exc:
                for line in exc.lines:
                    ctx.console.error(line)
                rc = ECMD_FAILED
        return rc
    rc = 0
    for arg in args.pos:
        vg_name, lv_name = split_lv_arg(arg)
        try:
            if not vg_name:
                vg = read_vg(ctx, lv_name)
                targets = [lv for lv in vg.lvs.values() if lv.visible]
            else:
                vg = read_vg(ctx, vg_name)
                lv = vg.lvs.get(lv_name)
                if lv is None:
                    raise LvmError(f'Failed to find logical volume "{vg_name}/{lv_name}"')
                targets = [lv]
            for lv in targets:  # each LV fails on its own (process_each_lv goes on)
                rc = max(rc, _change_reported(ctx, vg, lv, named=bool(vg_name)))
        except LvmError as exc:
            if exc.rc == NOT_EMULATED:
                raise
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
    return rc


def _change_reported(ctx: Ctx, vg: VG, lv: LV, named: bool) -> int:
    """change_one, LVM's refusal of it said on stderr: the exit code."""
    try:
        change_one(ctx, vg, lv, named)
    except LvmError as exc:
        if exc.rc == NOT_EMULATED:
            raise
        for line in exc.lines:
            ctx.console.error(line)
        return ECMD_FAILED
    return 0


# lvchange_properties' options that share one metadata commit, in LVM's order (OO_LVCHANGE_META);
# --discards and --zero follow, each committed on its own.
GROUP_ONE = (
    "addtag",
    "deltag",
    "alloc",
    "contiguous",
    "permission",
    "readahead",
    "setactivationskip",
    "setautoactivation",
    "errorwhenfull",
)


def rule_problems(ctx: Ctx, vg: VG, lv: LV) -> list[str]:
    """lvchange_properties' RULEs on LV types and properties (command-lines.in) that an LV of
    lvsim can break, in the definition's order, in LVM's words (_check_lv_rules)."""
    from lvsim.lvm.report.view import VgView

    args, full = ctx.args, f"{vg.name}/{lv.name}"
    view = VgView(ctx.state, vg)
    problems = []
    if any(args.has(o) for o in ("errorwhenfull", "discards", "zero")) and lv.kind != LVKind.THIN_POOL:
        problems.append(f"Command on LV {full} uses options that require LV types thinpool .")
    if args.has("permission"):
        if lv.kind == LVKind.THIN_POOL:
            problems.append(f"Command on LV {full} uses options invalid with LV type thinpool.")
        elif view.is_external_origin(lv):
            problems.append(
                f"Command on LV {full} uses options that are invalid with LV properties: lv_is_external_origin ."
            )
    if any(args.has(o) for o in ("alloc", "contiguous", "readahead")) and view.is_cow_origin(lv):
        problems.append(
            f"Command on LV {full} uses options that are invalid with LV properties: lv_is_thick_origin ."
        )
    return problems


def change_one(ctx: Ctx, vg: VG, lv: LV, named: bool = True) -> None:
    """One LV's changes; an LV breaking a rule fails when named, else it is skipped silently."""
    args = ctx.args
    full = f"{vg.name}/{lv.name}"
    problems = rule_problems(ctx, vg, lv)
    if problems:
        if named:
            raise LvmError(*problems, f"Command not permitted on LV {full}.")
        return
    if args.has("monitor") and not args.has("activate"):  # lvchange_monitor
        from lvsim.lvm import dmeventd

        dmeventd.change_monitoring(ctx, vg, lv, bool(args.get("monitor")))
        return
    given = [o for o in GROUP_ONE if args.has(o)]
    done = sum(change_property(ctx, vg, lv, option) for option in given)
    announced = False
    if done:
        vg.seqno += 1
        ctx.console.print(f"Logical volume {full} changed.")
        announced = True
    if done != len(given):
        raise LvmError()
    if args.has("discards") or args.has("zero"):
        change_pool(ctx, vg, lv, announced)
    if args.has("activate"):
        on = args.get("activate") == "y"
        if lv.role in ("tdata", "tmeta"):
            activate_component(ctx, vg, lv, on)
            return
        if on and lv.skip_activation and not args.has("ignoreactivationskip"):
            return
        if on and is_partial(ctx.state, vg, lv):
            raise LvmError(missing_pvs.refuse_activation(vg, lv))
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
    if ctx.args.has("yes") or ctx.console.prompt(
        "Do you want to activate component LV in read-only mode? [y/n]: "
    ):
        refuse(f"lvchange -ay of the pool component {full}")
    raise LvmError(f"Operation not permitted on hidden LV {full}.")


def change_property(ctx: Ctx, vg: VG, lv: LV, option: str) -> bool:
    """One option of the first group (lvm2's _lvchange_*); False when LVM refuses it."""
    args = ctx.args
    full = f"{vg.name}/{lv.name}"
    value = args.get(option)
    if option in ("addtag", "deltag"):
        tag_list = tags.lv_tags(lv)
        for tag in args.opts[option]:
            if option == "deltag" and str(tag) in tag_list:
                tag_list.remove(str(tag))
            elif option == "addtag" and str(tag) not in tag_list:
                tag_list.append(str(tag))
    elif option == "permission":
        writable = value != "r"
        if writable == lv.writable:
            ctx.console.error(
                f"Logical volume {full} is already writable."
                if writable
                else f'Logical volume "{full}" is already read only.'
            )
            return False
        lv.writable = writable
    elif option in ("alloc", "contiguous"):
        policy = str(value) if option == "alloc" else "contiguous" if value else "inherit"
        if policy == lv.alloc:
            ctx.console.error(f"Allocation policy of logical volume {full} is already {policy}.")
            return False
        lv.alloc = policy
    elif option == "readahead":
        return change_readahead(ctx, lv, full, value)
    elif option == "setactivationskip":
        lv.skip_activation = bool(value)
    elif option == "setautoactivation":
        lv.autoactivation = bool(value)
    elif option == "errorwhenfull":
        if bool(value) == lv.error_when_full:
            ctx.console.error(f"Error when full is already {'' if value else 'un'}set for {full}.")
            return False
        lv.error_when_full = bool(value)
    return True


def change_readahead(ctx: Ctx, lv: LV, full: str, value: object) -> bool:
    """_lvchange_readahead: refused when the LV already has that read-ahead."""
    wanted = readahead.sectors(ctx.console, value)
    if lv.read_ahead == wanted:
        ctx.console.error(f"Read ahead is already {wanted} for {full}.")
        return False
    lv.read_ahead = wanted
    return True


def change_pool(ctx: Ctx, vg: VG, lv: LV, announced: bool) -> None:
    """lvchange --discards / -Z of a thin pool, in LVM's order and wording: LVM updates both
    settings once per option given, says "changed" after the first update (unless the first group
    of options already did), and fails if any update did not happen."""
    args = ctx.args
    full = f"{vg.name}/{lv.name}"
    changed = failed = False
    for _ in [o for o in ("discards", "zero") if args.has(o)]:
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
        if updated and not changed:
            changed = True
            if not announced:
                vg.seqno += 1
                ctx.console.print(f"Logical volume {full} changed.")
        failed = failed or not updated
    if failed:
        raise LvmError()
