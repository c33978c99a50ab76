"""The data path: reads, writes and discards of byte ranges on simulated device paths.

A device path is a disk (/dev/loop0, /dev/vdb) or an LV (/dev/VG/LV, /dev/mapper/VG-LV,
and the /dev/mapper/VG-LV-real and -cow layers of classic snapshots).  Linear LVs map
through their segments onto PV disks; thin LVs map chunk by chunk through `lvsim.core.mapping`
onto the pool's _tdata LV; classic snapshots keep exceptions in their COW store.  All
content ends up in the disks' `lvsim.core.content.Content`, as extent descriptors.

Failures are `OSError`s with the errno the kernel gives: ENOENT (no device node),
EINVAL (unaligned direct I/O, a non-device file), ENOSPC (end of device, thin pool out
of data space), EPERM (read-only LV), EIO (invalid snapshot), EOPNOTSUPP (no discard
support).  A failed write's `DeviceError.done` says how many bytes made it.
"""

from __future__ import annotations

import errno
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lvsim.core import content, mapping
from lvsim.core.content import Extent, Payload
from lvsim.core.model import LV, VG, LVKind, State
from lvsim.core.names import dm_name, split_dm_name

# Called when a write finds its thin pool out of data space, and then each simulated second the write
# waits: the kernel signals dmeventd at once, which looks again every 10 s (lvsim.lvm.dmeventd joins
# here); either may extend the pool.
FULL_POOL_HANDLERS: list[Callable[[State, VG, LV], None]] = []
WAIT_STEP = 1.0  # simulated seconds between two looks at a full pool by a waiting write


def _wait_for_room(state: State, vg: VG, lv: LV, pool: LV, chunk: int) -> mapping.Provision:
    """A write queued on a full pool (queue mode) waits on the simulated clock, second by second, for
    what happens meanwhile (dmeventd's acts) to give the pool room; no_space_timeout after the pool
    filled, it fails (`mapping.provision` says when)."""
    while True:
        for handler in FULL_POOL_HANDLERS:
            handler(state, vg, pool)
        prov = mapping.provision(state, vg, lv, chunk)
        if prov.failure != "queue":
            return prov
        if not FULL_POOL_HANDLERS:  # nothing can happen meanwhile: wait it out at once
            state.clock += mapping.NO_SPACE_TIMEOUT
        else:
            state.clock += WAIT_STEP


class DeviceError(OSError):
    """An I/O error; `done` bytes of the request were transferred before it."""

    def __init__(self, code: int, done: int = 0) -> None:
        super().__init__(code, os.strerror(code))
        self.done = done


class MappingError(DeviceError):
    """A failure below the device (thin pool out of space, invalid snapshot).

    A buffered writer does not see it at write time, only when it syncs.
    """


def _err(code: int, path: str) -> OSError:
    return OSError(code, os.strerror(code), path)


@dataclass
class Device:
    """An open simulated device (or a stray regular file written into /dev)."""

    state: State
    path: str
    size: int
    disk: str = ""  # a raw disk
    vg: VG | None = None
    lv: LV | None = None
    layer: str = ""  # "", "real" (bypass COW) or "cow" (the raw COW store)
    is_file: bool = False  # a regular file dd created in /dev (tmpfs): not kept
    waited: float = 0.0  # simulated seconds spent queued on a full thin pool
    window: Device | None = None  # a partition (kpartx): this many bytes of `window` from `start`
    start: int = 0
    # for a thin LV, found on the first write: its COW snapshots
    _thin: list[LV] | None = field(default=None, repr=False)

    def write(self, offset: int, payload: Payload) -> None:
        """Write payload at offset; raises DeviceError (with `done`) on failure."""
        self.put(offset, len(payload), content.store_of(self.state).describe(payload))

    def put(self, offset: int, length: int, rels: list[Extent]) -> None:
        """Write content given as relative extents (see `describe`) at offset."""
        if self.is_file or not length:
            return
        if self.lv is not None and (not self.lv.writable or self.lv.kind == LVKind.THIN_POOL):
            raise DeviceError(errno.EPERM)
        room = max(0, self.size - offset)
        if room < length:
            if room:
                self.put(offset, room, rels)
            raise DeviceError(errno.ENOSPC, room)
        if self.window is not None:
            try:
                self.window.put(self.start + offset, length, rels)
            finally:
                self.waited = self.window.waited
        elif self.lv is None:
            _disk_put(self.state, self.disk, offset, length, rels)
        else:
            assert self.vg is not None
            before = self.state.clock
            try:
                if self.lv.kind == LVKind.THIN and not self.layer:
                    self._thin_put(offset, length, rels)
                else:
                    _put(self.state, self.vg, self.lv, self.layer, offset, length, rels)
            finally:
                self.waited += self.state.clock - before

    def _thin_put(self, offset: int, length: int, rels: list[Extent]) -> None:
        state, vg, lv = self.state, self.vg, self.lv
        assert vg is not None and lv is not None
        if self._thin is None:
            self._thin = mapping.cow_snapshots_of(vg, lv)
        if self._thin:
            _copy_on_write(state, vg, lv, offset, length)
        tdata = vg.lvs[vg.lvs[lv.pool].data_lv]  # where its data lives now (a queued write may grow it)
        _thin_put(state, vg, lv, offset, length, rels, _one_segment(state, vg, tdata))

    def read(self, offset: int, length: int) -> bytes:
        """Read up to length bytes at offset (fewer at the end of the device)."""
        length = max(0, min(length, self.size - offset))
        rels = self.describe(offset, length)
        return content.store_of(self.state).materialise(rels, length)

    def describe(self, offset: int, length: int) -> list[Extent]:
        """The content of [offset, offset+length) as relative extents."""
        if self.is_file:
            return []
        if self.window is not None:
            return self.window.describe(self.start + offset, length)
        if self.lv is None:
            return _disk_get(self.state, self.disk, offset, length)
        assert self.vg is not None
        return _get(self.state, self.vg, self.lv, self.layer, offset, length)

    def discard(self, offset: int, length: int) -> None:
        """BLKDISCARD: unmap what the device can (thin chunks fully inside, disk ranges)."""
        length = max(0, min(length, self.size - offset))
        lv, vg = self.lv, self.vg
        if self.window is not None:
            self.window.discard(self.start + offset, length)
        elif lv is None:
            _disk_put(self.state, self.disk, offset, length, [])
            return
        assert vg is not None
        if not lv.writable:
            raise DeviceError(errno.EPERM)
        if (
            lv.kind == LVKind.COW
            or self.layer
            or mapping.cow_snapshots_of(vg, lv)
            or lv.kind == LVKind.THIN_POOL
        ):
            raise DeviceError(errno.EOPNOTSUPP)
        if lv.kind == LVKind.THIN:
            pool = vg.lvs[lv.pool]
            if pool.discards == "ignore":
                raise DeviceError(errno.EOPNOTSUPP)
            chunk = pool.chunk_size
            for c in range(-(-offset // chunk), (offset + length) // chunk):
                mapping.discard(self.state, vg, lv, c)
            return
        _linear_put(self.state, vg, lv, offset, length, [])


# ---------------------------------------------------------------------------------------------
# Opening device paths


def _dir_exists(state: State, directory: str) -> bool:
    """Whether a /dev directory exists: /dev, /dev/mapper, /dev/VG with an active visible LV."""
    if directory in ("/dev", "/dev/mapper"):
        return True
    if not directory.startswith("/dev/") or "/" in directory[5:]:
        return False
    vg = state.vgs.get(directory[5:])
    return vg is not None and any(_has_link(state, vg, lv) for lv in vg.lvs.values())


def _has_link(state: State, vg: VG, lv: LV) -> bool:
    """Whether udev made /dev/VG/LV: active visible LVs, thin pools excepted."""
    return lv.visible and lv.kind != LVKind.THIN_POOL and _has_node(state, vg, lv)


def _dm_state(state: State) -> dict[str, Any]:
    """lvsim.core.devmap's bookkeeping (read only): kpartx partitions, devices removed with dmsetup."""
    return state.dm or {"parts": {}, "removed": []}


def _has_node(state: State, vg: VG, lv: LV) -> bool:
    """Whether the LV has a device node now (is active, or its owner is, and dmsetup left it)."""
    if dm_name(vg.name, lv.name) in _dm_state(state)["removed"]:
        return False
    if lv.parent:
        owner = vg.lvs.get(lv.parent)
        return owner is not None and owner.active
    return lv.active and lv.role != "pmspare"


def _lv_size(vg: VG, lv: LV) -> int:
    if lv.kind == LVKind.COW:
        origin = vg.lvs.get(lv.origin)
        if origin is not None:
            return origin.le_count * vg.extent_size
    return lv.le_count * vg.extent_size


def _find(state: State, path: str) -> tuple[VG, LV, str] | None:
    """The active LV (and dm layer) behind an LV device path, if any."""
    if path.startswith("/dev/mapper/"):
        name, layer = path[len("/dev/mapper/") :], ""
        for suffix in ("real", "cow"):
            head = name[: -len(suffix)]
            if name.endswith("-" + suffix) and (len(head) - len(head.rstrip("-"))) % 2:
                name, layer = head[:-1], suffix
        vg_name, lv_name = split_dm_name(name)
        visible_only = False
    else:
        vg_name, _, lv_name = path[len("/dev/") :].partition("/")
        layer, visible_only = "", True
    vg = state.vgs.get(vg_name)
    lv = vg.lvs.get(lv_name) if vg else None
    if (
        vg is None
        or lv is None
        or not (_has_link(state, vg, lv) if visible_only else _has_node(state, vg, lv))
    ):
        return None
    if layer == "real" and not mapping.cow_snapshots_of(vg, lv):
        return None
    if layer == "cow" and lv.kind != LVKind.COW:
        return None
    return vg, lv, layer


def open_device(state: State, path: str, *, write: bool = False, direct: bool = False) -> Device:
    """Open a /dev path as dd or blkdiscard would; raises OSError(ENOENT/EINVAL)."""
    path = os.path.normpath(path) if path.startswith("/dev/") else path
    disk = state.disks.get(path)
    if disk is not None:
        return Device(state, path, disk.size, disk=path)
    found = _find(state, path) if path.count("/") >= 2 else None
    if found is not None:
        vg, lv, layer = found
        size = lv.le_count * vg.extent_size if layer else _lv_size(vg, lv)
        return Device(state, path, size, vg=vg, lv=lv, layer=layer)
    part = (
        _dm_state(state)["parts"].get(path[len("/dev/mapper/") :])
        if path.startswith("/dev/mapper/")
        else None
    )
    if part is not None:
        parent = open_device(state, part["parent"], write=write, direct=direct)
        return Device(state, path, part["size"] * 512, window=parent, start=part["start"] * 512)
    if not write or not _dir_exists(state, os.path.dirname(path)):
        raise _err(errno.ENOENT, path)
    if direct:
        raise _err(errno.EINVAL, path)  # O_CREAT made a tmpfs file, which refuses O_DIRECT
    return Device(state, path, 1 << 62, is_file=True)


def write(state: State, device: str, offset: int, payload: Payload) -> None:
    """Write bytes (or `lvsim.core.content.Generated` content) to a device path."""
    open_device(state, device, write=True).write(offset, payload)


def read(state: State, device: str, offset: int, length: int) -> bytes:
    """Read from a device path (short at the end of the device)."""
    return open_device(state, device).read(offset, length)


def discard(state: State, device: str, offset: int, length: int) -> None:
    """Discard a byte range of a device path."""
    open_device(state, device, write=True).discard(offset, length)


# ---------------------------------------------------------------------------------------------
# Routing: relative extents in and out of disks, linear LVs, thin LVs and COW snapshots


def clip(rels: list[Extent], lo: int, hi: int, base: int = 0) -> list[Extent]:
    """The relative extents inside [lo, hi), moved so that lo lands on base."""
    out = []
    for s, e, k, a, b in rels:
        if e <= lo or s >= hi:
            continue
        s2, e2 = max(s, lo), min(e, hi)
        out.append((s2 - lo + base, e2 - lo + base, k, a, b + s2 - s))
    return out


def _disk_put(state: State, disk: str, offset: int, length: int, rels: list[Extent]) -> None:
    content.content(state, disk).put(offset, offset + length, clip(rels, 0, length, offset))


def _disk_get(state: State, disk: str, offset: int, length: int) -> list[Extent]:
    found = content.store_of(state).contents.get(disk)
    if found is None:
        return []
    return [(s - offset, e - offset, k, a, b) for s, e, k, a, b in found.extents(offset, offset + length)]


def _pieces(state: State, vg: VG, lv: LV, offset: int, length: int) -> list[tuple[str, int, int, int]]:
    """A linear LV's byte range as (disk, disk offset, relative start, relative end) pieces."""
    size = vg.extent_size
    out = []
    pos, end = offset, offset + length
    segments = lv.segments
    while pos < end:
        le = pos // size
        seg = next(s for s in segments if s.le_start <= le < s.le_start + s.extents)
        seg_end = (seg.le_start + seg.extents) * size
        hi = min(end, seg_end)
        disk_off = state.pvs[seg.pv].pe_start + (seg.pe_start - seg.le_start) * size + pos
        out.append((seg.pv, disk_off, pos - offset, hi - offset))
        pos = hi
    return out


def _linear_put(state: State, vg: VG, lv: LV, offset: int, length: int, rels: list[Extent]) -> None:
    for disk, disk_off, lo, hi in _pieces(state, vg, lv, offset, length):
        content.content(state, disk).put(disk_off, disk_off + hi - lo, clip(rels, lo, hi, disk_off))


def _linear_get(state: State, vg: VG, lv: LV, offset: int, length: int) -> list[Extent]:
    out: list[Extent] = []
    for disk, disk_off, lo, hi in _pieces(state, vg, lv, offset, length):
        out += [(s + lo, e + lo, k, a, b) for s, e, k, a, b in _disk_get(state, disk, disk_off, hi - lo)]
    return out


def _chunks(offset: int, length: int, chunk: int) -> range:
    return range(offset // chunk, (offset + length - 1) // chunk + 1) if length else range(0)


def _put(state: State, vg: VG, lv: LV, layer: str, offset: int, length: int, rels: list[Extent]) -> None:
    """Write relative extents to an LV (queueing on a full pool advances `state.clock`)."""
    if lv.kind == LVKind.COW and not layer:
        _snapshot_put(state, vg, lv, offset, length, rels)
        return
    if not layer:
        _copy_on_write(state, vg, lv, offset, length)
    if lv.kind == LVKind.THIN and not layer:
        tdata = vg.lvs[vg.lvs[lv.pool].data_lv]
        _thin_put(state, vg, lv, offset, length, rels, _one_segment(state, vg, tdata))
    else:
        _linear_put(state, vg, lv, offset, length, rels)


def _get(state: State, vg: VG, lv: LV, layer: str, offset: int, length: int) -> list[Extent]:
    if lv.kind == LVKind.THIN and not layer:
        return _thin_get(state, vg, lv, offset, length)
    if lv.kind == LVKind.COW and not layer:
        return _snapshot_get(state, vg, lv, offset, length)
    return _linear_get(state, vg, lv, offset, length)


def _one_segment(state: State, vg: VG, lv: LV) -> tuple[content.Content, int] | None:
    """For a linear LV on a single segment: its disk's content and the disk offset of byte 0."""
    if len(lv.segments) != 1:
        return None
    seg = lv.segments[0]
    return content.content(state, seg.pv), state.pvs[seg.pv].pe_start + (
        seg.pe_start - seg.le_start
    ) * vg.extent_size


def _thin_put(
    state: State,
    vg: VG,
    lv: LV,
    offset: int,
    length: int,
    rels: list[Extent],
    direct: tuple[content.Content, int] | None,
) -> None:
    """Write to a thin LV chunk by chunk; `direct` is `_one_segment` of the pool's _tdata."""
    pool = vg.lvs[lv.pool]
    tdata = vg.lvs[pool.data_lv]
    size = pool.chunk_size
    if len(rels) > 1:
        direct = None
    end = offset + length
    for c in _chunks(offset, length, size):
        lo = c * size if c * size > offset else offset
        hi = (c + 1) * size if (c + 1) * size < end else end
        prov = mapping.provision(state, vg, lv, c)
        if prov.failure == "queue":
            prov = _wait_for_room(state, vg, lv, pool, c)
            tdata = vg.lvs[pool.data_lv]  # dmeventd may have grown the pool meanwhile: another segment
            direct = _one_segment(state, vg, tdata) if direct is not None else None
        if prov.failure:
            raise MappingError(errno.ENOSPC, lo - offset)
        _, base = mapping.pool_block_location(state, vg, pool, prov.block)
        if prov.new and hi - lo < size:
            if prov.copy_from is not None:
                _, old = mapping.pool_block_location(state, vg, pool, prov.copy_from)
                _linear_put(state, vg, tdata, base, size, _linear_get(state, vg, tdata, old, size))
            elif pool.zero:
                _linear_put(state, vg, tdata, base, size, [])
        start = base + lo - c * size
        if direct is None:
            _linear_put(state, vg, tdata, start, hi - lo, clip(rels, lo - offset, hi - offset, 0))
            continue
        disk_content, at = direct[0], direct[1] + start
        new: list[Extent] = []
        if rels:
            s, e, k, a, b = rels[0]
            s2 = s if s > lo - offset else lo - offset
            e2 = e if e < hi - offset else hi - offset
            if s2 < e2:
                new.append((at + s2 - lo + offset, at + e2 - lo + offset, k, a, b + s2 - s))
        disk_content.put(at, at + hi - lo, new)


def _thin_get(state: State, vg: VG, lv: LV, offset: int, length: int) -> list[Extent]:
    pool = vg.lvs[lv.pool]
    tdata = vg.lvs[pool.data_lv]
    size = pool.chunk_size
    out: list[Extent] = []
    for c in _chunks(offset, length, size):
        block = mapping.lookup(state, vg, lv, c)
        if block is None:
            continue
        lo, hi = max(offset, c * size), min(offset + length, (c + 1) * size)
        _, base = mapping.pool_block_location(state, vg, pool, block)
        rel = lo - offset
        got = _linear_get(state, vg, tdata, base + lo - c * size, hi - lo)
        out += [(s + rel, e + rel, k, a, b) for s, e, k, a, b in got]
    return out


def _origin_get(state: State, vg: VG, origin: LV, offset: int, length: int) -> list[Extent]:
    """The origin's own content (below any snapshot layer); a virtual origin is all zeros."""
    if origin.kind == LVKind.ZERO:
        return []
    if origin.kind == LVKind.THIN:
        return _thin_get(state, vg, origin, offset, length)
    return _linear_get(state, vg, origin, offset, length)


def _copy_on_write(state: State, vg: VG, origin: LV, offset: int, length: int) -> None:
    """Before an origin write: copy each chunk not yet excepted into every valid snapshot."""
    for snap in mapping.cow_snapshots_of(vg, origin):
        if mapping.cow_invalid(snap):
            continue
        size = snap.chunk_size
        for c in _chunks(offset, length, size):
            if mapping.cow_lookup(state, vg, snap, c) is not None:
                continue
            where = mapping.cow_exception(state, vg, snap, c)
            if where is None:
                break
            old = _origin_get(state, vg, origin, c * size, size)
            _linear_put(state, vg, snap, where * size, size, old)


def _snapshot_put(state: State, vg: VG, snap: LV, offset: int, length: int, rels: list[Extent]) -> None:
    origin = vg.lvs[snap.origin]
    size = snap.chunk_size
    for c in _chunks(offset, length, size):
        lo, hi = max(offset, c * size), min(offset + length, (c + 1) * size)
        fresh = mapping.cow_lookup(state, vg, snap, c) is None
        where = mapping.cow_exception(state, vg, snap, c)
        if where is None:
            raise MappingError(errno.EIO, lo - offset)
        if fresh and hi - lo < size:
            _linear_put(state, vg, snap, where * size, size, _origin_get(state, vg, origin, c * size, size))
        start = where * size + lo - c * size
        _linear_put(state, vg, snap, start, hi - lo, clip(rels, lo - offset, hi - offset, 0))


def _snapshot_get(state: State, vg: VG, snap: LV, offset: int, length: int) -> list[Extent]:
    if mapping.cow_invalid(snap):
        raise MappingError(errno.EIO)
    origin = vg.lvs[snap.origin]
    size = snap.chunk_size
    out: list[Extent] = []
    for c in _chunks(offset, length, size):
        lo, hi = max(offset, c * size), min(offset + length, (c + 1) * size)
        where = mapping.cow_lookup(state, vg, snap, c)
        if where is None:
            got = _origin_get(state, vg, origin, lo, hi - lo)
        else:
            got = _linear_get(state, vg, snap, where * size + lo - c * size, hi - lo)
        rel = lo - offset
        out += [(s + rel, e + rel, k, a, b) for s, e, k, a, b in got]
    return out
