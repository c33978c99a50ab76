"""Thin-pool and COW-snapshot allocation model: mappings, sharing, block accounting.

Thin pools
    Each pool keeps, in ``pool.thin_map`` (JSON-serialisable):
    a data-block allocator (``hwm`` high-water mark plus a ``free`` list) and a set of
    mapping *layers*.  A layer maps thin chunk -> pool block (-1 = discarded, i.e. unmapped).
    Every thin device owns one mutable top layer (``lv.top``); lookups walk the
    chain of parent layers.  A snapshot never copies a mapping: the origin's top layer
    becomes a shared frozen parent of two fresh, empty top layers.

    Sharing is accounted without per-block refcounts: layer ``ndev`` counts the live devices
    whose chain contains it, and ``hidden[chunk]`` counts those that shadow that entry with a
    newer mapping of their own; an entry's block is referenced by ``ndev - hidden`` devices.
    ``over[chunk]`` in a layer names the ancestor layer whose entry it shadows.

    Per device ``lv.mapped`` counts the chunks mapped now and ``lv.peak`` the most it ever
    had (its metadata tree keeps that size); the pool keeps ``tree``, the running total of
    mapping-tree metadata blocks that `lvsim.core.usage` adds to the fixed metadata cost.

COW snapshots
    ``lv.exceptions`` maps origin chunk -> exception index; ``lv.invalid`` marks
    an overflowed snapshot.  Exception i lives at chunk 1 + (i // epc + 1) + i of the COW
    store (epc = chunk / 16), behind the header and each area's metadata chunk.

Data-path API: `provision`, `lookup`, `discard`, `pool_block_location`, `cow_exception`,
`cow_lookup`, `cow_snapshots_of`.  The ``state`` argument is the `State` (for its clock).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

from lvsim.core.model import LV, VG, LVKind, State

if TYPE_CHECKING:
    pass

LEAF_MAPPINGS = 252  # mappings per metadata btree leaf
NO_SPACE_TIMEOUT = 60.0  # dm_thin_pool no_space_timeout, in (simulated) seconds
UNMAPPED = -1
META_BLOCK = 4096
SPACE_MAP_ENTRIES = 16320  # space-map entries per 4 KiB bitmap block

Layer = dict[str, Any]


# ---------------------------------------------------------------------------------------------
# Pool state


_DECODED: dict[int, dict[str, Any]] = {}  # pools whose layers have int keys, by id()
_DECODED_MAX = 64


def pool_state(pool: LV) -> dict[str, Any]:
    """The pool's allocation state, created empty on first use (int keys restored after JSON)."""
    raw = pool.thin_map
    if raw is None:
        raw = pool.thin_map = {
            "next": 0,
            "layers": {},
            "hwm": 0,
            "free": [],
            "mode": "rw",
            "queued_since": None,
            "error_io": False,
            "tree": 0,
        }
    elif _DECODED.get(id(raw)) is raw:
        return raw
    for layer in raw["layers"].values():
        for key in ("map", "hidden", "over"):
            _int_keys(layer[key])
    if len(_DECODED) >= _DECODED_MAX:
        _DECODED.pop(next(iter(_DECODED)))
    _DECODED[id(raw)] = raw
    return raw


def _int_keys(d: dict[Any, Any]) -> None:
    """JSON turns int keys into strings; turn them back in place."""
    if d and type(next(iter(d))) is str:
        items = [(int(k), v) for k, v in d.items()]
        d.clear()
        d.update(items)


def _layer(ps: dict[str, Any], lid: str) -> Layer:
    layer: Layer = ps["layers"][lid]
    return layer


def _new_layer(ps: dict[str, Any], parent: str | None) -> str:
    ps["next"] += 1
    lid = f"L{ps['next']}"
    ps["layers"][lid] = {"parent": parent, "ndev": 1, "map": {}, "hidden": {}, "over": {}}
    return lid


def _chain(ps: dict[str, Any], lid: str | None) -> list[tuple[str, Layer]]:
    chain = []
    while lid is not None:
        layer = _layer(ps, lid)
        chain.append((lid, layer))
        lid = layer["parent"]
    return chain


def pool_total_blocks(vg: VG, pool: LV) -> int:
    """Data chunks of the pool: its size (that of its _tdata) / chunk size."""
    return pool.virtual_extents * vg.extent_size // pool.chunk_size if pool.chunk_size else 0


def pool_used_blocks(pool: LV) -> int:
    ps = pool.thin_map
    return ps["hwm"] - len(ps["free"]) if ps else 0


def pool_mode(pool: LV) -> str:
    """ "rw", "out_of_data", "ro" (metadata read-only) or "fail"."""
    ps = pool.thin_map
    return ps["mode"] if ps else "rw"


def _free_block(ps: dict[str, Any], block: int) -> None:
    ps["free"].append(block)


def pool_resized(vg: VG, pool: LV) -> None:
    """After the pool grew or freed blocks: a pool out of data space with room again goes back to write mode."""
    ps = pool_state(pool)
    if ps["mode"] == "out_of_data" and pool_used_blocks(pool) < pool_total_blocks(vg, pool):
        ps["mode"] = "rw"
        ps["error_io"] = False
        ps["queued_since"] = None


# ---------------------------------------------------------------------------------------------
# Thin devices


def thins_of(vg: VG, pool: LV) -> list[LV]:
    return [lv for lv in vg.lvs.values() if lv.kind == LVKind.THIN and lv.pool == pool.name]


def mapped_count(lv: LV) -> int:
    return lv.mapped or 0


def has_own_tree(lv: LV) -> bool:
    """A new thin LV has its own (empty) mapping tree; a snapshot shares until written."""
    return lv.own_tree


def tree_blocks(mapped: int) -> int:
    """Metadata blocks of one device's mapping tree: leaves of 252 mappings, plus a root above >1 leaf."""
    leaves = max(1, -(-mapped // LEAF_MAPPINGS))
    return leaves + (1 if leaves > 1 else 0)


def _tree_of(lv: LV) -> int:
    """A device's mapping-tree blocks; the tree keeps the size of its peak mapping count (the VM
    showed a fully discarded 317-mapping tree still holding 3 blocks)."""
    return tree_blocks(lv.peak) if has_own_tree(lv) else 0


def _set_mapping(ps: dict[str, Any], lv: LV, mapped: int, own: bool) -> None:
    """Change a device's mapped count / own-tree flag, keeping the pool's tree-block total."""
    before = _tree_of(lv) if lv.mapped is not None else 0
    lv.mapped = mapped
    lv.peak = max(mapped, lv.peak if own and lv.own_tree else 0)
    lv.own_tree = own
    if "tree" in ps:
        ps["tree"] += _tree_of(lv) - before


def own_tree(pool: LV, lv: LV) -> None:
    """A device no longer shares its mapping tree (e.g. a merged snapshot that became the origin)."""
    _set_mapping(pool_state(pool), lv, mapped_count(lv), True)


def pool_tree_blocks(vg: VG, pool: LV) -> int:
    """Metadata blocks of all mapping trees in the pool (kept as a running total)."""
    ps = pool_state(pool)
    if "tree" not in ps:
        ps["tree"] = sum(_tree_of(lv) for lv in thins_of(vg, pool))
    return int(ps["tree"])


def _pool_of(vg: VG, thin_lv: LV) -> LV:
    return vg.lvs[thin_lv.pool]


def _top(ps: dict[str, Any], lv: LV) -> str:
    top = lv.top
    if top is None or top not in ps["layers"]:
        top = lv.top = _new_layer(ps, None)
    return str(top)


def attach_thin(pool: LV, lv: LV) -> None:
    """Give a new thin volume an empty mapping."""
    ps = pool_state(pool)
    lv.top = _new_layer(ps, None)
    lv.mapped = None
    lv.peak = 0
    _set_mapping(ps, lv, 0, True)


def attach_snapshot(pool: LV, origin: LV, snap: LV) -> None:
    """Make snap share origin's whole mapping, in O(layers + shadowed entries)."""
    ps = pool_state(pool)
    top = _top(ps, origin)
    layer = _layer(ps, top)
    if layer["map"]:
        origin.top = _new_layer(ps, top)
        base: str | None = top
    else:
        base = layer["parent"]
    for _, anc in _chain(ps, base):
        anc["ndev"] += 1
        for chunk, shadowed in anc["over"].items():
            hidden = _layer(ps, shadowed)["hidden"]
            hidden[chunk] = hidden.get(chunk, 0) + 1
    snap.top = _new_layer(ps, base)
    snap.mapped = None
    _set_mapping(ps, snap, mapped_count(origin), False)


def detach_thin(pool: LV, lv: LV) -> None:
    """Forget a thin device's mapping, freeing the blocks no other device references."""
    ps = pool_state(pool)
    if "tree" in ps:
        ps["tree"] -= _tree_of(lv)
    top = lv.top
    if top is None or top not in ps["layers"]:
        return
    chain = _chain(ps, str(top))
    for _, layer in chain:
        for chunk, shadowed in layer["over"].items():
            if shadowed in ps["layers"]:
                hidden = _layer(ps, shadowed)["hidden"]
                hidden[chunk] -= 1
    for lid, layer in chain:
        layer["ndev"] -= 1
        if layer["ndev"] == 0:
            for block in layer["map"].values():
                if block >= 0:
                    _free_block(ps, block)
            del ps["layers"][lid]
            continue
        for chunk, count in list(layer["hidden"].items()):
            block = layer["map"].get(chunk, UNMAPPED)
            if count >= layer["ndev"] and block >= 0:
                _free_block(ps, block)
                layer["map"][chunk] = UNMAPPED
    lv.top = None


class Provision(NamedTuple):
    """The answer to a write of one chunk of a thin volume.

    ok: the write may proceed into pool block `block` (see `pool_block_location`).
    new: the block was just allocated (zero-fill it, or copy from `copy_from`).
    copy_from: the previously shared block whose content the chunk had (sharing was broken).
    failure: "" on success, "error" (ENOSPC now) or "queue" (the write waits: advance
    `state.clock` and call again; after `NO_SPACE_TIMEOUT` seconds it turns into "error").
    """

    block: int = UNMAPPED
    new: bool = False
    copy_from: int | None = None
    failure: str = ""

    @property
    def ok(self) -> bool:
        return not self.failure


def _find(ps: dict[str, Any], top: str, chunk: int) -> tuple[str | None, int]:
    """The layer holding chunk's visible entry and its block (UNMAPPED if none)."""
    lid: str | None = top
    while lid is not None:
        layer = _layer(ps, lid)
        block = layer["map"].get(chunk)
        if block is not None:
            return lid, block
        lid = layer["parent"]
    return None, UNMAPPED


def lookup(state: State, vg: VG, thin_lv: LV, chunk: int) -> int | None:
    """The pool block a thin chunk maps to, or None when unmapped (reads return zeroes)."""
    ps = pool_state(_pool_of(vg, thin_lv))
    _, block = _find(ps, _top(ps, thin_lv), chunk)
    return None if block < 0 else block


def metadata_usage(vg: VG, pool_lv: LV) -> tuple[int, int]:
    """(used, total) 4 KiB metadata blocks of a thin pool (lvm-semantics §4.6).

    used = reserve min(4096, M/10) + 7 fixed blocks + the metadata and data space-map bitmaps
    + the mapping-tree blocks of every thin device with a tree of its own (a snapshot shares its
    origin's tree until it is written) + the blocks an imported host's trees took beyond that
    (`host_trees`, set by lvsim import from the Meta% captured).
    """
    tmeta = vg.lvs.get(pool_lv.metadata_lv)
    total = (tmeta.le_count * vg.extent_size // META_BLOCK) if tmeta else 0
    data_blocks = pool_total_blocks(vg, pool_lv)
    used = min(4096, total // 10) + 7 + -(-total // SPACE_MAP_ENTRIES) + -(-data_blocks // SPACE_MAP_ENTRIES)
    used += max(0, pool_tree_blocks(vg, pool_lv) + int(pool_state(pool_lv).get("host_trees", 0)))
    if pool_mode(pool_lv) == "ro":
        used = total  # the kernel ran out of metadata blocks
    return min(used, total), total


def _metadata_full(state: State, vg: VG, pool: LV) -> bool:
    """Whether a new mapping-tree leaf no longer fits in the pool's metadata (it goes read-only)."""
    used, total = metadata_usage(vg, pool)
    return used + 2 > total


def _no_space(state: State, vg: VG, pool: LV, ps: dict[str, Any]) -> Provision:
    ps["mode"] = "out_of_data"
    if pool.error_when_full or ps["error_io"]:
        return Provision(failure="error")
    since = ps["queued_since"]
    if since is None:
        ps["queued_since"] = state.clock
        return Provision(failure="queue")
    if state.clock - since >= NO_SPACE_TIMEOUT:
        ps["error_io"] = True
        ps["queued_since"] = None
        return Provision(failure="error")
    return Provision(failure="queue")


def provision(state: State, vg: VG, thin_lv: LV, chunk: int) -> Provision:
    """Map a thin chunk for writing: reuse an exclusive block, or allocate one (breaking sharing)."""
    pool = vg.lvs[thin_lv.pool]
    ps = pool_state(pool)
    if ps["mode"] in ("ro", "fail"):
        return Provision(failure="error")
    layers = ps["layers"]
    top = thin_lv.top
    if top not in layers:
        top = _top(ps, thin_lv)
    lid = top
    layer = layers[lid]
    block = layer["map"].get(chunk)
    while block is None:
        lid = layer["parent"]
        if lid is None:
            block = UNMAPPED
            break
        layer = layers[lid]
        block = layer["map"].get(chunk)
    if block >= 0 and layer["ndev"] - layer["hidden"].get(chunk, 0) == 1:
        return Provision(block)
    if block < 0 and (thin_lv.mapped or 0) % LEAF_MAPPINGS == 0 and _metadata_full(state, vg, pool):
        ps["mode"] = "ro"
        return Provision(failure="error")
    if ps["free"]:
        new = ps["free"].pop()
    elif ps["hwm"] < pool_total_blocks(vg, pool):
        new = ps["hwm"]
        ps["hwm"] += 1
    else:
        return _no_space(state, vg, pool, ps)
    ps["queued_since"] = None
    top_layer = layers[top]
    if lid is not None and lid != top:
        layer["hidden"][chunk] = layer["hidden"].get(chunk, 0) + 1
        top_layer["over"][chunk] = lid
    top_layer["map"][chunk] = new
    mapped = (thin_lv.mapped or 0) + (block < 0)
    peak = thin_lv.peak
    if thin_lv.own_tree and (mapped <= peak or peak % LEAF_MAPPINGS or not peak):
        thin_lv.mapped = mapped  # the same number of tree blocks
        thin_lv.peak = max(peak, mapped)
    else:
        _set_mapping(ps, thin_lv, mapped, True)
    return Provision(new, True, block if block >= 0 else None)


def discard(state: State, vg: VG, thin_lv: LV, chunk: int) -> None:
    """Unmap one fully discarded chunk; its block is freed when no other device references it."""
    pool = _pool_of(vg, thin_lv)
    if pool.discards == "ignore":
        return
    ps = pool_state(pool)
    top = _top(ps, thin_lv)
    lid, block = _find(ps, top, chunk)
    if block < 0:
        return
    assert lid is not None
    top_layer = _layer(ps, top)
    if lid == top:
        _free_block(ps, block)
        if chunk in top_layer["over"]:
            top_layer["map"][chunk] = UNMAPPED
        else:
            del top_layer["map"][chunk]
    else:
        anc = _layer(ps, lid)
        hidden = anc["hidden"][chunk] = anc["hidden"].get(chunk, 0) + 1
        top_layer["over"][chunk] = lid
        top_layer["map"][chunk] = UNMAPPED
        if hidden >= anc["ndev"]:
            _free_block(ps, block)
            anc["map"][chunk] = UNMAPPED
    _set_mapping(ps, thin_lv, mapped_count(thin_lv) - 1, True)


def pool_block_location(state: State, vg: VG, pool_lv: LV, block: int) -> tuple[str, int]:
    """Where a pool data block lives: (name of the pool's _tdata LV, byte offset in it)."""
    return pool_lv.data_lv, block * pool_lv.chunk_size


# ---------------------------------------------------------------------------------------------
# COW snapshots


def cow_snapshots_of(vg: VG, origin_lv: LV) -> list[LV]:
    """The classic snapshots of an origin, in creation order."""
    return [lv for lv in vg.lvs.values() if lv.kind == LVKind.COW and lv.origin == origin_lv.name]


def _cow_map(lv: LV) -> dict[int, int]:
    cow: dict[int, int] = lv.exceptions
    _int_keys(cow)
    return cow


def cow_exception_count(lv: LV) -> int:
    return len(lv.exceptions)


def cow_invalid(lv: LV) -> bool:
    return lv.invalid


def _epc(lv: LV) -> int:
    return (lv.chunk_size or 4096) // 16


def cow_used_chunks(lv: LV) -> int:
    """Chunks in use in the exception store: header, metadata chunks and exceptions."""
    n = cow_exception_count(lv)
    return 1 + (n // _epc(lv) + 1) + n


def _exception_chunk(lv: LV, index: int) -> int:
    return 1 + (index // _epc(lv) + 1) + index


def cow_lookup(state: State, vg: VG, snap_lv: LV, chunk: int) -> int | None:
    """The COW-store chunk holding origin chunk `chunk`'s exception, or None (read the origin)."""
    index = _cow_map(snap_lv).get(chunk)
    return None if index is None else _exception_chunk(snap_lv, index)


def cow_exception(state: State, vg: VG, snap_lv: LV, chunk: int) -> int | None:
    """The COW-store chunk for origin chunk `chunk`, allocating an exception when it has none.

    Returns None when the snapshot is (or just became) invalid because the store is full.
    The caller copies the origin's old content there before an origin write.
    """
    if cow_invalid(snap_lv):
        return None
    cow = _cow_map(snap_lv)
    index = cow.get(chunk)
    if index is None:
        index = len(cow)
        total = snap_lv.le_count * vg.extent_size // (snap_lv.chunk_size or 4096)
        if _exception_chunk(snap_lv, index) >= total:
            snap_lv.invalid = True
            return None
        cow[chunk] = index
    return _exception_chunk(snap_lv, index)


# ---------------------------------------------------------------------------------------------
# Pools seen from the kernel


def tpool_active(vg: VG, pool: LV) -> bool:
    """Whether the pool's kernel target is up: the pool LV or any of its thin volumes is active."""
    return pool.active or any(t.active for t in thins_of(vg, pool))
