"""`lvsim capture DIR`: read a real host's LVM into a bundle (root; nothing on the host changes).

It runs LVM's own tools: `vgcfgbackup -f DIR/%s.vg` (which writes only into DIR) and the report
commands of `bundle.REPORTS` with backups and archives switched off, so that not even /etc/lvm
changes. DIR must not exist yet, or be empty.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from lvsim.host.bundle import MANIFEST, NO_BACKUP, REPORTS, Bundle

Runner = Callable[[Sequence[str]], subprocess.CompletedProcess[str]]


class CaptureError(Exception):
    """Capture is not possible here; the message says why."""


def run_tool(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LC_ALL": "C", "LVM_SUPPRESS_FD_WARNINGS": "1"}
    try:
        return subprocess.run(
            list(argv), capture_output=True, text=True, errors="surrogateescape", env=env, check=False
        )
    except OSError as exc:
        raise CaptureError(f"cannot run {argv[0]}: {exc.strerror}") from None


def _vg_names(run: Runner) -> list[str]:
    proc = run(["vgs", *NO_BACKUP, "--noheadings", "-o", "vg_name"])
    if proc.returncode != 0:
        raise CaptureError(f"vgs failed ({proc.returncode}): {proc.stderr.strip()}")
    return [line.strip() for line in proc.stdout.splitlines() if line.strip()]


def capture(directory: Path, run: Runner | None = None) -> Bundle:
    """Write a bundle of every VG into directory (created, or empty); `run` runs a tool (by default
    LVM's own, which needs root)."""
    if run is None:
        if os.geteuid() != 0:
            raise CaptureError("capture needs root: LVM's tools read the devices")
        run = run_tool
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise CaptureError(f"{directory} exists and is not an empty directory")
    names = _vg_names(run)
    if not names:
        raise CaptureError("this host has no volume groups")
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    backups = {}
    for name in names:
        path = directory / f"{name}.vg"
        proc = run(["vgcfgbackup", "-f", str(path), name])
        if proc.returncode != 0:
            raise CaptureError(f"vgcfgbackup of {name} failed ({proc.returncode}): {proc.stderr.strip()}")
        backups[name] = path.name
    runs = []
    for argv in REPORTS:
        full = [argv[0], *NO_BACKUP, *argv[1:]]
        proc = run(full)
        runs.append({"argv": list(argv), "rc": proc.returncode, "stdout": proc.stdout, "stderr": proc.stderr})
    version = run(["lvm", "version"]).stdout
    line = next((ln for ln in version.splitlines() if "LVM version" in ln), "")
    bundle = Bundle(
        directory, socket.gethostname(), int(time.time()), line.split(":", 1)[-1].strip(), backups, runs
    )
    (directory / MANIFEST).write_text(json.dumps(bundle.to_json(), indent=2) + "\n")
    return bundle
