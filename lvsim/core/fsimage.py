"""Simulated ext4 and XFS filesystems, stored in the device's own blocks.

Everything about a filesystem lives on its device, written and read through `lvsim.core.datapath`,
so a COW or thin snapshot carries the point-in-time filesystem with no extra bookkeeping:

* a superblock at byte 1024: a magic and a JSON header (type, uuid, label, geometry, where the
  file index lives, whether the log is clean);
* a file index (JSON: relative path -> type, mode, owner, mtime, size and extents) stored in
  extents allocated like file data;
* file contents in extents allocated first-fit, block by block, outside the metadata regions
  mkfs wrote (the journal or log and the per-group or per-AG headers).

Mounts are recorded in ``state.extra["mounts"]``.  Without root, mounting materialises the tree
in the mount-point directory and unmounting (or `sync_mounts`) captures it back.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from lvsim.core.content import Payload
from lvsim.core.devmap import Device
from lvsim.core.model import State

SB_OFFSET = 1024
SB_SIZE = 3072
MAGIC = b"LVSIMFS1"

Tree = dict[str, dict[str, Any]]
Extents = list[list[int]]


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
        raw = b"".join(read_at(state, self.dev, off, length) for off, length in self.sb["index"])
        return json.loads(raw[: self.sb["index_len"]]) if raw else {}


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
    except ValueError:
        return None
    return Filesystem(dev, sb)


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
    """Create a filesystem: discard the device, write the metadata regions, the root tree, the superblock."""
    if do_discard:
        discard(state, dev, 0, dev.size)
    for off, length in meta:
        fill(state, dev, off, length)
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


def _allocate(fs: Filesystem, used: Extents, size: int) -> Extents:
    """First-fit extents for `size` bytes (whole blocks), added to `used`."""
    bs = int(fs.sb["block_size"])
    need = -(-size // bs) * bs
    got: Extents = []
    for off, length in free_extents(fs, used):
        if need <= 0:
            break
        take = min(length, need)
        got.append([off, take])
        need -= take
    if need > 0:
        raise NoSpace
    used.extend(got)
    used.sort()
    return got


def _write_extents(state: State, fs: Filesystem, extents: Extents, data: bytes) -> None:
    pos = 0
    for off, length in extents:
        chunk = data[pos : pos + length]
        if chunk:
            write_at(state, fs.dev, off, chunk)
        pos += length


def read_file(state: State, fs: Filesystem, entry: dict[str, Any]) -> bytes:
    data = b"".join(read_at(state, fs.dev, off, length) for off, length in entry.get("ext", []))
    return data[: entry.get("size", 0)]


def store_tree(state: State, fs: Filesystem, tree: Tree, contents: dict[str, bytes]) -> None:
    """Write new file contents and the index for `tree`, then the superblock.

    Entries named in `contents` get fresh extents; the others keep theirs.  Old index and file
    extents become free space (not discarded, as without the discard mount option).
    """
    fs.sb["index"] = []
    used = used_extents(fs, {p: e for p, e in tree.items() if p not in contents})
    for path, data in contents.items():
        tree[path]["ext"] = _allocate(fs, used, len(data)) if data else []
        _write_extents(state, fs, tree[path]["ext"], data)
    raw = json.dumps(tree, separators=(",", ":"), sort_keys=True).encode()
    fs.sb["index"] = _allocate(fs, used, len(raw))
    fs.sb["index_len"] = len(raw)
    fs.sb["trimmed"] = False  # ext4 forgets which groups it trimmed once blocks are freed
    _write_extents(state, fs, fs.sb["index"], raw)
    write_super(state, fs)


def trim(state: State, fs: Filesystem) -> int:
    """Discard all free space (fstrim, or the discard mount option); returns the bytes discarded."""
    total = 0
    for off, length in free_extents(fs, used_extents(fs, fs.tree(state))):
        discard(state, fs.dev, off, length)
        total += length
    return total


# ---------------------------------------------------------------------------------------------
# Host directories: materialise a tree, capture it back


def _apply_meta(path: str, entry: dict[str, Any]) -> None:
    if os.geteuid() == 0:
        os.lchown(path, entry.get("uid", 0), entry.get("gid", 0))
    if entry["t"] != "l":
        os.chmod(path, entry["mode"])
    os.utime(path, ns=(entry["mtime"], entry["mtime"]), follow_symlinks=False)


def materialise(state: State, fs: Filesystem, directory: str) -> None:
    """Create the filesystem's tree inside the (empty) directory."""
    tree = fs.tree(state)
    for path in sorted(tree):
        entry = tree[path]
        host = os.path.join(directory, path) if path != "." else directory
        if entry["t"] == "d":
            os.makedirs(host, exist_ok=True)
        elif entry["t"] == "l":
            os.symlink(entry["target"], host)
        else:
            with open(host, "wb") as fh:
                fh.write(read_file(state, fs, entry))
    for path in sorted(tree, reverse=True):  # children first, so directory mtimes stick
        _apply_meta(os.path.join(directory, path) if path != "." else directory, tree[path])


def _entry(st: os.stat_result) -> dict[str, Any]:
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
    return {
        "t": kind,
        "mode": stat.S_IMODE(st.st_mode),
        "uid": st.st_uid,
        "gid": st.st_gid,
        "mtime": st.st_mtime_ns,
    }


def scan(directory: str) -> Iterator[tuple[str, str, os.stat_result]]:
    """(relative path, host path, lstat) for the directory and everything below it."""
    yield ".", directory, os.lstat(directory)
    for root, dirs, files in os.walk(directory):
        for name in sorted(dirs) + sorted(files):
            host = os.path.join(root, name)
            st = os.lstat(host)
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                yield os.path.relpath(host, directory), host, st


def capture(state: State, fs: Filesystem, directory: str) -> bool:
    """Store the directory's tree in the filesystem; unchanged files keep their blocks.

    Returns whether anything changed.
    """
    old = fs.tree(state)
    tree: Tree = {}
    contents: dict[str, bytes] = {}
    for rel, host, st in scan(directory):
        entry = _entry(st)
        if entry["t"] == "l":
            entry["target"] = os.readlink(host)
        elif entry["t"] == "f":
            entry["size"] = st.st_size
            prev = old.get(rel)
            if prev and prev["t"] == "f" and prev["size"] == st.st_size and prev["mtime"] == st.st_mtime_ns:
                entry["ext"] = prev["ext"]
            else:
                with open(host, "rb") as fh:
                    contents[rel] = fh.read()
                entry["size"] = len(contents[rel])
        tree[rel] = entry
    if tree == old and not contents:
        return False
    store_tree(state, fs, tree, contents)
    return True


# ---------------------------------------------------------------------------------------------
# Mounts


def mounts(state: State) -> list[dict[str, Any]]:
    return state.extra.setdefault("mounts", [])


def stash_dir(directory: str) -> str:
    """Move whatever the mount point holds aside (a mount hides it) and return where it went."""
    stash = tempfile.mkdtemp(prefix="lvsim-hidden-")
    for name in os.listdir(directory):
        shutil.move(os.path.join(directory, name), os.path.join(stash, name))
    return stash


def clear_dir(directory: str) -> None:
    for name in os.listdir(directory):
        path = os.path.join(directory, name)
        if os.path.isdir(path) and not os.path.islink(path):
            shutil.rmtree(path)
        else:
            os.unlink(path)


def restore_dir(directory: str, stash: str) -> None:
    for name in os.listdir(stash):
        shutil.move(os.path.join(stash, name), os.path.join(directory, name))
    os.rmdir(stash)


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
    """Write a read-write mount's directory back to its device (what writeback does)."""
    if mount["ro"] or mount.get("frozen") or not os.path.isdir(mount["target"]):
        return
    dev = mount_device(state, mount)
    fs = probe(state, dev) if dev else None
    if fs is not None:
        with contextlib.suppress(OSError, NoSpace):  # writeback errors reach no command
            if capture(state, fs, mount["target"]) and mount.get("discard"):
                trim(state, fs)


def sync_mounts(state: State) -> None:
    """Flush every read-write mount to its device (before LVM looks at or snapshots the devices)."""
    for mount in mounts(state):
        sync_mount(state, mount)
