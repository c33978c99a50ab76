"""Block devices by path, and the device-mapper table LVM and kpartx would have built.

`resolve` turns a path a tool was given (/dev/loopN, /dev/VG/LV, /dev/mapper/VG-LV, a kpartx
partition /dev/mapper/VG-LVp1) into where its bytes live for `lvsim.core.datapath`.  The dm table
(`devices`) is derived from the LVM metadata; what is not derivable lives in
``state.dm``: kpartx partition maps (``parts``), LVM devices removed by hand with
`dmsetup remove` (``removed``) and the minor numbers handed out so far (``minor``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from lvsim.core.model import LV, SECTOR, VG, LVKind, State
from lvsim.core.names import dm_name, split_dm_name

DM_MAJOR = 254  # device-mapper's dynamic major on Debian


@dataclass
class Device:
    """A block device as a tool sees it: `path` as mount and dmsetup name it, bytes at `base`+`offset`."""

    path: str
    base: str
    offset: int
    size: int
    name: str = ""  # dm name ("" for a loop device or disk)
    lv: tuple[str, str] | None = None  # (vg, lv) when the device is an LV's top device


@dataclass
class DmDev:
    """One device-mapper device: its name, uuid, size, and the dm devices it opens."""

    name: str
    uuid: str
    size: int
    holds: list[str] = field(default_factory=list)
    lv: tuple[str, str] | None = None
    targets: int = 1


def dm_state(state: State) -> dict[str, Any]:
    """The dm bookkeeping (state.dm), created empty on first use."""
    if state.dm is None:
        state.dm = {"parts": {}, "removed": [], "minor": {}}
    return state.dm


def lv_size(vg: VG, lv: LV) -> int:
    return lv.le_count * vg.extent_size


def _uuid(vg: VG, lv: LV, layer: str = "") -> str:
    base = "LVM-" + vg.uuid.replace("-", "") + lv.uuid.replace("-", "")
    return f"{base}-{layer}" if layer else base


def lvm_devices(state: State) -> list[DmDev]:
    """The dm devices LVM keeps for the active LVs, lower layers before the devices stacked on them."""
    out: list[DmDev] = []
    for vg in state.vgs.values():
        active_cows: dict[str, list[LV]] = {}
        for s in vg.lvs.values():
            if s.kind == LVKind.COW and s.active:
                active_cows.setdefault(s.origin, []).append(s)
        for lv in vg.lvs.values():
            if not lv.active or lv.role or lv.kind == LVKind.COW:
                continue
            name, size = dm_name(vg.name, lv.name), lv_size(vg, lv)
            snaps = active_cows.get(lv.name, [])
            if lv.kind == LVKind.THIN_POOL:
                meta, data = vg.lvs.get(lv.metadata_lv), vg.lvs.get(lv.data_lv)
                subs = [s for s in (meta, data) if s is not None]
                for sub in subs:
                    out.append(DmDev(dm_name(vg.name, sub.name), _uuid(vg, sub), lv_size(vg, sub)))
                tpool = dm_name(vg.name, lv.name, "tpool")
                out.append(DmDev(tpool, _uuid(vg, lv, "tpool"), size, [d.name for d in out[-len(subs) :]]))
                out.append(DmDev(name, _uuid(vg, lv, "pool"), size, [tpool], (vg.name, lv.name)))
                continue
            holds = [dm_name(vg.name, lv.pool, "tpool")] if lv.kind == LVKind.THIN and lv.pool else []
            if snaps:
                real = dm_name(vg.name, lv.name, "real")
                out.append(DmDev(real, _uuid(vg, lv, "real"), size, holds, targets=max(1, len(lv.segments))))
                out.append(DmDev(name, _uuid(vg, lv), size, [real], (vg.name, lv.name)))
                for snap in snaps:
                    cow = dm_name(vg.name, snap.name, "cow")
                    out.append(DmDev(cow, _uuid(vg, snap, "cow"), lv_size(vg, snap)))
                    out.append(
                        DmDev(
                            dm_name(vg.name, snap.name),
                            _uuid(vg, snap),
                            size,
                            [real, cow],
                            (vg.name, snap.name),
                        )
                    )
            else:
                out.append(
                    DmDev(name, _uuid(vg, lv), size, holds, (vg.name, lv.name), max(1, len(lv.segments)))
                )
    return out


def devices(state: State) -> list[DmDev]:
    """Every dm device present now: LVM's (less those removed by hand) and kpartx's."""
    dm = dm_state(state)
    removed = set(dm["removed"])
    out = [d for d in lvm_devices(state) if d.name not in removed]
    for name, part in dm["parts"].items():
        holds = [part["parent_name"]] if part["parent_name"] else []
        out.append(DmDev(name, part["uuid"], part["size"] * SECTOR, holds))
    return out


def refresh(state: State) -> None:
    """Forget hand-removals of devices LVM no longer has, and give new devices the lowest free minor."""
    dm = dm_state(state)
    expected = {d.name for d in lvm_devices(state)}
    dm["removed"] = [n for n in dm["removed"] if n in expected]
    present = [d.name for d in devices(state)]
    present_set = set(present)
    minors: dict[str, int] = {n: m for n, m in dm["minor"].items() if n in present_set}
    used = set(minors.values())
    minor = 0  # the lowest free minor only grows as devices take them
    for name in present:
        if name not in minors:
            while minor in used:
                minor += 1
            minors[name] = minor
            used.add(minor)
    dm["minor"] = minors


def open_count(state: State, name: str) -> int:
    """How many openers a dm device has: the LVM devices stacked on it, plus LVM's open count for
    an LV's top device (mounts and partition maps raise it), or else partition maps and mounts."""
    dm = dm_state(state)
    present = devices(state)
    dev = next((d for d in present if d.name == name), None)
    if dev is None:
        return 0
    count = sum(d.holds.count(name) for d in present if d.name not in dm["parts"])
    if dev.lv:
        return count + state.vgs[dev.lv[0]].lvs[dev.lv[1]].open_count
    count += sum(1 for p in dm["parts"].values() if p["parent_name"] == name)
    count += dm.get("held", {}).get(name, 0)  # held open by a process (lvsim.testing.faults)
    return count + sum(1 for m in state.mounts if m["name"] == name)


def find_lv_device(state: State, vg_name: str, lv_name: str) -> Device | None:
    vg = state.vgs.get(vg_name)
    lv = vg.lvs.get(lv_name) if vg else None
    if vg is None or lv is None or not lv.active or lv.role:
        return None
    name = dm_name(vg.name, lv.name)
    if name in dm_state(state)["removed"]:
        return None
    return Device(
        f"/dev/mapper/{name}", f"/dev/{vg.name}/{lv.name}", 0, lv_size(vg, lv), name, (vg.name, lv.name)
    )


def resolve(state: State, path: str) -> Device | None:
    """The device at `path`, or None when there is no such block device."""
    path = os.path.normpath(path)
    disk = state.disks.get(path)
    if disk is not None:
        return Device(path, path, 0, disk.size)
    if path.startswith("/dev/mapper/"):
        name = path[len("/dev/mapper/") :]
        part = dm_state(state)["parts"].get(name)
        if part is not None:
            parent = resolve(state, part["parent"])
            if parent is None:
                return None
            start = parent.offset + part["start"] * SECTOR
            return Device(path, parent.base, start, part["size"] * SECTOR, name)
        vg_name, lv_name = split_dm_name(name)
        dev = find_lv_device(state, vg_name, lv_name)
        return dev if dev and dev.name == name else None
    parts = path.split("/")
    if len(parts) == 4 and parts[1] == "dev":
        dev = find_lv_device(state, parts[2], parts[3])
        if dev and state.vgs[parts[2]].lvs[parts[3]].visible:
            return dev
    return None


def lv_of(state: State, dev: Device) -> LV | None:
    """The LV whose open count a user of `dev` raises (a partition map counts against its LV)."""
    if dev.lv is None and dev.name in dm_state(state)["parts"]:
        parent = resolve(state, dm_state(state)["parts"][dev.name]["parent"])
        return lv_of(state, parent) if parent else None
    if dev.lv is None:
        return None
    return state.vgs[dev.lv[0]].lvs[dev.lv[1]]


def removed_by_hand(state: State, vg: VG, lv: LV) -> bool:
    """Whether `dmsetup remove` took the LV's device away behind LVM's back (LVM then sees it inactive)."""
    return dm_name(vg.name, lv.name) in (state.dm or {}).get("removed", [])


def in_use_message(state: State, vg: VG, lv: LV) -> str:
    """lv_check_not_in_use's words for an open LV: holders first, then a mounted filesystem."""
    name = dm_name(vg.name, lv.name)
    full = f"{vg.name}/{lv.name}"
    if any(p["parent_name"] == name for p in (state.dm or {}).get("parts", {}).values()):
        return f"Logical volume {full} is used by another device."
    if any(m["name"] == name for m in state.mounts):
        return f"Logical volume {full} contains a filesystem in use."
    return f"Logical volume {full} in use."
