"""lvremove: remove LVs with their dependents (also used by vgremove)."""

from __future__ import annotations

from lvsim.core import devmap
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, LvmError
from lvsim.core.lifecycle import before_delete
from lvsim.core.model import LV, VG, LVKind
from lvsim.core.names import split_lv_arg
from lvsim.lvm import missing_pvs, tags
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.report.view import system_vgs


def delete_lv(ctx: Ctx, vg: VG, lv: LV) -> None:
    """Drop an LV from the VG (with its hidden sub-LVs and data) and say so."""
    before_delete(vg, lv)
    del vg.lvs[lv.name]
    origin = vg.lvs.get(lv.origin) if lv.kind == LVKind.COW else None
    if origin is not None and origin.kind == LVKind.ZERO:  # a sparse snapshot's virtual origin
        del vg.lvs[origin.name]
    vg.seqno += 1
    if lv.visible:  # the spare goes without a word
        ctx.console.print(f'Logical volume "{lv.name}" successfully removed.')
    if lv.kind == LVKind.THIN and missing_pvs.missing_pvs(ctx.state, vg):
        missing_pvs.written(ctx, vg)  # a thin volume's removal is committed at once (the pool's message)


def remove_lvs_committed(ctx: Ctx, vg: VG, lvs: list[LV], stop_on_error: bool = False) -> int:
    """remove_lvs, then the one metadata commit LVM defers the other removals to (its warnings of
    missing PVs: lvsim.lvm.missing_pvs.written)."""
    before = dict(vg.lvs)
    rc = remove_lvs(ctx, vg, lvs, stop_on_error)
    commit_removals(ctx, vg, before)
    return rc


def commit_removals(ctx: Ctx, vg: VG, before: dict[str, LV]) -> None:
    """The one metadata commit of the removals since `vg` held the LVs `before` (a thin volume's
    removal is committed at once): with PVs missing, LVM warns of them again."""
    gone = [lv for name, lv in before.items() if name not in vg.lvs]
    if any(lv.kind != LVKind.THIN for lv in gone) and missing_pvs.missing_pvs(ctx.state, vg):
        missing_pvs.written(ctx, vg)


def remove_lvs(ctx: Ctx, vg: VG, lvs: list[LV], stop_on_error: bool = False) -> int:
    """lvremove's per-LV logic (prompts, dependents); returns the worst exit code.

    vgremove stops at the first LV it could not remove (stop_on_error).
    """
    rc = 0
    for lv in lvs:
        if lv.name not in vg.lvs:
            continue  # already removed as a dependent
        try:
            remove_one(ctx, vg, lv)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
            if stop_on_error:
                break
    return rc


def remove_one(ctx: Ctx, vg: VG, lv: LV) -> None:
    full = f"{vg.name}/{lv.name}"
    force = ctx.args.has("force")
    if lv.role in ("tdata", "tmeta"):
        raise LvmError(f"Can't remove logical volume {full} used by a pool.")
    if lv.open_count:
        raise LvmError(devmap.in_use_message(ctx.state, vg, lv))
    dependents = [d for d in vg.lvs.values() if d is not lv and (d.pool == lv.name or d.origin == lv.name)]
    snapshots = [d for d in dependents if d.kind == LVKind.COW]
    thins = [d for d in dependents if d.kind == LVKind.THIN and d.pool == lv.name]
    if lv.kind == LVKind.THIN_POOL and thins and not force:
        if not ctx.console.prompt(
            f"Removing pool {full} will remove {len(thins)} dependent volume(s). Proceed? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    if snapshots and not force and lv.active:
        if not ctx.console.prompt(
            f"Do you really want to remove active origin logical volume {full} with "
            f"{len(snapshots)} snapshots(s)? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    for dep in [*snapshots, *thins]:
        remove_one(ctx, vg, dep) if dep.kind == LVKind.THIN else delete_lv(ctx, vg, dep)
    if lv.role == "pmspare" and not force and not ctx.args.has("yes"):
        if not ctx.console.prompt(
            f"Removal of pool metadata spare logical volume {full} disables automatic recovery attempts "
            "after damage to a thin or cache pool. Proceed? [y/n]: "
        ):
            raise LvmError(f"Logical volume {full} not removed.")
    elif (
        lv.active and lv.kind != LVKind.THIN_POOL and not force and not ctx.args.has("yes") and not snapshots
    ):
        if not ctx.console.prompt(f"Do you really want to remove active logical volume {full}? [y/n]: "):
            raise LvmError(f"Logical volume {full} not removed.")
    delete_lv(ctx, vg, lv)


@command(LvmSpec("lvremove"))
def lvremove(ctx: Ctx) -> int:
    rc = 0
    chosen: dict[str, tuple[VG, set[str], list[str]]] = {}
    args, wanted, _ = tags.split_args(ctx.console, ctx.args.pos)
    if wanted:  # every VG is read for @tag arguments, in the system's order
        for name in system_vgs(ctx.state):
            vg = ctx.state.vgs[name]
            found = {n for n, lv in vg.lvs.items() if lv.visible and tags.lv_selected(vg, lv, wanted)}
            if found:
                chosen[name] = (vg, found, [])
    for arg in args:
        vg_name, lv_name = split_lv_arg(arg)
        try:
            name = vg_name or lv_name
            vg = chosen[name][0] if name in chosen else missing_pvs.update_vg(ctx, name)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            rc = ECMD_FAILED
            continue
        _, names, missing = chosen.setdefault(vg.name, (vg, set(), []))
        if not vg_name:
            names.update(n for n, lv in vg.lvs.items() if lv.visible)
        elif lv_name in vg.lvs:
            names.add(lv_name)
        else:
            missing.append(f"{vg_name}/{lv_name}")
    for vg, names, missing in chosen.values():
        rc = max(rc, remove_lvs_committed(ctx, vg, processing_order(vg, names)))
        for full in missing:  # LVM reports the names it could not find after the VG's own LVs
            ctx.console.error(f'Failed to find logical volume "{full}"')
            rc = ECMD_FAILED
    return rc


def processing_order(vg: VG, names: set[str]) -> list[LV]:
    """process_each_lv's order: thin pools first (latest first), then the rest in VG order."""
    lvs = [lv for lv in vg.lvs.values() if lv.name in names]
    pools = [lv for lv in lvs if lv.kind == LVKind.THIN_POOL]
    return [*reversed(pools), *(lv for lv in lvs if lv.kind != LVKind.THIN_POOL)]
