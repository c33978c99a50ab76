"""Simulated ext4 and XFS filesystems, stored in the device's own blocks.

Everything about a filesystem lives on its device, written and read through `lvsim.core.datapath`,
so a COW or thin snapshot carries the point-in-time filesystem with no extra bookkeeping:

* a superblock at byte 1024: a magic and a JSON header (type, uuid, label, geometry, where the
  file index lives, whether the log is clean);
* a file index (JSON: relative path -> type, mode, owner, mtime, size and extents) stored in
  extents allocated like file data;
* file contents in extents allocated first-fit, block by block, outside the metadata regions
  mkfs wrote (the journal or log and the per-group or per-AG headers).

Mounts are recorded in ``state.mounts``.  Without root, mounting materialises the tree
in the mount-point directory and unmounting (or `sync_mounts`) captures it back, through
`lvsim.core.hosttree`, which never follows a link out of the mount point.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import errno
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lvsim.core import devmap, hosttree
from lvsim.core.content import Payload
from lvsim.core.devmap import Device
from lvsim.core.errors import NOT_EMULATED, LvmError
from lvsim.core.hosttree import Moved, check_tree
from lvsim.core.model import LV, VG, LVKind, State

SB_OFFSET = 1024
SB_SIZE = 3072
MAGIC = b"LVSIMFS1"
# What the kernel's writeback sends of one file at a time (1024 pages); XFS moves a file's size on
# disk on only when such a batch has reached the device [VM: 120 MiB written into a pool with 35.6 MiB
# left come back as a 32 MiB file, in error and in queue mode, every time]
WRITEBACK_BATCH = 4 << 20

Tree = dict[str, dict[str, Any]]
Extents = list[list[int]]
Corrupt = hosttree.BadTree  # a file index that cannot be read or written to the host


class RegionWriteError(OSError):
    """mkfs could not write one of its metadata regions (`region`: offset and length)."""

    def __init__(self, code: int, region: list[int]) -> None:
        super().__init__(code, os.strerror(code))
        self.region = region


class DeviceReadError(Exception):
    """The device under a filesystem failed a read (an invalidated snapshot, a failed pool)."""


@dataclass
class Filesystem:
    """A filesystem found on a device: its superblock fields and its file index."""

    dev: Device
    sb: dict[str, Any]

    @property
    def type(self) -> str:
        return str(self.sb["type"])

    @property
    def uuid(self) -> str:
        return str(self.sb["uuid"])

    @property
    def label(self) -> str:
        return str(self.sb["label"])

    def tree(self, state: State) -> Tree:
        """The file index (checked: Corrupt if it cannot be read or is not a tree the host can hold)."""
        try:
            raw = b"".join(read_at(state, self.dev, off, length) for off, length in self.sb["index"])
            loaded = json.loads(raw[: self.sb["index_len"]]) if raw else {}
        except (OSError, ValueError, RecursionError) as exc:
            raise Corrupt(f"the file index cannot be read ({type(exc).__name__})") from None
        return check_tree(loaded, int(self.sb["size"]))


# ---------------------------------------------------------------------------------------------
# Raw I/O on a (possibly partition-offset) device


def read_at(state: State, dev: Device, offset: int, length: int) -> bytes:
    from lvsim.core import datapath

    return datapath.read(state, dev.base, dev.offset + offset, length)


def write_at(state: State, dev: Device, offset: int, payload: Payload) -> None:
    from lvsim.core import datapath

    datapath.write(state, dev.base, dev.offset + offset, payload)


def fill(state: State, dev: Device, offset: int, length: int) -> None:
    """Write metadata-like (non-zero) bytes over a region, allocating what a thin device would."""
    from lvsim.core import content

    write_at(state, dev, offset, content.urandom(state, length))


def discard(state: State, dev: Device, offset: int, length: int) -> None:
    from lvsim.core import datapath

    if length > 0:
        datapath.discard(state, dev.base, dev.offset + offset, length)


# ---------------------------------------------------------------------------------------------
# Superblock


def probe(state: State, dev: Device) -> Filesystem | None:
    """The filesystem on `dev`, if its superblock is intact."""
    if dev.size < SB_OFFSET + SB_SIZE:
        return None
    try:
        raw = read_at(state, dev, SB_OFFSET, SB_SIZE)
    except OSError:  # an invalidated snapshot, a failed pool
        return None
    if not raw.startswith(MAGIC):
        return None
    try:
        sb = json.loads(raw[len(MAGIC) :].rstrip(b"\0"))
    except (ValueError, RecursionError):
        return None
    return Filesystem(dev, sb) if _sane_super(sb) else None


def probe_before_failure(state: State, dev: Device) -> Filesystem | None:
    """The filesystem an invalid COW snapshot held when it overflowed (what was probed while it could
    still be read), or None; `probe` for any other device."""
    lv = devmap.lv_of(state, dev)
    if lv is None or lv.kind != LVKind.COW or not lv.invalid:
        return probe(state, dev)
    lv.invalid = False  # its exception store still holds what it saw: read it as it was, then put back
    try:
        return probe(state, dev)
    finally:
        lv.invalid = True


def _extent_list(value: object) -> bool:
    return isinstance(value, list) and all(
        isinstance(e, list) and len(e) == 2 and all(isinstance(x, int) and x >= 0 for x in e) for e in value
    )


def _sane_super(sb: object) -> bool:
    """Whether a superblock read from a device has the fields lvsim relies on (a crafted one may not)."""
    if not isinstance(sb, dict) or sb.get("type") not in ("ext4", "xfs"):
        return False
    ints = ("size", "block_size", "index_len")
    if not all(isinstance(sb.get(k), int) and sb[k] >= 0 for k in ints) or sb["block_size"] == 0:
        return False
    return (
        isinstance(sb.get("uuid"), str)
        and isinstance(sb.get("label"), str)
        and _extent_list(sb.get("index"))
        and _extent_list(sb.get("meta"))
    )


def write_super(state: State, fs: Filesystem) -> None:
    raw = MAGIC + json.dumps(fs.sb, separators=(",", ":")).encode()
    if len(raw) > SB_SIZE:
        raise ValueError("superblock overflow")
    write_at(state, fs.dev, SB_OFFSET, raw.ljust(SB_SIZE, b"\0"))


def wipe_super(state: State, dev: Device) -> None:
    """Destroy a filesystem signature (what wipefs or a new partition table does)."""
    if probe(state, dev) is not None:
        write_at(state, dev, SB_OFFSET, b"\0" * SB_SIZE)


def make(
    state: State, dev: Device, sb: dict[str, Any], meta: Extents, tree: Tree, do_discard: bool
) -> Filesystem:
    """Create a filesystem: discard the device, write the metadata regions, the root tree, the superblock.

    A metadata region that cannot be written is a RegionWriteError naming it."""
    if do_discard:
        discard(state, dev, 0, dev.size)
    for off, length in meta:
        try:
            fill(state, dev, off, length)
        except OSError as exc:
            raise RegionWriteError(exc.errno or 0, [off, length]) from None
    sb = {**sb, "size": dev.size, "meta": meta, "index": [], "index_len": 0, "clean": True}
    fs = Filesystem(dev, sb)
    store_tree(state, fs, tree, {})
    return fs


# ---------------------------------------------------------------------------------------------
# Space


def used_extents(fs: Filesystem, tree: Tree) -> Extents:
    spans = [list(e) for e in fs.sb["meta"]] + [[0, SB_OFFSET + SB_SIZE]]
    spans += [list(e) for e in fs.sb["index"]]
    for entry in tree.values():
        spans += [list(e) for e in entry.get("ext", [])]
    return sorted(spans)


def free_extents(fs: Filesystem, used: Extents) -> Iterator[tuple[int, int]]:
    """Free (offset, length) runs, block-aligned, given the sorted used extents."""
    bs = int(fs.sb["block_size"])
    pos = 0
    for off, length in sorted(used):
        start = -(-pos // bs) * bs
        if off > start:
            yield start, off - start
        pos = max(pos, off + length)
    start = -(-pos // bs) * bs
    end = fs.sb["size"] // bs * bs
    if end > start:
        yield start, end - start


class NoSpace(Exception):
    """The filesystem is full."""


class FreeSpace:
    """A filesystem's free block runs (`free_extents` of its used extents), taken first fit."""

    def __init__(self, fs: Filesystem, used: Extents) -> None:
        self.block = int(fs.sb["block_size"])
        self.runs = [[off, length] for off, length in free_extents(fs, used)]

    def take(self, size: int) -> Extents:
        """First-fit extents for `size` bytes (whole blocks); NoSpace, taking nothing, if they do not
        fit.  Taking from the front of the sorted free runs keeps them sorted; the rest of a run
        partly taken starts at its next block."""
        bs = self.block
        need = -(-size // bs) * bs
        got: Extents = []
        for off, length in self.runs:
            if need <= 0:
                break
            take = min(length, need)
            got.append([off, take])
            need -= take
        if need > 0:
            raise NoSpace
        if got:
            off, take = got[-1]
            end = off + self.runs[len(got) - 1][1]
            rest = -(-(off + take) // bs) * bs
            del self.runs[: len(got)]
            if end > rest:
                self.runs.insert(0, [rest, end - rest])
        return got


def _write_extents(state: State, fs: Filesystem, extents: Extents, data: Payload) -> None:
    view = memoryview(data) if isinstance(data, bytes | bytearray) else data
    pos = 0
    for off, length in extents:
        chunk = view[pos : pos + length]
        if chunk:
            write_at(state, fs.dev, off, chunk)
        pos += length


def _write_what_fits(state: State, fs: Filesystem, extents: Extents, data: bytes, step: int) -> Extents:
    """Write a file's data as the kernel's writeback does, every block it can; returns the file's
    byte ranges ([offset, length]) that did not reach the device.  After a failed write, the next
    `step` boundary of the device (a thin pool's chunk) is tried again; with no step (a snapshot
    that overflowed and fails everything since), the rest fails."""
    view = memoryview(data)
    failed: Extents = []
    pos, dead = 0, False
    for off, length in extents:
        end = min(length, len(data) - pos)
        done = 0
        while done < end:
            if dead:
                failed.append([pos + done, end - done])
                break
            # whole extents until a write fails, then piece by piece up to the next step boundary
            upto = end if not failed or not step else min(end, _next_boundary(fs, off + done, step) - off)
            try:
                write_at(state, fs.dev, off + done, view[pos + done : pos + upto])
                done = upto
            except OSError as exc:
                at = done + int(getattr(exc, "done", 0))
                if not step:
                    dead = True
                    failed.append([pos + at, end - at])
                    break
                nxt = min(end, _next_boundary(fs, off + at, step) - off)
                failed.append([pos + at, nxt - at])
                done = nxt
        pos += length
    merged: Extents = []
    for start, length in failed:
        if merged and merged[-1][0] + merged[-1][1] == start:
            merged[-1][1] += length
        elif length:
            merged.append([start, length])
    return merged


def _next_boundary(fs: Filesystem, offset: int, step: int) -> int:
    """The filesystem offset of the first device `step` boundary after `offset`."""
    absolute = fs.dev.offset + offset
    return (absolute // step + 1) * step - fs.dev.offset


def _retry_step(state: State, fs: Filesystem) -> int:
    """How far on the device the next write may succeed after one failed: a thin volume's pool
    chunk (its mapped chunks still take writes); 0 for any other device (it fails from then on)."""
    lv = devmap.lv_of(state, fs.dev)
    if lv is None or lv.kind != LVKind.THIN:
        return 0
    vg = _vg_of(state, lv)
    pool = vg.lvs.get(lv.pool) if vg is not None else None
    return pool.chunk_size if pool is not None else 0


def _vg_of(state: State, lv: LV) -> VG | None:
    """The VG that holds `lv`."""
    return next((v for v in state.vgs.values() if v.lvs.get(lv.name) is lv), None)


def read_file(state: State, fs: Filesystem, entry: dict[str, Any]) -> bytes:
    data = b"".join(read_at(state, fs.dev, off, length) for off, length in entry.get("ext", []))
    data = data[: entry.get("size", 0)]
    if entry.get("unwritten"):  # ext4's unwritten extents read as zeroes
        out = bytearray(data)
        for start, length in entry["unwritten"]:
            out[start : start + length] = bytes(len(out[start : start + length]))
        data = bytes(out)
    return data


def _serialise(tree: Tree) -> bytes:
    return json.dumps(tree, separators=(",", ":"), sort_keys=True).encode()


def store_tree(state: State, fs: Filesystem, tree: Tree, contents: dict[str, bytes]) -> dict[str, int]:
    """Write new file contents and the index for `tree`, then the superblock; returns the files
    whose data did not all reach the device (path -> bytes the host has).

    Entries named in `contents` get fresh extents (in path order); the others keep theirs.  The
    index's extents are taken first and written before the files' data (the filesystem's metadata
    goes to blocks the device already holds, as a journal's do), so the data of a device that runs
    out (a thin pool out of data space) is written as far as it goes, block by block as the
    kernel's writeback does, and the index says what became of each file: ext4 keeps its size and
    the blocks that did not fit read as zeroes (unwritten extents); XFS keeps the whole writeback
    batches (`WRITEBACK_BATCH`) before the one with the first block that did not fit.  Old file
    extents become free space (not discarded, as without the discard mount option); the old index's
    extents are not reused, so a write that fails before the superblock (written last) leaves the
    filesystem as it was.  OSError when the index itself cannot be written; NoSpace when the
    filesystem is full.
    """
    used = used_extents(fs, {p: e for p, e in tree.items() if p not in contents})  # and the current index
    order = sorted(contents)
    trial = FreeSpace(fs, used)  # where the data would go, for the size of the index to reserve
    for path in order:
        tree[path]["ext"] = trial.take(len(contents[path])) if contents[path] else []
    reserve = len(_serialise(tree)) + (256 + 32 * len(contents) if contents else 0)
    space = FreeSpace(fs, used)
    index = space.take(reserve)
    for path in order:
        tree[path]["ext"] = space.take(len(contents[path])) if contents[path] else []
    if contents:  # the index's blocks first, while the device has room
        _write_extents(state, fs, index, bytes(sum(length for _, length in index)))
    short: dict[str, int] = {}
    step = _retry_step(state, fs)
    for path in order:
        data = contents[path]
        failed = _write_what_fits(state, fs, tree[path]["ext"], data, step) if data else []
        if not failed:
            continue
        short[path] = len(data)
        if fs.type == "ext4":
            tree[path]["unwritten"] = failed
        else:
            kept = failed[0][0] // WRITEBACK_BATCH * WRITEBACK_BATCH
            tree[path]["size"] = kept
            tree[path]["ext"] = _clip_extents(tree[path]["ext"], kept)
    raw = _serialise(tree)
    room = sum(length for _, length in index)
    if len(raw) > room:
        index += space.take(len(raw) - room)
    _write_extents(state, fs, index, raw)
    # ext4 forgets which groups it trimmed once blocks are freed
    new_sb = {**fs.sb, "index": index, "index_len": len(raw), "trimmed": False}
    write_super(state, Filesystem(fs.dev, new_sb))
    fs.sb = new_sb
    return short


def _clip_extents(extents: Extents, length: int) -> Extents:
    """The first `length` bytes of a list of extents."""
    out: Extents = []
    for off, n in extents:
        if length <= 0:
            break
        out.append([off, min(n, length)])
        length -= n
    return out


def trim(state: State, fs: Filesystem) -> int:
    """Discard all free space (fstrim, or the discard mount option); returns the bytes discarded."""
    total = 0
    for off, length in free_extents(fs, used_extents(fs, fs.tree(state))):
        discard(state, fs.dev, off, length)
        total += length
    return total


# ---------------------------------------------------------------------------------------------
# Host directories: materialise a tree, capture it back (lvsim.core.hosttree does the file work)


def materialise(state: State, fs: Filesystem, root: int) -> None:
    """Write the filesystem's tree into the empty directory open at `root`.

    Corrupt for an index the host cannot hold; DeviceReadError when the device cannot be read."""
    tree = fs.tree(state)

    def read(entry: dict[str, Any]) -> bytes:
        try:
            return read_file(state, fs, entry)
        except OSError as exc:
            raise DeviceReadError(str(exc)) from None

    hosttree.materialise(root, tree, read)


def scan(
    state: State, fs: Filesystem, root: int, short: dict[str, list[int]] | None = None
) -> tuple[Tree, dict[str, bytes]] | None:
    """The tree of the directory open at `root` and the contents of its new or changed files, or
    None when it is the filesystem's tree as stored.  Unchanged files keep their blocks, and so do
    files written back before as far as the device took them (`short`: path -> the host's size and
    mtime then; the kernel does not write them again).  NoSpace for a file larger than the
    filesystem."""
    old = fs.tree(state)
    short = short or {}
    tree: Tree = {}
    contents: dict[str, bytes] = {}
    for rel, st, parent in hosttree.scan(root):
        prev = old.get(rel)
        entry = hosttree.host_entry(st, prev)
        name = rel.rpartition("/")[2]
        if entry["t"] == "l":
            entry["target"] = os.readlink(name, dir_fd=parent)
        elif entry["t"] == "f":
            entry["size"] = st.st_size
            seen = [st.st_size, st.st_mtime_ns]
            if prev and prev["t"] == "f" and seen in ([prev["size"], prev["mtime"]], short.get(rel)):
                entry.update({k: prev[k] for k in ("size", "ext", "unwritten") if k in prev})
            else:
                try:
                    contents[rel] = hosttree.read_regular(parent, name, int(fs.sb["size"]))
                except FileNotFoundError:
                    continue
                except OSError as exc:
                    if exc.errno == errno.EFBIG:
                        raise NoSpace from None
                    raise
                entry["size"] = len(contents[rel])
        tree[rel] = entry
    if tree == old and not contents:
        return None
    return tree, contents


# ---------------------------------------------------------------------------------------------
# Mounts


def mounts(state: State) -> list[dict[str, Any]]:
    return state.mounts


def open_mount(mount: dict[str, Any]) -> int:
    """A descriptor of a mount's directory; Moved if it is no longer the directory that was mounted."""
    ident = mount.get("ident")
    return hosttree.open_mount_point(mount["target"], tuple(ident) if ident else None)


def mount_device(state: State, mount: dict[str, Any]) -> Device | None:
    """The device a mount is on, following its LV through a rename (the mount table keeps the old name)."""
    from lvsim.core import devmap

    dev = devmap.resolve(state, mount["source"])
    if dev is None and mount.get("lv_uuid"):
        for vg in state.vgs.values():
            for lv in vg.lvs.values():
                if lv.uuid == mount["lv_uuid"]:
                    return devmap.find_lv_device(state, vg.name, lv.name)
    return dev


def sync_mount(state: State, mount: dict[str, Any]) -> None:
    """Write a read-write mount's directory back to its device (what writeback does).  Nothing is
    read from a mount still being filled, or from a directory that is not the one mounted.

    Files lvsim cannot write back as the kernel would (larger than the filesystem, no room for the
    metadata) raise `write_back`'s refusal (LvmError, NOT_EMULATED), with the state as it was and the
    mount and its files left in place."""
    if mount["ro"] or mount.get("frozen") or mount.get("filling"):
        return
    dev = mount_device(state, mount)
    fs = probe(state, dev) if dev else None
    if fs is None:
        return
    try:
        root = open_mount(mount)
    except Moved:
        return
    try:
        write_back(state, mount, fs, root)
    finally:
        os.close(root)


def write_back(state: State, mount: dict[str, Any], fs: Filesystem, root: int) -> bool:
    """Capture the mount's directory open at `root` into `fs` (and trim it under the discard
    option); returns whether anything changed.

    The host's writes into the directory have already succeeded, as a kernel's page cache takes
    them; like the kernel's writeback, this one writes what the device takes and loses the rest
    silently: a thin pool out of data space (in queue mode after no_space_timeout) keeps what
    `store_tree` says, and the files written short are remembered in the mount (`short`) so that
    they are not written again; a COW snapshot that overflows becomes invalid, its filesystem
    gone.  What lvsim cannot emulate is refused (LvmError, NOT_EMULATED) after the state is put
    back as it was, so that nothing is lost and the user can free space in the mount and go on:
    files larger than the filesystem (the kernel fails those writes at once) and a thin pool that
    cannot take even the filesystem's metadata.  A device that already fails (an invalid snapshot)
    loses the writes, as it does on LVM."""
    short = mount.get("short") or {}
    try:
        found = scan(state, fs, root, short)
    except NoSpace:
        raise _refusal(mount, f"the {fs.type} filesystem on {mount['source']} is full") from None
    except (OSError, Corrupt):  # the device fails reads
        return False
    if found is None:
        return False
    lv = devmap.lv_of(state, fs.dev)
    valid = lv is not None and not lv.invalid  # a COW snapshot that fails already loses its writes
    before = copy.deepcopy(state)  # the device content too (lvsim.core.content.LiveData)
    try:
        lost = store_tree(state, fs, *found)
        if lost and (lv is None or lv.kind != LVKind.THIN):  # a device that failed them otherwise
            raise OSError(errno.EIO, os.strerror(errno.EIO))
    except (OSError, NoSpace) as exc:
        if lv is not None and lv.kind == LVKind.COW and valid and lv.invalid:
            return True  # the snapshot overflowed on them: invalid, its writes lost, as on LVM
        why = _what_ran_out(state, mount, fs, exc, lv)
        for f in dataclasses.fields(state):
            if f.name != "mounts":  # the callers hold the mount records
                setattr(state, f.name, getattr(before, f.name))
        if why:
            raise _refusal(mount, why) from None
        return False
    tree, written = found
    short = {p: seen for p, seen in short.items() if p in tree and p not in written}
    short.update({p: [n, tree[p]["mtime"]] for p, n in lost.items()})
    mount.pop("short", None)
    if short:
        mount["short"] = short
    if mount.get("discard"):
        with contextlib.suppress(OSError):  # a device that takes no discards: nothing is trimmed
            trim(state, fs)
    return True


def _what_ran_out(state: State, mount: dict[str, Any], fs: Filesystem, exc: Exception, lv: LV | None) -> str:
    """What a write-back to `lv` failing with `exc` found full, or "" for a device that fails otherwise
    (read-only, an invalid snapshot): its writes are lost, as on LVM."""
    vg = _vg_of(state, lv) if lv is not None else None
    code = exc.errno if isinstance(exc, OSError) else None
    if isinstance(exc, NoSpace):
        return f"the {fs.type} filesystem on {mount['source']} is full"
    if lv is None or vg is None:
        return ""
    if lv.kind == LVKind.THIN and code == errno.ENOSPC:
        return f"thin pool {vg.name}/{lv.pool} is out of data space, even for the filesystem's metadata"
    return ""


def _refusal(mount: dict[str, Any], why: str) -> LvmError:
    """lvsim's refusal of files a mount cannot hold (`why`: what ran out)."""
    return LvmError(
        rc=NOT_EMULATED,
        raw=f"lvsim: {mount['target']}: its files do not fit ({why}): a filesystem written past its "
        "space is not emulated (the host took the writes, so they cannot fail as the kernel fails "
        "them); nothing was written back, the mount and its files are as they were: remove what "
        "does not fit and run the command again",
    )


def sync_mounts(state: State) -> None:
    """Flush every read-write mount to its device (before LVM looks at or snapshots the devices)."""
    for mount in mounts(state):
        sync_mount(state, mount)
