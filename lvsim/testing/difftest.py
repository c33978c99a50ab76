"""Differential testing: random LVM command sequences run on two backends, every output compared.

`cases()` is a hypothesis strategy of `DiffCase`s: two loop disks and 3-12 valid and invalid
commands (pvcreate, vgcreate, linear/thin/pool/snapshot lvcreate, lvextend/lvreduce/lvresize,
lvremove, dd writes, blkdiscard, text reports, and the command shapes of Proxmox, OpenStack,
libvirt and Ansible: tags, autoactivation, activation forms, clones, renames, merges, resizes, their
reports and displays) over a small pool of names, drawn against a rough model of what exists so that most
commands hit existing objects (`SHAPES["clients"]` draws the clients' shapes only); every case ends with
`FINAL_REPORTS`, the lvs/vgs/pvs state as JSON.  `run_case()` runs a case on one backend,
`compare()` diffs two runs (rc, stdout, stderr after `transcript.normalise`, time columns masked), `explore()` feeds a
seeded, bounded number of cases to a callback.  A case prints as a golden-case YAML
(`DiffCase.to_yaml`) that `python -m lvsim.testing.transcript record` records as it is, and `to_recording`
turns one backend's run into a transcript recording that `transcript.replay` checks.
"""

from __future__ import annotations

import contextlib
import re
import shlex
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st

from lvsim.testing.transcript import Mismatch, mask_time_columns, normalise

if TYPE_CHECKING:
    from lvsim.backend import Backend

MIB = 1 << 20
DISKS = (64 * MIB, 128 * MIB)
DISK_PATHS = tuple(f"/dev/loop{i}" for i in range(len(DISKS)))
VG_NAMES = ("vg", "vg2")
LV_NAMES = ("lv", "lv2", "pool", "thin", "snap")
BAD_VG_NAMES = ("-vg", "vg/x", "a" * 130)
BAD_LV_NAMES = ("snapshot", "-lv", "lv_tmeta", "pvmove0", "a.b/c", ".")
CHUNK = 64 * 1024
MAX_WRITTEN = 2 * MIB  # total dd volume per case: keeps every thin pool far from full (LVM would queue I/O)

LV_FIELDS = (
    "lv_name,vg_name,lv_attr,lv_size,segtype,seg_count,pool_lv,origin,data_percent,metadata_percent,devices"
)
VG_FIELDS = "vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free,vg_extent_size,vg_extent_count,vg_free_count"
PV_FIELDS = "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,pv_used,pv_pe_count,pv_pe_alloc_count"
FINAL_REPORTS = (
    f"lvs -a --reportformat json --units b -o {LV_FIELDS}",
    f"vgs --reportformat json --units b -o {VG_FIELDS}",
    f"pvs --reportformat json --units b -o {PV_FIELDS}",
)
_LOOP_RE = re.compile(r"/dev/loop\d+\b")


@dataclass(frozen=True)
class DiffCase:
    """Disks to make (in order /dev/loop0, /dev/loop1, ...) and the command lines to run on them."""

    disks: tuple[int, ...]
    steps: tuple[str, ...]

    def to_yaml(self, description: str = "differential test sequence") -> str:
        """The case as a golden case (tests/golden/cases format), one command line per step."""
        disks = ", ".join(f"{size // MIB}M" for size in self.disks)
        lines = [f"description: {description}", f"disks: [{disks}]", "steps:"]
        lines += [f"  - {_yaml_scalar(step)}" for step in self.steps]
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class StepResult:
    """What one step of a case gave back on one backend."""

    cmd: str
    rc: int
    stdout: str
    stderr: str


def _yaml_scalar(text: str) -> str:
    plain = re.fullmatch(r"[A-Za-z][-\w /.,=%+]*", text) and ": " not in text and " #" not in text
    return text if plain else "'" + text.replace("'", "''") + "'"


class _Model:
    """What exists, as the simulator sees it: each drawn command is run on a "sim" backend at once."""

    def __init__(self) -> None:
        from lvsim.backend import open_backend

        self.sim = open_backend("sim")
        for size in DISKS:
            self.sim.add_disk(size)
        self.vgs: list[str] = []
        self.lvs: dict[str, str] = {}  # "vg/lv" -> linear, pool, thin, cow, other
        self.active: list[str] = []  # "vg/lv" of visible active LVs
        self.written = 0

    def run(self, argv: list[str]) -> str:
        """Run a drawn command on the simulator, refresh the view, return the command line."""
        self.sim.run(argv)
        self.vgs = sorted(row["vg_name"] for row in self.sim.report("vg", "-o", "vg_name"))
        self.lvs, self.active = {}, []
        for row in self.sim.report("lv", "-o", "lv_name,vg_name,lv_attr,segtype"):
            name, attr = f"{row['vg_name']}/{row['lv_name']}", row["lv_attr"]
            kind = {"linear": "linear", "striped": "linear", "thin-pool": "pool", "thin": "thin"}
            self.lvs[name] = "cow" if attr.startswith("s") else kind.get(row["segtype"], "other")
            if attr[4] == "a" and self.lvs[name] != "pool":
                self.active.append(name)
        return shlex.join(argv)

    def lv_names(self, *kinds: str) -> list[str]:
        return sorted(name for name, kind in self.lvs.items() if not kinds or kind in kinds)


_Draw = Callable[[st.SearchStrategy[Any]], Any]


def _vg(draw: _Draw, model: _Model) -> str:
    """A VG name, usually an existing one."""
    if model.vgs and draw(st.integers(0, 4)) < 4:
        return draw(st.sampled_from(model.vgs))
    return draw(st.sampled_from(VG_NAMES))


def _lv(draw: _Draw, model: _Model, *kinds: str) -> str:
    """A vg/lv path, usually of an existing LV of one of the given kinds."""
    existing = model.lv_names(*kinds) or model.lv_names()
    if existing and draw(st.integers(0, 5)) < 5:
        return draw(st.sampled_from(existing))
    return f"{_vg(draw, model)}/{draw(st.sampled_from(LV_NAMES))}"


def _new_lv_name(draw: _Draw) -> str:
    return draw(st.sampled_from(LV_NAMES) if draw(st.integers(0, 9)) < 9 else st.sampled_from(BAD_LV_NAMES))


def _pvcreate(draw: _Draw, model: _Model) -> list[str]:
    disks = draw(st.lists(st.sampled_from(DISK_PATHS), min_size=1, max_size=2, unique=True))
    return ["pvcreate", *disks]


def _vgcreate(draw: _Draw, model: _Model) -> list[str]:
    name = draw(st.sampled_from(VG_NAMES) if draw(st.integers(0, 9)) < 9 else st.sampled_from(BAD_VG_NAMES))
    disks = draw(st.lists(st.sampled_from(DISK_PATHS), min_size=1, max_size=2, unique=True))
    extent = draw(st.sampled_from([[], [], [], ["-s", "1m"], ["-s", "8m"], ["-s", "3m"]]))
    return ["vgcreate", *extent, name, *disks]


def _lvcreate_linear(draw: _Draw, model: _Model) -> list[str]:
    vg, name = _vg(draw, model), _new_lv_name(draw)
    size = draw(
        st.sampled_from(
            [
                ["-L", "4M"],
                ["-L", "12M"],
                ["-L", "20m"],
                ["-L", "3M"],
                ["-L", "50M"],
                ["-L", "1G"],
                ["-l", "3"],
                ["-l", "10"],
                ["-l", "50%FREE"],
                ["-l", "100%FREE"],
                ["-l", "30%VG"],
                ["-l", "120%FREE"],
            ]
        )
    )
    return ["lvcreate", *size, "-n", name, vg]


def _lvcreate_pool(draw: _Draw, model: _Model) -> list[str]:
    vg, name = _vg(draw, model), _new_lv_name(draw)
    form = draw(st.integers(0, 3))
    if form == 0:
        return ["lvcreate", "-L", draw(st.sampled_from(["16M", "32M"])), "-T", f"{vg}/{name}"]
    if form == 1:
        return ["lvcreate", "-l", "80%FREE", "--thinpool", name, vg]
    if form == 2:
        return ["lvcreate", "--type", "thin-pool", "-L", "24M", "-n", name, vg]
    thin = draw(st.sampled_from(LV_NAMES))
    return ["lvcreate", "-L", "16M", "-V", "40M", "-T", f"{vg}/{name}", "-n", thin]


def _lvcreate_thin(draw: _Draw, model: _Model) -> list[str]:
    pool = _lv(draw, model, "pool")
    name = _new_lv_name(draw)
    size = draw(st.sampled_from(["8M", "20M", "100M", "1G"]))
    return ["lvcreate", "-V", size, "-T", pool, "-n", name]


def _lvcreate_snapshot(draw: _Draw, model: _Model) -> list[str]:
    """A thin snapshot (-s of a thin volume, no size) or a COW snapshot (-s -L of a linear LV)."""
    name = _new_lv_name(draw)
    if draw(st.booleans()):
        origin = _lv(draw, model, "thin")
        return ["lvcreate", "-s", origin, "-n", name]
    origin = _lv(draw, model, "linear")
    size = draw(st.sampled_from(["4M", "8M", "12M"]))
    return ["lvcreate", "-s", "-L", size, "-n", name, origin]


def _resize(draw: _Draw, model: _Model) -> list[str]:
    lv = _lv(draw, model)
    command = draw(st.sampled_from(["lvextend", "lvreduce", "lvresize"]))
    force = ["-f"] if command != "lvextend" and draw(st.integers(0, 4)) < 4 else []
    size = draw(
        st.sampled_from(
            {
                "lvextend": [["-L", "+8M"], ["-l", "+2"], ["-L", "40M"], ["-l", "+50%FREE"], ["-L", "+1G"]],
                "lvreduce": [["-L", "-4M"], ["-l", "1"], ["-L", "8M"], ["-l", "-50%LV"]],
                "lvresize": [["-L", "24M"], ["-L", "-4M"], ["-l", "+3"], ["-l", "100%VG"]],
            }[command]
        )
    )
    return [command, *force, *size, lv]


def _lvremove(draw: _Draw, model: _Model) -> list[str]:
    if draw(st.integers(0, 5)) < 5:
        return ["lvremove", "-f", _lv(draw, model)]
    return ["lvremove", "-f", _vg(draw, model)]


def _device(draw: _Draw, model: _Model) -> str:
    """/dev/VG/LV of an active LV (never a missing LV in an existing VG: dd would create a regular
    file there in real LVM's devtmpfs)."""
    return "/dev/" + draw(st.sampled_from(model.active))


def _dd(draw: _Draw, model: _Model) -> list[str]:
    device = _device(draw, model)
    count = draw(st.sampled_from([1, 2, 4]))
    seek = draw(st.sampled_from([0, 1, 7, 64, 150, 320, 2000]))
    model.written += count * CHUNK
    return [
        "dd",
        "if=/dev/zero",
        f"of={device}",
        "bs=64k",
        f"count={count}",
        f"seek={seek}",
        "oflag=direct",
        "conv=notrunc",
        "status=none",
    ]


def _blkdiscard(draw: _Draw, model: _Model) -> list[str]:
    device = _device(draw, model)
    offset = draw(st.sampled_from([0, CHUNK, 3 * CHUNK, 4096, 100 * CHUNK]))
    length = draw(st.sampled_from([CHUNK, 4 * CHUNK, 4096, 2 * MIB]))
    return ["blkdiscard", "-o", str(offset), "-l", str(length), device]


def _report(draw: _Draw, model: _Model) -> list[str]:
    return draw(
        st.sampled_from(
            [
                ["lvs", "-a", "-o", LV_FIELDS],
                ["lvs"],
                ["vgs", "-o", VG_FIELDS],
                ["vgs"],
                ["pvs", "-o", PV_FIELDS],
                ["pvs"],
            ]
        )
    )


# The command shapes of well-known LVM clients: Proxmox VE's pve-storage, OpenStack's
# os-brick, libvirt's logical pool backend and Ansible's lvg/lvol modules.
CLIENT_TAGS = ("pve-vm-100", "pve-vm-101", "app")


def _client_create(draw: _Draw, model: _Model) -> list[str]:
    vg, name = _vg(draw, model), _new_lv_name(draw)
    form = draw(st.integers(0, 4))
    if form == 0:  # Proxmox LVMPlugin alloc_image
        tag = draw(st.sampled_from(CLIENT_TAGS))
        return ["lvcreate", "-aly", "-Wy", "--yes", "--size", "8192k", "--name", name,
                "--setautoactivation", "n", "--addtag", tag, vg]  # fmt: skip
    if form == 1:  # libvirt virStorageBackendLogicalLVCreate
        return [
            "lvcreate",
            "--name",
            name,
            "-L",
            draw(st.sampled_from(["4096K", "12288K", "1025K"])),
            vg,
            "--yes",
        ]
    if form == 2:  # Ansible lvol
        return ["lvcreate", "--yes", "-n", name, "-L", draw(st.sampled_from(["8m", "16m"])), vg]
    if form == 3:  # os-brick create_volume (thin)
        return [
            "lvcreate",
            "-T",
            "-V",
            draw(st.sampled_from(["8m", "1g"])),
            "-n",
            name,
            _lv(draw, model, "pool"),
        ]
    return ["lvcreate", "-aly", "-V", "16384k", "--name", name, "--thinpool", _lv(draw, model, "pool")]


def _client_snapshot(draw: _Draw, model: _Model) -> list[str]:
    name, origin = _new_lv_name(draw), _lv(draw, model, "thin")
    if draw(st.booleans()):  # Proxmox LvmThinPlugin volume_snapshot
        return ["lvcreate", "-n", name, "-pr", "-s", origin]
    return ["lvcreate", "--name", name, "-k", "y", "--snapshot", origin]  # os-brick create_lv_snapshot


def _client_change(draw: _Draw, model: _Model) -> list[str]:
    lv = _lv(draw, model)
    form = draw(st.integers(0, 6))
    if form == 0:
        old, new = draw(st.lists(st.sampled_from(CLIENT_TAGS), min_size=2, max_size=2, unique=True))
        return ["lvchange", "--addtag", new, "--deltag", old, lv]
    if form == 1:
        return ["lvchange", "--setautoactivation", draw(st.sampled_from(["y", "n"])), lv]
    if form == 2:
        return ["lvchange", "-ay", "-K", lv]
    if form == 3:
        return ["lvchange", "-a", "y", "--yes", "-K", lv]
    if form == 4:
        return ["lvchange", draw(st.sampled_from(["-aln", "-aly", "-aey"])), "/dev/" + lv]
    if form == 5:
        return ["vgchange", draw(st.sampled_from(["-aln", "-aly"])), _vg(draw, model)]
    return ["vgchange", draw(st.sampled_from(["--addtag", "--deltag"])), draw(st.sampled_from(CLIENT_TAGS)),
            _vg(draw, model)]  # fmt: skip


def _client_report(draw: _Draw, model: _Model) -> list[str]:
    vg = _vg(draw, model)
    return draw(
        st.sampled_from(
            [
                ["lvs", "--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix",
                 "--options", "vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,"
                 "uuid,tags,metadata_size", vg],
                ["vgs", "--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix",
                 "--options", "vg_name,vg_size,vg_free,lv_count"],
                ["lvs", "--separator", "#", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix", "--options",
                 "lv_name,origin,uuid,devices,segtype,stripes,seg_size,vg_extent_size,size,lv_attr", vg],
                ["lvs", "--noheadings", "--unit=g", "-o", "vg_name,name,size", "--nosuffix", "--readonly", vg],
                ["lvdisplay", "--noheading", "-C", "-o", "Attr", "--readonly", _lv(draw, model)],
                ["vgs", "--noheadings", "-o", "lv_attr,autoactivation", "--separator", ";", vg],
                ["lvs", "-o", "+tags", "@" + draw(st.sampled_from(CLIENT_TAGS))],
                ["lvs", "-a", "--noheadings", "--nosuffix", "-o", "lv_name,size,lv_attr", "--units", "m",
                 "--separator", ";", vg],
            ]
        )
    )  # fmt: skip


PROXMOX_LVS = "vg_name,lv_name,lv_size,lv_attr,pool_lv,data_percent,metadata_percent,snap_percent,uuid,tags,metadata_size,time"
OS_BRICK_CONFIG = "activation { retry_deactivation = 1} "


def _client_lifecycle(draw: _Draw, model: _Model) -> list[str]:
    """What the clients do to existing objects: Proxmox's template, clone, rename and free; os-brick's
    merge and removal; Ansible's resizes, PV moves and VG rename; libvirt's sparse volumes."""
    lv, vg, name = _lv(draw, model), _vg(draw, model), _new_lv_name(draw)
    disk = draw(st.sampled_from(DISK_PATHS))
    forms: list[list[str]] = [
        ["lvchange", "-pr", "-ky", lv],  # Proxmox create_base
        ["lvcreate", "-n", name, "-prw", "-kn", "-s", _lv(draw, model, "thin")],  # Proxmox clone_image
        [
            "lvcreate",
            "-kn",
            "-n",
            name,
            "-s",
            _lv(draw, model, "thin", "cow"),
        ],  # Proxmox volume_snapshot_rollback
        ["lvrename", vg, draw(st.sampled_from(LV_NAMES)), name],  # Proxmox rename_volume, free_image
        ["lvchange", "--refresh", "/dev/" + lv],
        ["lvchange", "-an", lv],
        ["lvchange", "-a", "n", lv],
        ["lvremove", "--config", OS_BRICK_CONFIG, "-f", lv],  # os-brick delete
        ["lvremove", "--force", lv],
        ["lvremove", "-f", "@" + draw(st.sampled_from(CLIENT_TAGS))],
        ["lvconvert", "--merge", _lv(draw, model, "cow", "thin")],  # os-brick revert_snapshot
        ["lvcreate", "--name", name, "-k", "y", "--snapshot", _lv(draw, model, "linear"), "-L", "8.00m"],
        [
            "lvcreate",
            "--name",
            name,
            "-L",
            "8192K",
            "--type",
            "snapshot",
            "--virtualsize",
            "40960K",
            vg,
            "--yes",
        ],
        ["lvcreate", "--type", "thin-pool", "-L40960K", "--poolmetadatasize", "4096K", "-n", name, vg],
        ["lvcreate", "--yes", "-l", "10%FREE", "-T", f"{vg}/{name}"],
        ["lvcreate", "--yes", "-n", name, "-L", "8m", vg, disk],
        ["lvcreate", "-l", "3", "-n", name, vg, "@" + draw(st.sampled_from(CLIENT_TAGS))],
        ["lvextend", "-L", draw(st.sampled_from(["24576k", "+8m", "32m"])), "/dev/" + lv],
        ["lvextend", "-l", draw(st.sampled_from(["+10%VG", "+50%FREE", "20%VG"])), lv],
        ["lvextend", lv, disk],
        ["lvreduce", "--force", "-l", draw(st.sampled_from(["10%VG", "-10%LV"])), lv],
        ["lvreduce", "--force", "-L", "8m", lv],
        ["vgextend", vg, disk],
        ["vgreduce", "--force", vg, disk],
        ["vgrename", vg, draw(st.sampled_from(VG_NAMES))],
        ["vgchange", "--setautoactivation", draw(st.sampled_from(["y", "n"])), vg],
        ["vgchange", "--activate", draw(st.sampled_from(["y", "n"])), vg],
        ["vgcreate", "-s", "4", "--setautoactivation", "y", draw(st.sampled_from(VG_NAMES)), disk],
        [
            "pvchange",
            draw(st.sampled_from(["--addtag", "--deltag"])),
            draw(st.sampled_from(CLIENT_TAGS)),
            disk,
        ],
        ["pvcreate", "--metadatasize", "250k", disk],
        ["pvcreate", "-f", disk],
    ]
    return draw(st.sampled_from(forms))


def _client_query(draw: _Draw, model: _Model) -> list[str]:
    """The clients' read-only questions, in their exact spellings."""
    vg, lv, disk = _vg(draw, model), _lv(draw, model), draw(st.sampled_from(DISK_PATHS))
    tag = "@" + draw(st.sampled_from(CLIENT_TAGS))
    forms: list[list[str]] = [
        ["lvs", "--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix",
         "--config", 'report/time_format="%s"', "--options", PROXMOX_LVS],
        ["lvs", "--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix",
         "--options", "lv_size", "/dev/" + lv],
        ["vgs", "--separator", ":", "--noheadings", "--units", "b", "--unbuffered", "--nosuffix",
         "--options", "vg_name,vg_size,vg_free,lv_count,pv_name,pv_size,pv_free"],
        ["pvs", "--separator", ":", "--noheadings", "--units", "k", "--unbuffered", "--nosuffix",
         "--options", "pv_name,pv_size,vg_name,pv_uuid", disk],
        ["lvs", "-S", "lv_name=~^l", "-o", "devices,lv_name,lv_tags", "--noheadings", "--readonly", "--separator", ";"],
        ["lvchange", "-aey", "--select", f'vg_name = "{vg}" && lv_name =~ \'^(lv|snap).*$\''],
        ["vgs", "--noheadings", "--unit=g", "-o", "name,size,free,lv_count,uuid", "--separator", ":", "--nosuffix",
         "--readonly"],
        ["lvs", "--noheadings", "--unit=g", "-o", "size,data_percent", "--separator", ":", "--nosuffix",
         "--readonly", _lv(draw, model, "pool")],
        ["pvs", "--noheadings", "--unit=g", "-o", "vg_name,name,size,free", "--separator", "|", "--nosuffix"],
        ["lvdisplay", "--noheading", "-C", "-o", "Attr", lv],
        ["lvs", "-o", "lv_name,lv_attr,origin", vg],
        ["vgs", "--noheadings", "--nosuffix", "-o", "vg_name,size,free,vg_extent_size", "--units", "m",
         "--separator", ";", vg],
        ["pvs", "--noheadings", "-o", "pv_name,vg_name", "--separator", ";", "--select",
         f"pv_name = {disk} || vg_name = {vg}"],
        ["pvdisplay", disk, "--units", "b", "--columns", "--noheadings", "--nosuffix", "--separator", ";",
         "-o", "dev_size,pv_size,pe_start,vg_extent_size"],
        ["vgs", "--noheadings", "--separator", ";", "-o", "vg_name,vg_uuid"],
        ["vgs", "--noheadings", "-o", "vg_name,vg_autoactivation,lv_count", "--separator", ";"],
        ["lvs", "-a", "-o", "lv_name,lv_attr,origin,lv_size,seg_size,devices", vg],
        ["vgs", "-o", "+tags", tag],
        ["pvs", "-o", "+tags"],
        ["lvs", "-o", "lv_name,lv_time,lv_tags,lv_uuid,lv_autoactivation", vg],
        ["lvdisplay", vg],
        ["lvdisplay", "-m", lv],
        ["vgdisplay", vg],
        ["vgdisplay", "-s"],
        ["pvdisplay", disk],
        ["lvscan"],
        ["vgscan"],
        ["pvscan"],
        ["vgscan", "--ignorelockingfailure", "--mknodes"],
        ["lvm", "version"],
    ]  # fmt: skip
    return draw(st.sampled_from(forms))


_COMMANDS: tuple[tuple[int, Callable[[_Draw, _Model], list[str]]], ...] = (
    (4, _lvcreate_linear),  # first: hypothesis's simplest sequence repeats it
    (1, _pvcreate),
    (2, _vgcreate),
    (3, _lvcreate_pool),
    (3, _lvcreate_thin),
    (3, _lvcreate_snapshot),
    (4, _resize),
    (2, _lvremove),
    (3, _dd),
    (2, _blkdiscard),
    (1, _report),
    (2, _client_create),
    (1, _client_snapshot),
    (2, _client_change),
    (1, _client_report),
    (2, _client_lifecycle),
    (2, _client_query),
)
# Only the clients' shapes, with the pools, thin volumes and writes they work on.
_CLIENT_COMMANDS: tuple[tuple[int, Callable[[_Draw, _Model], list[str]]], ...] = (
    (3, _client_create),  # first: hypothesis's simplest sequence repeats it
    (2, _lvcreate_pool),
    (2, _client_snapshot),
    (3, _client_change),
    (2, _client_report),
    (5, _client_lifecycle),
    (4, _client_query),
    (1, _dd),
)
SHAPES = {
    name: tuple(gen for weight, gen in commands for _ in range(weight))
    for name, commands in (("all", _COMMANDS), ("clients", _CLIENT_COMMANDS))
}


@st.composite
def cases(draw: _Draw, min_steps: int = 3, max_steps: int = 12, shapes: str = "all") -> DiffCase:
    """A random DiffCase: usually a VG first, then commands of `SHAPES[shapes]` biased towards existing
    objects."""
    model = _Model()
    steps: list[str] = []
    if draw(st.integers(0, 7)) < 7:
        steps.append(model.run(_vgcreate(draw, model)))
    length = draw(st.integers(min_steps, max_steps))
    while len(steps) < length:
        gen = draw(st.sampled_from(SHAPES[shapes]))
        if (gen in (_dd, _blkdiscard) and not model.active) or (gen is _dd and model.written >= MAX_WRITTEN):
            continue
        steps.append(model.run(gen(draw, model)))
    return DiffCase(DISKS, (*steps, *FINAL_REPORTS))


def run_case(case: DiffCase, backend: Backend) -> list[StepResult]:
    """Run a case on a fresh backend.  Other loop names than the case's are mapped both ways."""
    actual = [backend.add_disk(size) for size in case.disks]
    to_backend = dict(zip(DISK_PATHS, actual, strict=False))
    to_case = {v: k for k, v in to_backend.items()}
    results = []
    for cmd in case.steps:
        argv = [_LOOP_RE.sub(lambda m: to_backend.get(m[0], m[0]), arg) for arg in shlex.split(cmd)]
        result = backend.run(argv)

        def back(text: str) -> str:
            return _LOOP_RE.sub(lambda m: to_case.get(m[0], m[0]), text)

        results.append(StepResult(cmd, result.rc, back(result.stdout), back(result.stderr)))
    return results


def compare(expected: Sequence[StepResult], actual: Sequence[StepResult]) -> list[Mismatch]:
    """Every difference in rc, stdout and stderr (normalised) between two runs of the same case."""
    mismatches = []
    for index, (want, got) in enumerate(zip(expected, actual, strict=True)):
        if want.rc != got.rc:
            mismatches.append(Mismatch(index, want.cmd, "rc", str(want.rc), str(got.rc)))
        argv = shlex.split(want.cmd)
        for name in ("stdout", "stderr"):
            a = normalise(mask_time_columns(getattr(want, name), argv))
            b = normalise(mask_time_columns(getattr(got, name), argv))
            if a != b:
                mismatches.append(Mismatch(index, want.cmd, name, a, b))
    return mismatches


def to_recording(
    name: str, description: str, case: DiffCase, results: Sequence[StepResult], lvm_version: str
) -> dict[str, Any]:
    """A transcript recording (the tests/golden/recorded format) of one backend's run of a case."""
    steps = [{"cmd": r.cmd, "stdin": "", "rc": r.rc, "stdout": r.stdout, "stderr": r.stderr} for r in results]
    return {
        "name": name,
        "description": description,
        "disks": list(case.disks),
        "lvm_version": lvm_version,
        "steps": steps,
    }


class StopExploring(Exception):
    """Raised by an `explore` callback to end the run early (e.g. out of time); not an error."""


def explore(
    examples: int, callback: Callable[[DiffCase], None], seed_value: int = 0, shapes: str = "all"
) -> None:
    """Call `callback` once per distinct case of `SHAPES[shapes]` among `examples` drawn deterministically
    from `seed_value` (no shrinking: a real-LVM run of one case takes half a minute) until it raises
    StopExploring."""
    seen: set[DiffCase] = set()
    stopped = False

    @settings(
        max_examples=examples,
        database=None,
        deadline=None,
        phases=(Phase.generate,),
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @seed(seed_value)
    @given(cases(shapes=shapes))
    def _each(case: DiffCase) -> None:
        nonlocal stopped
        if stopped:  # hypothesis replays the "failing" case once: stop again
            raise StopExploring
        if case in seen:
            return
        seen.add(case)
        try:
            callback(case)
        except StopExploring:
            stopped = True
            raise

    with contextlib.suppress(StopExploring):
        _each()
