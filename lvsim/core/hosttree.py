"""A simulated filesystem's file tree on the host: written into a mount point, read back, removed.

Without root, a simulated mount materialises the filesystem's tree in the mount-point directory, and
writeback captures it again.  Everything here goes through directory descriptors, one path component
at a time, opened with O_NOFOLLOW, so nothing is ever followed out of the mount point:

* a tree read from an image is checked first (`check_tree`): relative paths without `..`, every
  parent a directory of the tree, sane sizes and extents; a crafted image is refused before anything
  is written;
* files are created exclusively; no setuid or setgid bit and no owner is ever set on the host (the
  image keeps them: `capture` puts them back when the host copy still matches);
* the mount point is identified by device and inode (`identify`): a directory swapped for another
  one or for a symbolic link after the mount is never written, read or emptied.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from typing import Any

Tree = dict[str, dict[str, Any]]
Ident = tuple[int, int]

MAX_ENTRIES = 200_000
MAX_PATH = 4096
MAX_NAME = 255
HOST_MODE_BITS = 0o1777  # what is set on the host: never setuid or setgid
_NOFOLLOW_DIR = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class BadTree(Exception):
    """The image's file index is not a tree lvsim can write to the host."""


class Moved(Exception):
    """The mount point is no longer the directory that was mounted."""


# -- checking a tree from an image -----------------------------------------------------------------


def _check_path(path: object) -> str:
    if (
        not isinstance(path, str)
        or not path
        or "\0" in path
        or len(path.encode("utf-8", "surrogateescape")) > MAX_PATH
    ):
        raise BadTree(f"bad path {path!r:.80}")
    if path == ".":
        return path
    parts = path.split("/")
    if any(p in ("", ".", "..") or len(p.encode("utf-8", "surrogateescape")) > MAX_NAME for p in parts):
        raise BadTree(f"bad path {path!r:.80}")
    return path


def _int(entry: dict[str, Any], key: str, low: int, high: int, default: int | None = None) -> int:
    value = entry.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise BadTree(f"bad {key} {value!r:.40}")
    return value


def check_tree(tree: object, fs_size: int) -> Tree:
    """The tree, if every entry is one the host can hold: raise BadTree otherwise."""
    if not isinstance(tree, dict) or len(tree) > MAX_ENTRIES:
        raise BadTree("the file index is not a table of entries")
    for path, entry in tree.items():
        _check_path(path)
        if not isinstance(entry, dict) or entry.get("t") not in ("d", "f", "l"):
            raise BadTree(f"bad entry for {path!r:.80}")
        parent = path.rpartition("/")[0] or "." if path != "." else None
        if parent is not None and tree.get(parent, {}).get("t") != "d":
            raise BadTree(f"{path!r:.80} is not inside a directory of the tree")
        _int(entry, "mode", 0, 0o7777)
        _int(entry, "mtime", -(2**62), 2**62)
        _int(entry, "uid", 0, 2**32 - 1, 0)
        _int(entry, "gid", 0, 2**32 - 1, 0)
        if entry["t"] == "l":
            target = entry.get("target")
            if not isinstance(target, str) or not target or "\0" in target or len(target) > MAX_PATH:
                raise BadTree(f"bad link target for {path!r:.80}")
        if entry["t"] == "f":
            size = _int(entry, "size", 0, fs_size)
            extents = entry.get("ext", [])
            if not isinstance(extents, list):
                raise BadTree(f"bad extents for {path!r:.80}")
            total = 0
            for ext in extents:
                if (
                    not isinstance(ext, list)
                    or len(ext) != 2
                    or not all(isinstance(x, int) and not isinstance(x, bool) for x in ext)
                    or ext[0] < 0
                    or ext[1] < 0
                    or ext[0] + ext[1] > fs_size
                ):
                    raise BadTree(f"bad extents for {path!r:.80}")
                total += ext[1]
            if total < size:
                raise BadTree(f"{path!r:.80} is larger than its extents")
            unwritten = entry.get("unwritten", [])  # ranges that read as zeroes (ext4's unwritten extents)
            if not isinstance(unwritten, list) or not all(
                isinstance(r, list)
                and len(r) == 2
                and all(isinstance(x, int) and not isinstance(x, bool) and x >= 0 for x in r)
                and r[0] + r[1] <= size
                for r in unwritten
            ):
                raise BadTree(f"bad unwritten ranges for {path!r:.80}")
    if tree and tree.get(".", {}).get("t") != "d":
        raise BadTree("no root directory")
    return tree  # type: ignore[return-value]


# -- descriptors -----------------------------------------------------------------------------------


def identify_fd(fd: int) -> Ident:
    """(device, inode) of the directory open at fd."""
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def open_mount_point(directory: str, ident: Ident | None) -> int:
    """A descriptor of the mount point; Moved if it is not the directory that was mounted."""
    try:
        fd = os.open(directory, _NOFOLLOW_DIR)
    except OSError as exc:
        raise Moved(directory) from exc
    st = os.fstat(fd)
    if ident is not None and (st.st_dev, st.st_ino) != tuple(ident):
        os.close(fd)
        raise Moved(directory)
    return fd


def _open_dir(root: int, path: str) -> int:
    """A descriptor of root/path, walking component by component without following links."""
    fd = os.dup(root)
    if path == ".":
        return fd
    for part in path.split("/"):
        try:
            nxt = os.open(part, _NOFOLLOW_DIR, dir_fd=fd)
        finally:
            os.close(fd)
        fd = nxt
    return fd


def _split(path: str) -> tuple[str, str]:
    parent, _, name = path.rpartition("/")
    return parent or ".", name


def is_empty(fd: int) -> bool:
    with os.scandir(fd) as entries:
        return next(entries, None) is None


# -- writing a tree --------------------------------------------------------------------------------


def materialise(root: int, tree: Tree, read: Callable[[dict[str, Any]], bytes]) -> None:
    """Create the (checked) tree inside the empty directory open at `root`; `read` gives a file's bytes."""
    for path in sorted(tree):
        entry = tree[path]
        if path == ".":
            continue
        parent_path, name = _split(path)
        parent = _open_dir(root, parent_path)
        try:
            if entry["t"] == "d":
                os.mkdir(name, 0o700, dir_fd=parent)
            elif entry["t"] == "l":
                os.symlink(entry["target"], name, dir_fd=parent)
                os.utime(name, ns=(entry["mtime"], entry["mtime"]), dir_fd=parent, follow_symlinks=False)
            else:
                flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
                fd = os.open(name, flags, 0o600, dir_fd=parent)
                try:
                    view = memoryview(read(entry))
                    while view:
                        view = view[os.write(fd, view) :]
                    os.fchmod(fd, entry["mode"] & HOST_MODE_BITS)
                    os.utime(fd, ns=(entry["mtime"], entry["mtime"]))
                finally:
                    os.close(fd)
        finally:
            os.close(parent)
    for path in sorted((p for p, e in tree.items() if e["t"] == "d"), reverse=True):  # children first
        fd = _open_dir(root, path)
        try:
            os.fchmod(fd, tree[path]["mode"] & HOST_MODE_BITS)
            os.utime(fd, ns=(tree[path]["mtime"], tree[path]["mtime"]))
        finally:
            os.close(fd)


# -- reading a tree back ---------------------------------------------------------------------------


def scan(root: int) -> Iterator[tuple[str, os.stat_result, int]]:
    """(relative path, lstat, parent descriptor) for the directory open at root and all below it
    (directories, regular files and links; other kinds are not kept, as before)."""
    yield ".", os.fstat(root), root
    stack = [(".", os.dup(root))]
    while stack:
        rel, fd = stack.pop()
        try:
            with os.scandir(fd) as it:
                names = sorted(e.name for e in it)
            for name in names:
                try:
                    st = os.stat(name, dir_fd=fd, follow_symlinks=False)
                except FileNotFoundError:
                    continue
                child = name if rel == "." else f"{rel}/{name}"
                if stat.S_ISDIR(st.st_mode):
                    yield child, st, fd
                    try:
                        stack.append((child, os.open(name, _NOFOLLOW_DIR, dir_fd=fd)))
                    except OSError:
                        continue
                elif stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode):
                    yield child, st, fd
        finally:
            os.close(fd)


def read_regular(parent: int, name: str, limit: int) -> bytes:
    """A regular file's bytes (never through a link, never a FIFO); OSError(EFBIG) past limit."""
    fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=parent)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise OSError(errno.EINVAL, os.strerror(errno.EINVAL), name)
        if st.st_size > limit:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), name)
        chunks = []
        left = limit + 1
        while left > 0:
            chunk = os.read(fd, min(left, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        data = b"".join(chunks)
        if len(data) > limit:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG), name)
        return data
    finally:
        os.close(fd)


def host_entry(st: os.stat_result, old: dict[str, Any] | None) -> dict[str, Any]:
    """The index entry of a host file: its type, mode, owner and mtime.  Bits and owners the host
    copy could not carry (setuid/setgid, the image's owner) come from the image's entry while the
    host copy still looks as it was written."""
    kind = "d" if stat.S_ISDIR(st.st_mode) else "l" if stat.S_ISLNK(st.st_mode) else "f"
    mode = stat.S_IMODE(st.st_mode)
    uid, gid = st.st_uid, st.st_gid
    if old is not None and old.get("t") == kind:
        if mode == old.get("mode", -1) & HOST_MODE_BITS or kind == "l":
            mode = old.get("mode", mode)
        if (uid, gid) == (os.geteuid(), os.getegid()):
            uid, gid = old.get("uid", uid), old.get("gid", gid)
    return {"t": kind, "mode": mode, "uid": uid, "gid": gid, "mtime": st.st_mtime_ns}


# -- removing a tree -------------------------------------------------------------------------------


def remove_contents(fd: int) -> None:
    """Remove everything inside the directory open at fd, never following a link."""
    with os.scandir(fd) as it:
        names = [e.name for e in it]
    for name in names:
        try:
            st = os.stat(name, dir_fd=fd, follow_symlinks=False)
        except FileNotFoundError:
            continue
        if stat.S_ISDIR(st.st_mode):
            try:
                sub = os.open(name, _NOFOLLOW_DIR, dir_fd=fd)
            except OSError:
                continue
            try:
                os.fchmod(sub, 0o700)  # a read-only directory of the image must still empty
                remove_contents(sub)
            finally:
                os.close(sub)
            os.rmdir(name, dir_fd=fd)
        else:
            os.unlink(name, dir_fd=fd)
