"""Sparse device content: what every simulated disk holds, in O(1) memory per write.

A disk's content is a sorted run of disjoint extents; everything outside them reads as
zeroes.  An extent is five integers ``(start, end, kind, a, b)``: byte ``p`` of it is byte
``b + p - start`` of the stream ``(kind, a)``:

- ``PATTERN``: the generated stream number ``a`` (what /dev/urandom gives in the simulator;
  a seeded pattern, different for every write, never materialised until read);
- ``LITERAL``: the bytes of blob ``a`` (data actually handed to a write).

Writing zeroes punches a hole, so generated data costs one extent per write at most, and
stored content grows with data written, never with device size.  Extents live in blocks of
parallel ``array('q')`` columns (40 bytes an extent), found by bisection.

The live `Store` rides on ``state.data`` (a `LiveData` dict whose items are the
saved form) and `flush`, which `lvsim.core.store` calls before saving, re-encodes it there.
Small blobs go into the state as base64; large ones into write-once, content-addressed
files in a blob directory beside the state file, written before the state that references
them.
"""

from __future__ import annotations

import contextlib
import os
from array import array
from bisect import bisect_left, bisect_right
from collections.abc import Iterator
from pathlib import Path

from lvsim.core.model import State

PATTERN = 1
LITERAL = 2

INLINE_BLOB = 64 * 1024  # blobs up to this size are kept inside the state file
_LOAD = 512  # extents per block before it is split
_PAGE = 64 * 1024  # the pattern stream is generated a page at a time

Extent = tuple[int, int, int, int, int]


class Generated:
    """Generated content: zeroes (stream 0), or bytes [start, start+length) of pattern `stream`."""

    __slots__ = ("length", "start", "stream")

    def __init__(self, length: int, stream: int = 0, start: int = 0) -> None:
        self.length = length
        self.stream = stream
        self.start = start

    def __len__(self) -> int:
        return self.length


Payload = bytes | bytearray | memoryview | Generated


def zeros(length: int) -> Generated:
    """`length` zero bytes (what /dev/zero gives)."""
    return Generated(length)


def urandom(state: State, length: int) -> Generated:
    """`length` bytes of a fresh pattern stream (what /dev/urandom gives): deterministic per write."""
    return Generated(length, store_of(state).new_stream())


_table: list[int] = []


def pattern_bytes(stream: int, offset: int, length: int) -> bytes:
    """Bytes [offset, offset+length) of pattern stream `stream`."""
    import hashlib

    if not _table:
        _table.append(int.from_bytes(hashlib.shake_128(b"lvsim pattern").digest(_PAGE), "little"))
    out = bytearray()
    page = offset // _PAGE
    skip = offset - page * _PAGE
    while len(out) < length + skip:
        key = hashlib.sha256(stream.to_bytes(8, "little") + page.to_bytes(8, "little")).digest()
        out += (int.from_bytes(key * (_PAGE // 32), "little") ^ _table[0]).to_bytes(_PAGE, "little")
        page += 1
    return bytes(out[skip : skip + length])


class Content:
    """The sparse content of one device."""

    def __init__(self) -> None:
        self._keys: list[int] = []  # first start of each block
        self._blocks: list[list[array[int]]] = []  # columns: start, end, kind, a, b
        self._encoded: str | None = None  # the saved form, while unchanged

    def __len__(self) -> int:
        return sum(len(b[0]) for b in self._blocks)

    def extents(self, start: int, end: int) -> Iterator[Extent]:
        """The extents overlapping [start, end), clipped to it, in order."""
        keys, blocks = self._keys, self._blocks
        i = max(bisect_right(keys, start) - 1, 0)
        first = i
        while i < len(blocks) and (i == first or keys[i] < end):
            s_col, e_col, k_col, a_col, b_col = blocks[i]
            j = max(bisect_right(s_col, start) - 1, 0)
            while j < len(s_col) and s_col[j] < end:
                s, e = s_col[j], e_col[j]
                if e > start:
                    lo, hi = max(s, start), min(e, end)
                    yield lo, hi, k_col[j], a_col[j], b_col[j] + lo - s
                j += 1
            if j < len(s_col):
                return
            i += 1

    def put(self, start: int, end: int, new: list[Extent]) -> None:
        """Make [start, end) hold exactly `new` (sorted, disjoint, inside the range; the rest is zero)."""
        if start >= end:
            return
        self._encoded = None
        keys, blocks = self._keys, self._blocks
        if not blocks:
            if new:
                blocks.append(_block(new))
                keys.append(new[0][0])
            return
        last = blocks[-1]
        s_col, e_col, k_col, a_col, b_col = last
        if start >= e_col[-1]:  # past everything stored: append
            for row in new:
                if e_col[-1] == row[0] and a_col[-1] == row[3] and _joins(_row(last, -1), row):
                    e_col[-1] = row[1]
                    continue
                s_col.append(row[0])
                e_col.append(row[1])
                k_col.append(row[2])
                a_col.append(row[3])
                b_col.append(row[4])
            if len(s_col) > 2 * _LOAD:
                self._split(len(blocks) - 1)
            return
        i = max(bisect_right(keys, start) - 1, 0)
        self._trim_following(i, end)
        cols = blocks[i]
        s_col, e_col = cols[0], cols[1]
        first = bisect_right(s_col, start) - 1
        if first < 0 or e_col[first] <= start:
            first += 1
        hi = bisect_left(s_col, end)
        repl = list(new)
        if first < hi:
            if s_col[first] < start:
                repl.insert(0, (s_col[first], start, cols[2][first], cols[3][first], cols[4][first]))
            last = hi - 1
            if e_col[last] > end:
                tail = cols[4][last] + end - s_col[last]
                repl.append((end, e_col[last], cols[2][last], cols[3][last], tail))
        if repl and first > 0 and _joins(_row(cols, first - 1), repl[0]):
            first -= 1
            repl[0] = _join(_row(cols, first), repl[0])
        if repl and hi < len(s_col) and _joins(repl[-1], _row(cols, hi)):
            repl[-1] = _join(repl[-1], _row(cols, hi))
            hi += 1
        for c, col in enumerate(cols):
            col[first:hi] = array("q", [x[c] for x in repl])
        if not s_col:
            del blocks[i], keys[i]
            return
        keys[i] = s_col[0]
        if len(s_col) > 2 * _LOAD:
            self._split(i)

    def _split(self, i: int) -> None:
        cols = self._blocks[i]
        self._blocks.insert(i + 1, [col[_LOAD:] for col in cols])
        self._keys.insert(i + 1, cols[0][_LOAD])
        for col in cols:
            del col[_LOAD:]

    def _trim_following(self, i: int, end: int) -> None:
        """Drop or cut the parts of blocks after block i that lie before `end`."""
        keys, blocks = self._keys, self._blocks
        j = i + 1
        while j < len(blocks) and keys[j] < end:
            cols = blocks[j]
            n = bisect_left(cols[0], end)
            if cols[1][n - 1] > end:
                cols[4][n - 1] += end - cols[0][n - 1]
                cols[0][n - 1] = end
                n -= 1
            for col in cols:
                del col[:n]
            if cols[0]:
                keys[j] = cols[0][0]
                return
            del blocks[j], keys[j]

    def encode(self) -> str:
        if self._encoded is not None:
            return self._encoded
        cols = [array("q") for _ in range(5)]
        for block in self._blocks:
            for c, col in enumerate(block):
                cols[c].extend(col)
        self._encoded = _pack(b"".join(c.tobytes() for c in cols))
        return self._encoded

    @classmethod
    def decode(cls, text: str) -> Content:
        flat = array("q")
        flat.frombytes(_unpack(text))
        n = len(flat) // 5
        content = cls()
        for lo in range(0, n, _LOAD):
            hi = min(lo + _LOAD, n)
            content._blocks.append([flat[c * n + lo : c * n + hi] for c in range(5)])
            content._keys.append(flat[lo])
        content._encoded = text
        return content

    def literal_ids(self) -> set[int]:
        ids: set[int] = set()
        for cols in self._blocks:
            ids.update(a for k, a in zip(cols[2], cols[3], strict=True) if k == LITERAL)
        return ids


def _pack(raw: bytes) -> str:
    import base64
    import zlib

    return base64.b64encode(zlib.compress(raw)).decode()


def _unpack(text: str) -> bytes:
    import base64
    import zlib

    return zlib.decompress(base64.b64decode(text))


def _block(rows: list[Extent]) -> list[array[int]]:
    return [array("q", [r[c] for r in rows]) for c in range(5)]


def _row(cols: list[array[int]], j: int) -> Extent:
    return cols[0][j], cols[1][j], cols[2][j], cols[3][j], cols[4][j]


def _joins(x: Extent, y: Extent) -> bool:
    return x[1] == y[0] and x[2] == y[2] and x[3] == y[3] and y[4] == x[4] + x[1] - x[0]


def _join(x: Extent, y: Extent) -> Extent:
    return x[0], y[1], x[2], x[3], x[4]


class Blobs:
    """Literal data handed to writes, by id; large ones may live in files (loaded on demand)."""

    def __init__(self, directory: str | None = None) -> None:
        self.data: dict[int, bytes] = {}
        self.files: dict[int, str] = {}  # id -> sha256 of a blob file not loaded yet
        self.directory = directory
        self.next = 1

    def add(self, raw: bytes) -> int:
        blob = self.next
        self.next += 1
        self.data[blob] = raw
        return blob

    def get(self, blob: int) -> bytes:
        if blob not in self.data:
            if self.directory is None:
                raise FileNotFoundError(f"blob {blob}: no blob directory")
            self.data[blob] = (Path(self.directory) / self.files[blob]).read_bytes()
        return self.data[blob]


class Store:
    """All device contents of one state, plus the literal blobs they reference."""

    def __init__(self) -> None:
        self.contents: dict[str, Content] = {}
        self.blobs = Blobs()
        self.streams = 0

    def new_stream(self) -> int:
        self.streams += 1
        return self.streams

    def describe(self, payload: Payload) -> list[Extent]:
        """A payload as extents relative to its first byte (none for zeroes)."""
        n = len(payload)
        if not n:
            return []
        if isinstance(payload, Generated):
            return [(0, n, PATTERN, payload.stream, payload.start)] if payload.stream else []
        return [(0, n, LITERAL, self.blobs.add(bytes(payload)), 0)]

    def materialise(self, extents: list[Extent], length: int) -> bytes:
        """The bytes of `length` bytes described by relative extents (holes are zeroes)."""
        out = bytearray(length)
        for s, e, kind, a, b in extents:
            if kind == PATTERN:
                out[s:e] = pattern_bytes(a, b, e - s)
            else:
                out[s:e] = self.blobs.get(a)[b : b + e - s]
        return bytes(out)

    def content(self, device: str) -> Content:
        found = self.contents.get(device)
        if found is None:
            found = self.contents[device] = Content()
        return found


class LiveData(dict[str, object]):
    """``state.data``: the saved (JSON) form as dict items, the live `Store` beside it.

    JSON sees only the items; a deep copy of the state (a what-if plan) copies the live store.
    """

    store: Store | None = None


def store_of(state: State) -> Store:
    """The live content store of `state`, decoded from ``state.data`` on first use."""
    raw = state.data
    if isinstance(raw, LiveData) and raw.store is not None:
        return raw.store
    live = LiveData(raw or {})
    live.store = _decode(live)
    state.data = live
    return live.store


def content(state: State, disk: str) -> Content:
    """The content of a disk (created empty)."""
    found = store_of(state).content(disk)
    entry = state.disks[disk]
    if entry.data is None:
        entry.data = disk
    return found


def _decode(raw: dict[str, object]) -> Store:
    store = Store()
    store.streams = int(raw.get("streams", 0))  # type: ignore[call-overload]
    disks = raw.get("disks", {})
    assert isinstance(disks, dict)
    store.contents = {path: Content.decode(text) for path, text in disks.items()}
    directory = raw.get("blobdir")
    store.blobs = Blobs(str(directory) if directory else None)
    blobs = raw.get("blobs", {})
    assert isinstance(blobs, dict)
    for key, value in blobs.items():
        blob = int(key)
        if value.startswith("file:"):
            store.blobs.files[blob] = value[5:]
        else:
            store.blobs.data[blob] = _unpack(value)
    store.blobs.next = int(raw.get("next_blob", 1))  # type: ignore[call-overload]
    return store


def flush(state: State, blob_dir: Path | None = None) -> None:
    """Write the live contents into ``state.data`` (large blobs into files in blob_dir)."""
    live = state.data
    if not isinstance(live, LiveData) or live.store is None:
        return
    store = live.store
    for path in [p for p in store.contents if p not in state.disks]:
        del store.contents[path]
    disks = {path: c.encode() for path, c in store.contents.items() if len(c)}
    used: set[int] = set()
    if store.blobs.data or store.blobs.files:
        for c in store.contents.values():
            used |= c.literal_ids()
    blobs: dict[str, str] = {}
    directory = store.blobs.directory
    for blob in sorted(used):
        if blob in store.blobs.files:  # write-once: a loaded blob is still its file
            blobs[str(blob)] = "file:" + store.blobs.files[blob]
            continue
        raw = store.blobs.get(blob)
        if blob_dir is not None and len(raw) > INLINE_BLOB:
            name = _write_blob(blob_dir, raw)
            store.blobs.files[blob] = name
            directory = str(blob_dir.resolve())
            blobs[str(blob)] = "file:" + name
        else:
            blobs[str(blob)] = _pack(raw)
    store.blobs.directory = directory
    live.clear()
    if disks or store.streams:
        live.update(
            streams=store.streams, next_blob=store.blobs.next, blobdir=directory, disks=disks, blobs=blobs
        )
    else:
        state.data = None


def _write_blob(directory: Path, raw: bytes) -> str:
    """Write a content-addressed blob once (atomically); return its file name."""
    import hashlib

    name = hashlib.sha256(raw).hexdigest()
    path = directory / name
    if not path.exists():
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = directory / f".{name}.{os.getpid()}.{os.urandom(6).hex()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with open(fd, "wb") as f:
                f.write(raw)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    return name


def relink(saved: dict[str, object], directory: Path) -> None:
    """Point the saved form of a store (``state.data`` as saved) at blob `directory`, hard-linking
    (or copying) the blob files it references there: for a copy of a state file (`store.copy`)."""
    source = saved.get("blobdir")
    blobs = saved.get("blobs", {})
    if not source or not isinstance(blobs, dict):
        return
    directory.mkdir(parents=True, exist_ok=True)
    for value in blobs.values():
        if isinstance(value, str) and value.startswith("file:"):
            name = value[5:]
            if not (directory / name).exists():
                try:
                    os.link(Path(str(source)) / name, directory / name)
                except OSError:
                    import shutil

                    shutil.copyfile(Path(str(source)) / name, directory / name)
    saved["blobdir"] = str(directory.resolve())
