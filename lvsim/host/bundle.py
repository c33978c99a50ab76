"""A capture bundle: what `lvsim capture` read from a real host, for `lvsim import`.

A directory holding each VG's metadata as `vgcfgbackup -f DIR/%s.vg` wrote it, and capture.json:

    {"format": 1, "host": ..., "time": ..., "lvm_version": ..., "backups": {"VG": "VG.vg", ...},
     "runs": [{"argv": [...], "rc": 0, "stdout": ..., "stderr": ...}, ...]}

`runs` are the report commands (`REPORTS`), as the host answered them: JSON reports in bytes that
`lvsim import` replays (device sizes, activation, Data%, Meta%, Snap%), and the plain `lvs -a`,
`vgs` and `pvs` (with and without more fields) to compare the simulated host's with.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

MANIFEST = "capture.json"
FORMAT = 1
# Keep LVM from updating /etc/lvm/backup and archive while it reports (vgs checks the backup).
NO_BACKUP = ["--config", "backup { backup = 0 archive = 0 }"]
_JSON = ["--reportformat", "json", "--units", "b", "--nosuffix"]
LV_FIELDS = "vg_name,lv_name,lv_uuid,lv_attr,lv_active,lv_size,data_percent,metadata_percent,snap_percent"
VG_FIELDS = "vg_name,vg_uuid,vg_seqno,vg_mda_free,vg_mda_size,vg_mda_count"
PV_FIELDS = "pv_name,pv_uuid,vg_name,dev_size,pv_mda_size,pv_mda_count,pe_start"
REPORTS: tuple[tuple[str, ...], ...] = (
    ("lvs", "-a", *_JSON, "-o", LV_FIELDS),
    ("vgs", *_JSON, "-o", VG_FIELDS),
    ("pvs", *_JSON, "-o", PV_FIELDS),
    ("lvs", "-a"),
    ("vgs",),
    ("pvs",),
    (
        "lvs",
        "-a",
        "-o",
        "+devices,lv_tags,lv_uuid,lv_time,lv_host,thin_id,transaction_id,chunk_size,snap_percent",
    ),
    ("vgs", "-o", "+vg_uuid,vg_tags,vg_seqno,vg_extent_size,vg_mda_free,vg_mda_size,vg_allocation_policy"),
    ("pvs", "-o", "+pv_uuid,pv_tags,pe_start,dev_size,pv_mda_free,pv_mda_size,pv_pe_count,pv_pe_alloc_count"),
)


class BundleError(Exception):
    """A directory that is not a usable capture bundle; the message says why."""


@dataclass
class Bundle:
    directory: Path
    host: str
    time: int
    lvm_version: str
    backups: dict[str, str]  # VG name -> file name in the directory
    runs: list[dict[str, Any]]

    def rows(self, kind: str) -> list[dict[str, str]]:
        """The rows of the JSON `lvs`/`vgs`/`pvs` report (kind lv, vg or pv) the host gave."""
        for run in self.runs:
            argv = run["argv"]
            if argv[0] == f"{kind}s" and "json" in argv and run["rc"] == 0:
                try:
                    return list(json.loads(run["stdout"])["report"][0][kind])
                except (ValueError, KeyError, IndexError, TypeError):
                    raise BundleError(
                        f"{self.directory / MANIFEST}: the {kind}s report is not LVM's JSON"
                    ) from None
        return []

    def to_json(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "host": self.host,
            "time": self.time,
            "lvm_version": self.lvm_version,
            "backups": self.backups,
            "runs": self.runs,
        }


def is_bundle(path: Path) -> bool:
    return path.is_dir() and (path / MANIFEST).is_file()


def load(directory: Path) -> Bundle:
    manifest = directory / MANIFEST
    try:
        raw = json.loads(manifest.read_text())
    except OSError as exc:
        raise BundleError(f"cannot read {manifest}: {exc.strerror}") from None
    except ValueError as exc:
        raise BundleError(f"{manifest} is not JSON: {exc}") from None
    if not isinstance(raw, dict) or raw.get("format") != FORMAT:
        raise BundleError(f"{manifest}: not a capture bundle of format {FORMAT}")
    try:
        bundle = Bundle(
            directory,
            str(raw["host"]),
            int(raw["time"]),
            str(raw["lvm_version"]),
            {str(k): str(v) for k, v in dict(raw["backups"]).items()},
            [dict(r) for r in raw["runs"]],
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise BundleError(f"{manifest}: missing or bad entry ({exc})") from None
    for run in bundle.runs:
        if not isinstance(run.get("argv"), list) or not isinstance(run.get("stdout"), str):
            raise BundleError(f"{manifest}: a run without argv or stdout")
    return bundle
