"""LVM 2.03.16's metadata text read back into the simulator's model (lib/format_text/import_vsn1.c's
rules, our own code).

`read(text)` gives a `Metadata`: the header (description, creation host and time), the VG with its
LVs (segments on the PVs' device hints), and one `PVRecord` per PV.  What the simulator does not
model (other segment types, striping, locking, fixed minors, ...) raises `Unsupported`, so a caller
refuses it rather than dropping it; what LVM itself would reject raises `MetadataError` with LVM's
words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from lvsim.core import config_text
from lvsim.core.model import LV, SECTOR, VG, LVKind, Segment

_UUID_CHARS = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#")
_ALLOC = ("contiguous", "cling", "cling_by_tags", "normal", "anywhere", "inherit")
_LV_STATUS = {"READ", "WRITE", "VISIBLE"}
_LV_FLAGS = {"ACTIVATION_SKIP", "NOAUTOACTIVATE", "ERROR_WHEN_FULL"}


class MetadataError(Exception):
    """Text LVM cannot use; `lines` are LVM's error lines."""

    def __init__(self, *lines: str) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines


class Unsupported(Exception):
    """Valid LVM metadata that uses something lvsim does not emulate (the message names it)."""


@dataclass
class PVRecord:
    """A PV as the metadata describes it."""

    key: str  # pv0, pv1, ...
    uuid: str
    device: str  # the device hint
    dev_size: int  # bytes
    pe_start: int  # bytes
    pe_count: int
    allocatable: bool = True
    tags: list[str] = field(default_factory=list)
    device_id: str = ""
    device_id_type: str = ""


@dataclass
class Metadata:
    """One metadata text: who wrote it and when, the VG, its PVs."""

    description: str
    creation_host: str
    creation_time: int
    uname: str  # the comment after creation_host ("" if none)
    vg: VG
    pvs: list[PVRecord]


def _get(section: dict[str, Any], key: str, kind: type, what: str) -> Any:
    value = section.get(key)
    if not isinstance(value, kind) or isinstance(value, dict):
        raise MetadataError(what)
    return value


def _str_list(section: dict[str, Any], key: str) -> list[str]:
    value = section.get(key, [])
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MetadataError(f"Couldn't read {key}.")
    return list(value)


def _uuid(section: dict[str, Any], what: str) -> str:
    """The id, checked as id_read_format checks it (dashes anywhere, 32 characters of its set)."""
    value = section.get("id")
    if not isinstance(value, str):
        raise MetadataError("Couldn't find uuid.", what)
    chars = value.replace("-", "")
    if len(chars) > 32:
        raise MetadataError("Too many characters to be uuid.", "Invalid uuid.", what)
    if len(chars) < 32:
        raise MetadataError("Couldn't read uuid: incorrect number of characters.", "Invalid uuid.", what)
    bad = next((c for c in chars if c not in _UUID_CHARS), None)
    if bad is not None:
        raise MetadataError(f"UUID contains invalid character '{bad}'", "Invalid uuid.", what)
    return value


def _flags(section: dict[str, Any], what: str) -> tuple[list[str], list[str]]:
    status = section.get("status")
    if not isinstance(status, list) or not all(isinstance(s, str) for s in status):
        raise MetadataError("Could not find status flags.", what)
    flags = section.get("flags", [])
    if not isinstance(flags, list) or not all(isinstance(s, str) for s in flags):
        raise MetadataError("Could not read flags.", what)
    return list(status), list(flags)


def _sections(vg_section: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    value = vg_section.get(key, {})
    if not isinstance(value, dict):
        raise MetadataError(f"Couldn't find section '{key}'.")
    return {k: v for k, v in value.items() if isinstance(v, dict)}


def read(text: str) -> Metadata:
    """Parse one metadata text (a vgcfgbackup file or an archive)."""
    try:
        root, _ = config_text.parse(text)
    except config_text.ConfigSyntaxError as exc:
        raise MetadataError(str(exc), "WARNING: couldn't read volume group metadata from file.") from None
    if root.get("contents") != "Text Format Volume Group":
        raise MetadataError(
            "Can't process text format file - missing contents field."
            if "contents" not in root
            else "Can't process text format file - unrecognised contents field."
        )
    if root.get("version") != 1:
        raise MetadataError(
            "Can't process text format file - missing version number."
            if "version" not in root
            else "Can't process text format file - unrecognised version number."
        )
    vg_name = next((k for k, v in root.items() if isinstance(v, dict)), None)
    if vg_name is None:
        raise MetadataError("Couldn't find volume group in file.")
    vg, pvs = _read_vg(vg_name, root[vg_name])
    host = root.get("creation_host", "")
    created = root.get("creation_time", 0)
    match = re.search(r'^creation_host = "[^"\n]*"\t# (.*)$', text, re.M)
    return Metadata(
        description=str(root.get("description", "")),
        creation_host=host if isinstance(host, str) else "",
        creation_time=created if isinstance(created, int) else 0,
        uname=match.group(1) if match else "",
        vg=vg,
        pvs=pvs,
    )


def _read_vg(name: str, section: dict[str, Any]) -> tuple[VG, list[PVRecord]]:
    for key in ("lock_type", "system_id", "profile"):
        if key in section:
            raise Unsupported(f"VG {name} with {key} {section[key]!r}")
    if section.get("format", "lvm2") != "lvm2":
        raise MetadataError(f"Unrecognised format {section['format']} for volume group {name}.")
    uuid = _uuid(section, f"Couldn't read uuid for volume group {name}.")
    seqno = _get(section, "seqno", int, f"Couldn't read 'seqno' for volume group {name}.")
    status, flags = _flags(section, f"Error reading flags of volume group {name}.")
    unknown = [s for s in status if s not in ("RESIZEABLE", "READ", "WRITE")]
    unknown += [f for f in flags if f != "NOAUTOACTIVATE"]
    if unknown:
        raise Unsupported(f"VG {name} with flags {', '.join(unknown)}")
    extent = _get(section, "extent_size", int, f"Couldn't read extent size for volume group {name}.")
    alloc = section.get("allocation_policy", "normal")
    vg = VG(
        name,
        uuid,
        extent_size=extent * SECTOR,
        seqno=seqno,
        alloc=alloc if alloc in _ALLOC else "normal",
        resizeable="RESIZEABLE" in status,
        writable="WRITE" in status,
        tags=_str_list(section, "tags"),
        autoactivation="NOAUTOACTIVATE" not in flags,
        max_lv=_get(section, "max_lv", int, f"Couldn't read 'max_lv' for volume group {name}."),
        max_pv=_get(section, "max_pv", int, f"Couldn't read 'max_pv' for volume group {name}."),
        metadata_copies=section.get("metadata_copies", 0)
        if isinstance(section.get("metadata_copies"), int)
        else 0,
    )
    if "physical_volumes" not in section:
        raise MetadataError("Couldn't find section 'physical_volumes'.")
    pvs = [_read_pv(vg, key, pv) for key, pv in _sections(section, "physical_volumes").items()]
    devices = {pv.key: pv.device for pv in pvs}
    vg.pvs = [pv.device for pv in pvs]
    _read_lvs(vg, _sections(section, "logical_volumes"), devices)
    if _sections(section, "historical_logical_volumes"):
        raise Unsupported(f"VG {name} with historical logical volumes")
    return vg, pvs


def _read_pv(vg: VG, key: str, section: dict[str, Any]) -> PVRecord:
    uuid = _uuid(section, "Couldn't read uuid for physical volume.")
    status, flags = _flags(section, "Couldn't read status flags for physical volume.")
    unknown = [s for s in status if s != "ALLOCATABLE"] + flags
    if unknown:
        raise Unsupported(f"PV {key} of VG {vg.name} with flags {', '.join(unknown)}")
    if section.get("ba_start") or section.get("ba_size"):
        raise Unsupported(f"PV {key} of VG {vg.name} with a bootloader area")
    pe_start = _get(
        section, "pe_start", int, "Couldn't read extent start value (pe_start) for physical volume."
    )
    pe_count = _get(section, "pe_count", int, "Couldn't find extent count (pe_count) for physical volume.")
    device = section.get("device", "")
    if not isinstance(device, str) or not device:
        raise Unsupported(f"PV {key} of VG {vg.name} without a device hint")
    dev_size = section.get("dev_size", 0)
    return PVRecord(
        key=key,
        uuid=uuid,
        device=device,
        dev_size=(dev_size if isinstance(dev_size, int) else 0) * SECTOR,
        pe_start=pe_start * SECTOR,
        pe_count=pe_count,
        allocatable="ALLOCATABLE" in status,
        tags=_str_list(section, "tags"),
        device_id=str(section.get("device_id", "")),
        device_id_type=str(section.get("device_id_type", "")),
    )


@dataclass
class _RawSegment:
    key: str  # segment1, ...
    start: int
    count: int
    type: str
    section: dict[str, Any]


def _read_segments(lv_name: str, section: dict[str, Any]) -> list[_RawSegment]:
    count = _get(section, "segment_count", int, f"Couldn't read segment count for logical volume {lv_name}.")
    segs = []
    for key, seg in section.items():
        if not (isinstance(seg, dict) and key.startswith("segment")):
            continue
        start = _get(
            seg,
            "start_extent",
            int,
            f"Couldn't read 'start_extent' for segment '{key}' of logical volume {lv_name}.",
        )
        extents = _get(
            seg,
            "extent_count",
            int,
            f"Couldn't read 'extent_count' for segment '{key}' of logical volume {lv_name}.",
        )
        kind = _get(seg, "type", str, "Segment type must be a string.")
        segs.append(_RawSegment(key, start, extents, kind, seg))
    if len(segs) != count:
        raise MetadataError(
            f"segment_count and actual number of segments disagree for logical volume {lv_name}."
        )
    return sorted(segs, key=lambda s: s.start)


def _read_lvs(vg: VG, sections: dict[str, dict[str, Any]], devices: dict[str, str]) -> None:
    """LVM's two passes: every LV's name, id and flags, then every LV's segments (an error in
    either names the pass)."""
    try:
        lvs = {name: _read_lv(vg, name, section) for name, section in sections.items()}
    except MetadataError as exc:
        raise MetadataError(
            *exc.lines, f"Couldn't read all logical volume names for volume group {vg.name}."
        ) from None
    snapshots: list[tuple[str, dict[str, Any], _RawSegment]] = []
    try:
        for name, section in sections.items():
            segs = _read_segments(name, section)
            kinds = {s.type for s in segs}
            if kinds == {"snapshot"}:
                snapshots.append((name, section, segs[0]))
                continue
            lv = lvs[name]
            if kinds == {"striped"}:
                lv.segments = [_striped(vg, lv, seg, devices) for seg in segs]
            elif kinds == {"thin-pool"} and len(segs) == 1:
                _thin_pool(lv, segs[0])
            elif kinds == {"thin"} and len(segs) == 1:
                _thin(vg, lv, segs[0])
            else:
                raise Unsupported(f"LV {vg.name}/{name} with segment type {', '.join(sorted(kinds))}")
            vg.lvs[name] = lv
        order = list(sections)
        for name, section, seg in snapshots:
            _snapshot(vg, name, section, seg)
            at = order.index(name)
            vg.lvs[str(seg.section.get("cow_store"))].snapshot_after = order[at - 1] if at else ""
    except MetadataError as exc:
        raise MetadataError(
            *exc.lines, f"Couldn't read all logical volumes for volume group {vg.name}."
        ) from None
    _link_roles(vg)


def _read_lv(vg: VG, name: str, section: dict[str, Any]) -> LV:
    """An LV's name, id, flags, tags, times and policies (the first pass)."""
    uuid = _uuid(section, f"Couldn't read uuid for logical volume {name}.")
    status, flags = _flags(section, f"Couldn't read status flags for logical volume {name}.")
    unknown = [s for s in status if s not in _LV_STATUS] + [f for f in flags if f not in _LV_FLAGS]
    if unknown:
        raise Unsupported(f"LV {vg.name}/{name} with flags {', '.join(unknown)}")
    for key in ("major", "minor", "lock_args", "profile"):
        if key in section:
            raise Unsupported(f"LV {vg.name}/{name} with {key} {section[key]!r}")
    lv = LV(name, uuid)
    lv.writable = "WRITE" in status
    lv.visible = "VISIBLE" in status
    lv.skip_activation = "ACTIVATION_SKIP" in flags
    lv.error_when_full = "ERROR_WHEN_FULL" in flags
    if "NOAUTOACTIVATE" in flags:
        lv.autoactivation = False
    read_ahead = section.get("read_ahead")
    if isinstance(read_ahead, int) and read_ahead:  # 0 (and none given) is auto, -1 none
        lv.read_ahead = 0 if read_ahead == -1 else read_ahead
    lv.tags = _str_list(section, "tags")
    _read_time(vg, lv, section)
    alloc = section.get("allocation_policy", "inherit")
    lv.alloc = alloc if alloc in _ALLOC else "inherit"
    return lv


def _read_time(vg: VG, lv: LV, section: dict[str, Any]) -> None:
    if "creation_time" in section:
        created = section["creation_time"]
        if not isinstance(created, int):
            raise MetadataError(f"Invalid creation_time for logical volume {lv.name}.")
        host = section.get("creation_host")
        if not isinstance(host, str):
            raise MetadataError(f"Couldn't read creation_host for logical volume {lv.name}.")
        lv.creation_time, lv.creation_host = created, host


def _striped(vg: VG, lv: LV, seg: _RawSegment, devices: dict[str, str]) -> Segment:
    if seg.section.get("stripe_count") != 1:
        raise Unsupported(
            f"LV {vg.name}/{lv.name} with a striped segment of {seg.section.get('stripe_count')} stripes"
        )
    stripes = seg.section.get("stripes")
    if not (isinstance(stripes, list) and len(stripes) == 2 and isinstance(stripes[1], int)):
        raise MetadataError(f"Incorrect number of areas in area array for segment '{seg.key}'.")
    pv_key = stripes[0]
    if not isinstance(pv_key, str) or pv_key not in devices:
        if isinstance(pv_key, str) and pv_key in vg.lvs:
            raise Unsupported(f"LV {vg.name}/{lv.name} stacked on LV {pv_key}")
        raise MetadataError(f"Couldn't find volume '{pv_key}' for segment '{seg.key}'.")
    return Segment(seg.start, seg.count, devices[pv_key], stripes[1])


def _thin_pool(lv: LV, seg: _RawSegment) -> None:
    s = seg.section
    if any(k.startswith("message") for k in s):
        raise Unsupported(f"thin pool {lv.name} with pending thin messages")
    if "crop_metadata" in s:
        raise Unsupported(f"thin pool {lv.name} with crop_metadata")
    lv.kind = LVKind.THIN_POOL
    lv.data_lv, lv.metadata_lv = str(s.get("pool", "")), str(s.get("metadata", ""))
    lv.transaction_id = int(s.get("transaction_id", 0))
    lv.chunk_size = int(s.get("chunk_size", 0)) * SECTOR
    lv.discards = str(s.get("discards", "passdown"))
    lv.zero = s.get("zero_new_blocks", 0) == 1
    lv.virtual_extents = seg.count


def _thin(vg: VG, lv: LV, seg: _RawSegment) -> None:
    s = seg.section
    for key in ("external_origin", "merge"):
        if key in s:
            raise Unsupported(f"thin volume {vg.name}/{lv.name} with {key}")
    lv.kind = LVKind.THIN
    lv.pool = str(s.get("thin_pool", ""))
    lv.transaction_id = int(s.get("transaction_id", 0))
    lv.thin_id = int(s.get("device_id", 0))
    lv.origin = str(s.get("origin", ""))
    lv.virtual_extents = seg.count


def _snapshot(vg: VG, name: str, section: dict[str, Any], seg: _RawSegment) -> None:
    s = seg.section
    if "merging_store" in s:
        raise Unsupported(f"snapshot {vg.name}/{name} being merged")
    cow = vg.lvs.get(str(s.get("cow_store", "")))
    origin = vg.lvs.get(str(s.get("origin", "")))
    if cow is None or origin is None:
        raise MetadataError(f"Unknown logical volume specified for snapshot {name}.")
    cow.kind, cow.origin = LVKind.COW, origin.name
    cow.chunk_size = int(s.get("chunk_size", 0)) * SECTOR
    cow.visible = True  # visible with its origin
    cow.snapshot_name, cow.snapshot_uuid = name, str(section.get("id"))
    created = section.get("creation_time", 0)
    cow.snapshot_time = created if isinstance(created, int) and created != cow.creation_time else 0


def _link_roles(vg: VG) -> None:
    """Mark _tdata and _tmeta as their pool's, and the pool metadata spare."""
    for lv in list(vg.lvs.values()):
        if lv.kind != LVKind.THIN_POOL:
            continue
        for sub, role in ((lv.data_lv, "tdata"), (lv.metadata_lv, "tmeta")):
            part = vg.lvs.get(sub)
            if part is None:
                raise MetadataError(f"Couldn't find logical volume {sub} for thin pool {lv.name}.")
            part.role, part.parent = role, lv.name
    for lv in vg.lvs.values():
        if not lv.visible and lv.name.endswith("_pmspare") and lv.kind == LVKind.LINEAR:
            lv.role = "pmspare"
