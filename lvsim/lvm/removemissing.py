"""vgreduce --removemissing of a VG with missing PVs (recorded on LVM 2.03.16: golden cases
boundary-missing-pv-wiped, -thin and -activation)."""

from __future__ import annotations

from lvsim.core.context import Ctx
from lvsim.core.errors import ECMD_FAILED
from lvsim.core.model import LV, VG, LVKind, State
from lvsim.core.partial import missing_pvs, partial_lvs
from lvsim.lvm.lvremove import commit_removals, remove_one
from lvsim.lvm.missing_pvs import written
from lvsim.lvm.refusal import refuse


def remove_missing(ctx: Ctx, vg: VG) -> int:
    """vgreduce --removemissing: while partial LVs are left (without --force) nothing leaves the VG,
    though LVM says it proceeds with the empty missing PVs and writes the VG; with --force each partial
    LV goes first (a pool with its thin volumes, its sub-LVs and the last pool's spare); then the
    missing PVs leave the VG."""
    state, console = ctx.state, ctx.console
    partial = partial_lvs(state, vg)
    if partial and not ctx.args.has("force"):
        for lv in partial:
            console.warn(f"Partial LV {lv.name} needs to be repaired or removed. ")
        console.error(f"There are still partial LVs in VG {vg.name}.")
        console.error("To remove them unconditionally use: vgreduce --removemissing --force.")
        console.error(
            "To remove them unconditionally from mirror LVs use: vgreduce --removemissing --mirrorsonly --force."
        )
        console.warn("Proceeding to remove empty missing PVs.")
        vg.seqno += 1
        written(ctx, vg)
        return ECMD_FAILED
    _check_removable(state, vg, partial)
    before = dict(vg.lvs)
    for lv in partial:
        if lv.visible and lv.name in vg.lvs:
            console.warn(f"Removing partial LV {vg.name}/{lv.name}.")
            remove_one(ctx, vg, lv)
    commit_removals(ctx, vg, before)  # with the missing PVs still in the VG
    for pv in missing_pvs(state, vg):
        vg.pvs.remove(pv.device)
        del state.pvs[pv.device]
    vg.seqno += 1
    console.print(f"Wrote out consistent volume group {vg.name}.")
    return 0


def _check_removable(state: State, vg: VG, partial: list[LV]) -> None:
    """vgreduce --removemissing --force was recorded removing partial linear LVs and a partial thin
    pool with its thin volume, sub-LVs and spare: refuse any other partial LV before changing anything."""
    pools = [lv for lv in vg.lvs.values() if lv.kind == LVKind.THIN_POOL]
    for lv in partial:
        if lv.kind in (LVKind.COW, LVKind.ZERO) or any(o.origin == lv.name for o in vg.lvs.values()):
            refuse(f"vgreduce --removemissing --force of {lv.kind} LV {vg.name}/{lv.name} or its snapshots")
        spare_left = lv.role == "pmspare" and not all(p in partial for p in pools)
        owner = next((p for p in pools if lv.name in (p.data_lv, p.metadata_lv)), None)
        if spare_left or (lv.role in ("tdata", "tmeta") and owner not in partial):
            refuse(f"vgreduce --removemissing --force of the partial internal LV {vg.name}/{lv.name}")
