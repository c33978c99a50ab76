"""The state model: block devices, PVs, VGs and LVs, as plain dataclasses.

One `State` holds everything the simulator knows.  It is serialised to JSON by
`lvsim.core.store` and changed only by the command emulators in `lvsim.commands`.
Sizes are in bytes, extent counts in extents; an LV's data lives in
`lvsim.core.content` objects referenced by id, so the model stays small.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from enum import StrEnum
from typing import Any

SECTOR = 512
KiB = 1024
MiB = 1024 * KiB
GiB = 1024 * MiB
TiB = 1024 * GiB

PE_START = 1 * MiB  # default data alignment: first PE at 1 MiB
MDA_START = 4 * KiB
PV_MIN_SIZE = 2 * MiB
DEFAULT_EXTENT_SIZE = 4 * MiB
UNKNOWN_DEVICE = "[unknown]"  # LVM's name for the device of a PV it cannot find


def missing_key(uuid: str) -> str:
    """The key of a missing PV (its label wiped) in State.pvs, a VG's pvs and its segments: its device
    no longer names it (the device may be labelled anew), so it goes by its uuid."""
    return f"{UNKNOWN_DEVICE}/{uuid}"


def shown_device(key: str) -> str:
    """A PV's device as LVM prints it: [unknown] for a missing PV."""
    return UNKNOWN_DEVICE if key.startswith(UNKNOWN_DEVICE + "/") else key


@dataclass
class Disk:
    """A simulated block device: a loop device or a disk such as /dev/vdb."""

    path: str
    size: int
    backing_file: str | None = None  # for loop devices: the file attached with losetup
    data: str | None = None  # id of the device's data store (lvsim.core.content), created on first write


@dataclass
class PV:
    """A physical volume label on a disk."""

    device: str
    uuid: str
    vg: str | None = None
    pe_start: int = PE_START
    mda_size: int = PE_START - MDA_START
    mda_count: int = 1
    pe_count: int = 0  # set when the PV joins a VG
    allocatable: bool = True
    size: int = 0  # the size the PV was made with (metadata's dev_size); 0: its device's
    device_id_type: str = ""  # the devices file's id of the PV's device, as its metadata names it
    device_id: str = ""
    tags: list[str] = field(default_factory=list)
    # A missing PV (its device's label wiped while its VG still lists it): the device its VG's metadata
    # last named ("last written to", [unknown] once the VG was written without it); "" for a PV found.
    missing_hint: str = ""

    @property
    def missing(self) -> bool:
        return bool(self.missing_hint)


@dataclass
class Segment:
    """A run of logical extents mapped onto one PV (a linear area)."""

    le_start: int
    extents: int
    pv: str
    pe_start: int


class LVKind(StrEnum):
    """What an LV is; the value is the word the state file saves."""

    LINEAR = "linear"
    THIN_POOL = "thin-pool"
    THIN = "thin"
    COW = "cow"  # a classic snapshot's exception store; its origin names the origin LV
    ZERO = "zero"  # the hidden virtual origin of a sparse COW snapshot (--virtualsize): reads as zeros


@dataclass
class LV:
    """A logical volume of any kind (LVKind).

    Hidden sub-LVs (_tdata, _tmeta, _pmspare) are ordinary linear LVs with visible=False.
    """

    name: str
    uuid: str
    kind: LVKind = LVKind.LINEAR
    segments: list[Segment] = field(default_factory=list)
    visible: bool = True
    active: bool = True
    open_count: int = 0
    writable: bool = True
    alloc: str = "inherit"
    skip_activation: bool = False
    creation_time: int = 0
    creation_host: str = ""
    role: str = ""  # "", "tdata", "tmeta", "pmspare"
    parent: str = ""  # owning pool for _tdata/_tmeta
    # thin pool
    data_lv: str = ""
    metadata_lv: str = ""
    chunk_size: int = 0
    zero: bool = True
    discards: str = "passdown"
    error_when_full: bool = False
    transaction_id: int = 0
    # thin volume
    pool: str = ""
    thin_id: int = 0
    virtual_extents: int = 0
    # thin volume or cow snapshot
    origin: str = ""
    # cow snapshot: LVM's internal "snapshotN" LV that ties the store to its origin
    snapshot_name: str = ""
    snapshot_uuid: str = ""
    snapshot_time: int = 0  # snapshotN's creation_time (0: the store's)
    snapshot_after: str = ""  # the LV that precedes snapshotN in LVM's list ("": this store, as created)
    tags: list[str] = field(default_factory=list)
    # the LV's data store id (lvsim.core.content); for a cow snapshot its exception store
    data: str | None = None
    # policies lvcreate and lvchange set
    autoactivation: bool = True  # --setautoactivation (NOAUTOACTIVATE in the metadata when False)
    read_ahead: int | str = "auto"  # --readahead: "auto" or sectors (none: 0)
    merging: bool = False  # lvconvert --merge waits for the origin's next activation
    # the kernel's records (lvsim.core.mapping): a thin pool's mapping layers and block allocator,
    # made on first use
    thin_map: dict[str, Any] | None = None
    # a thin volume's top mapping layer, its chunks mapped now (None: not counted yet), the most it
    # ever had, and whether its mapping tree is its own (a new snapshot shares its origin's)
    top: str | None = None
    mapped: int | None = None
    peak: int = 0
    own_tree: bool = True
    # a cow snapshot's exceptions (origin chunk -> exception index) and whether it overflowed
    exceptions: dict[int, int] = field(default_factory=dict)
    invalid: bool = False

    @property
    def le_count(self) -> int:
        if self.kind in (LVKind.THIN, LVKind.THIN_POOL, LVKind.ZERO):
            return self.virtual_extents  # a pool's size is its _tdata's
        return sum(s.extents for s in self.segments)


@dataclass
class VG:
    """A volume group: its PVs in the order they were added, and its LVs."""

    name: str
    uuid: str
    extent_size: int = DEFAULT_EXTENT_SIZE
    pvs: list[str] = field(default_factory=list)
    lvs: dict[str, LV] = field(default_factory=dict)
    seqno: int = 1
    alloc: str = "normal"
    resizeable: bool = True
    writable: bool = True
    tags: list[str] = field(default_factory=list)
    autoactivation: bool = True  # --setautoactivation (vgcreate, vgchange)
    max_lv: int = 0
    max_pv: int = 0
    metadata_copies: int = 0  # vgchange --vgmetadatacopies; 0: unmanaged
    # The metadata text in the PVs' metadata areas: its description as the last command wrote it
    # ("Write from CMD."), or its size when another host wrote it (0: unknown, computed).
    metadata_description: str = ""
    metadata_size: int = 0


@dataclass
class MetadataFile:
    """A file of the simulated LVM system directory: a VG's backup or one of its archives."""

    vg: str
    vg_uuid: str
    seqno: int
    description: str  # the header's fields: why, when and on which host it was written
    time: int
    host: str
    body: str = ""  # the VG section, zlib-compressed and base64-encoded; "" when not kept


@dataclass
class State:
    """Everything the simulator knows, saved between commands."""

    disks: dict[str, Disk] = field(default_factory=dict)
    pvs: dict[str, PV] = field(default_factory=dict)
    vgs: dict[str, VG] = field(default_factory=dict)
    clock: float = 1_800_000_000.0  # simulated seconds since the epoch
    host: str = "lvsim"
    counter: int = 0  # feeds deterministic uuids
    lvm_files: dict[str, MetadataFile] = field(default_factory=dict)  # by path (lvsim.lvm.metadata.files)
    lvm_conf: str | None = None  # the simulated /etc/lvm/lvm.conf (None: LVM's compiled-in settings)
    # the kernel and the tools around LVM, each record made by its module on first use:
    dm: dict[str, Any] | None = None  # device-mapper bookkeeping (lvsim.core.devmap)
    mounts: list[dict[str, Any]] = field(default_factory=list)  # lvsim.core.fsimage
    dmeventd: dict[str, Any] | None = None  # the daemon's record (lvsim.lvm.dmeventd)
    workloads: list[dict[str, Any]] = field(default_factory=list)  # lvsim.tools.workload
    faults: list[dict[str, Any]] = field(default_factory=list)  # injected failures (lvsim.testing.faults)
    data: dict[str, Any] | None = None  # the disks' and LVs' contents (lvsim.core.content), saved form

    def to_json(self) -> dict[str, Any]:
        return _plain(self)  # dataclasses.asdict, minus its deep copies (the shim path's hot spot)

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> State:
        vgs = {}
        for name, v in raw.get("vgs", {}).items():
            lvs = {n: _lv_from_json(lv) for n, lv in v["lvs"].items()}
            vgs[name] = VG(**{**v, "lvs": lvs})
        return cls(
            disks={p: Disk(**d) for p, d in raw.get("disks", {}).items()},
            pvs={p: PV(**d) for p, d in raw.get("pvs", {}).items()},
            vgs=vgs,
            clock=raw.get("clock", 1_800_000_000.0),
            host=raw.get("host", "lvsim"),
            counter=raw.get("counter", 0),
            lvm_files={p: MetadataFile(**f) for p, f in raw.get("lvm_files", {}).items()},
            **{key: raw[key] for key in _STATE_RECORDS if key in raw},
            **{key: value for key, value in raw.get("extra", {}).items() if key in _STATE_RECORDS},
        )

    def new_uuid(self) -> str:
        """An LVM-shaped uuid (6-4-4-4-4-4-6 characters), deterministic per state."""
        import hashlib

        self.counter += 1
        alphabet = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ!#"
        digest = hashlib.sha256(f"lvsim-{self.counter}".encode()).digest()
        chars = "".join(alphabet[b % 62] for b in digest[:32])
        parts, pos = [], 0
        for n in (6, 4, 4, 4, 4, 4, 6):
            parts.append(chars[pos : pos + n])
            pos += n
        return "-".join(parts)


# The State fields that state files of earlier lvsims kept in an `extra` dict, under their names
_STATE_RECORDS = ("lvm_conf", "dm", "mounts", "dmeventd", "workloads", "faults", "data")

# The LV fields that state files of earlier lvsims kept in an LV's `extra` dict, by their key there
# (nothing else was ever written in it)
_LV_EXTRA_KEYS = {
    "autoactivation": "autoactivation",
    "read_ahead": "read_ahead",
    "merging": "merging",
    "thin": "thin_map",
    "top": "top",
    "mapped": "mapped",
    "peak": "peak",
    "own_tree": "own_tree",
    "cow": "exceptions",
    "invalid": "invalid",
}
RUNTIME_FIELDS = tuple(_LV_EXTRA_KEYS.values())


def _lv_from_json(raw: dict[str, Any]) -> LV:
    values = {k: v for k, v in raw.items() if k != "extra"}
    for key, value in raw.get("extra", {}).items():
        if key in _LV_EXTRA_KEYS:
            values[_LV_EXTRA_KEYS[key]] = value
    values["kind"] = LVKind(values.get("kind", LVKind.LINEAR))
    values["segments"] = [Segment(**s) for s in values["segments"]]
    return LV(**values)


def reset_runtime(lv: LV) -> None:
    """Forget an LV's RUNTIME_FIELDS: its autoactivation, read-ahead and merge policies and the
    kernel's mapping records go back to a new LV's."""
    for f in fields(LV):
        if f.name in RUNTIME_FIELDS:
            setattr(lv, f.name, f.default_factory() if f.default_factory is not MISSING else f.default)


_ATOMS = (str, int, float, bool, type(None))


def _plain(value: Any) -> Any:
    """JSON-ready copy: dataclasses become dicts (fields in order), containers are rebuilt."""
    if isinstance(value, _ATOMS):
        return value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return {name: _plain(getattr(value, name)) for name in value.__dataclass_fields__}
    return value
