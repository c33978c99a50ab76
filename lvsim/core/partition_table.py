"""The dos partition table (MBR) in a device's first sector, read and written through the data path."""

from __future__ import annotations

import struct
from typing import Any

from lvsim.core import fsimage
from lvsim.core.devmap import Device
from lvsim.core.model import SECTOR, State


def read_table(state: State, dev: Device) -> dict[str, Any] | None:
    """The dos partition table on a device: {"id": disk id, "parts": [{start, size, type, boot}]}."""
    if dev.size < SECTOR:
        return None
    try:
        raw = fsimage.read_at(state, dev, 0, SECTOR)
    except OSError:
        return None
    if len(raw) < SECTOR or raw[510:512] != b"\x55\xaa":
        return None
    parts = []
    for i in range(4):
        entry = raw[446 + 16 * i : 462 + 16 * i]
        boot, ptype, start, size = entry[0], entry[4], *struct.unpack("<II", entry[8:16])
        parts.append({"start": start, "size": size, "type": ptype, "boot": boot == 0x80})
    return {"id": struct.unpack("<I", raw[440:444])[0], "parts": parts}


def write_table(state: State, dev: Device, disk_id: int, parts: list[dict[str, Any]]) -> None:
    raw = bytearray(SECTOR)
    raw[440:444] = struct.pack("<I", disk_id)
    for i, p in enumerate(parts):
        entry = bytes([0x80 if p["boot"] else 0, 0xFE, 0xFF, 0xFF, p["type"], 0xFE, 0xFF, 0xFF])
        raw[446 + 16 * i : 462 + 16 * i] = entry + struct.pack("<II", p["start"], p["size"])
    raw[510:512] = b"\x55\xaa"
    fsimage.write_at(state, dev, 0, bytes(raw))
