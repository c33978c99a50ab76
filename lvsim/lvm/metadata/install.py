"""Put a VG read from metadata text into the simulator's state (vgcfgrestore, lvsim import).

The metadata says what LVM's PV labels and metadata areas hold; the rest of the simulated host
(device-mapper devices, thin-pool mappings, COW exception stores) is the kernel's and stays as it
was: an LV that was active stays active, a thin device keeps its mappings and a COW snapshot its
exceptions when the restored metadata still has them (matched by uuid), and everything new starts
inactive and empty, as LVM's own restore leaves it.
"""

from __future__ import annotations

from lvsim.core import mapping
from lvsim.core.model import LV, PV, RUNTIME_FIELDS, VG, LVKind, State, reset_runtime
from lvsim.lvm.metadata.reader import Metadata

# what an LV the restored metadata still has keeps: the kernel's records and (as ever in lvsim) the
# policies of RUNTIME_FIELDS
_KERNEL_STATE = ("active", "open_count", "data", *RUNTIME_FIELDS)


def install_vg(state: State, md: Metadata, devices: dict[str, str]) -> VG:
    """Make md's VG the state's VG of that name, its PVs on `devices` (PV uuid -> device path).

    The PVs must already be labelled (`state.pvs`); PVs the VG held before and the metadata no
    longer names become orphans.
    """
    vg = md.vg
    old = state.vgs.get(vg.name)
    hints = {pv.device: devices[pv.uuid] for pv in md.pvs}
    vg.pvs = [devices[pv.uuid] for pv in md.pvs]
    for lv in vg.lvs.values():
        for seg in lv.segments:
            seg.pv = hints[seg.pv]
    if old is not None:
        for device in old.pvs:
            if device not in vg.pvs and device in state.pvs:
                state.pvs[device].vg, state.pvs[device].pe_count = None, 0
    for record in md.pvs:
        pv = state.pvs[devices[record.uuid]]
        _label(pv, vg, record.pe_start, record.pe_count, record.allocatable, record.tags)
        pv.size = record.dev_size if record.dev_size != state.disks[pv.device].size else 0
        pv.device_id, pv.device_id_type = record.device_id, record.device_id_type
    _carry_kernel_state(old, vg)
    state.vgs[vg.name] = vg
    return vg


def _label(pv: PV, vg: VG, pe_start: int, pe_count: int, allocatable: bool, tags: list[str]) -> None:
    pv.vg, pv.pe_start, pv.pe_count, pv.allocatable, pv.tags = vg.name, pe_start, pe_count, allocatable, tags


def _carry_kernel_state(old: VG | None, new: VG) -> None:
    """Keep what the kernel holds for LVs the restored metadata still has; start the rest empty."""
    before = {lv.uuid: lv for lv in old.lvs.values()} if old is not None else {}
    kept_pools = set()
    for lv in new.lvs.values():
        prior = before.get(lv.uuid)
        if prior is not None and prior.kind == lv.kind:
            for name in _KERNEL_STATE:
                setattr(lv, name, getattr(prior, name))
            if lv.kind == LVKind.THIN_POOL:
                kept_pools.add(lv.name)
        else:
            lv.active = False
    for lv in new.lvs.values():
        if lv.kind == LVKind.THIN and lv.pool not in kept_pools:
            reset_runtime(lv)
    for pool in (lv for lv in new.lvs.values() if lv.kind == LVKind.THIN_POOL):
        _settle_pool(old, new, pool, pool.name in kept_pools)


def _settle_pool(old: VG | None, new: VG, pool: LV, kept: bool) -> None:
    """Give every thin device of the pool a mapping: its own if the kernel kept it, else empty; and
    forget the mappings of devices the metadata no longer has."""
    if not kept:
        pool.thin_map = None
    ps = mapping.pool_state(pool)
    if kept and old is not None:
        wanted = {lv.uuid for lv in new.lvs.values() if lv.kind == LVKind.THIN}
        gone = [lv for lv in old.lvs.values() if lv.kind == LVKind.THIN and lv.uuid not in wanted]
        for lv in gone:
            if lv.pool == pool.name:
                mapping.detach_thin(pool, lv)
    for lv in sorted(mapping.thins_of(new, pool), key=lambda t: t.thin_id):
        if lv.top in ps["layers"]:
            continue
        origin = new.lvs.get(lv.origin)
        if origin is not None and origin.kind == LVKind.THIN and origin.pool == pool.name:
            mapping.attach_snapshot(pool, origin, lv)  # an empty snapshot shares its origin's tree
        else:
            mapping.attach_thin(pool, lv)
