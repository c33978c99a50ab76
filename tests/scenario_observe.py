"""What a scenario run leaves that must be equal on every backend, and each shipped scenario's run on
real LVM done once per session (the scenario and the render tests both compare against it)."""

from __future__ import annotations

import hashlib
import io
import os
import re
from pathlib import Path

from lvsim.backend import Backend
from lvsim.scenarios import Runner, load

# Not metadata_percent: once data has been written, a pool's Meta% depends on when the kernel committed
# its metadata during the run (the same scenario ended at 11.62 and at 11.23 on real LVM), so it is no
# fact to compare across runs. Golden transcripts check Meta% only where real LVM makes it deterministic.
FINAL_FIELDS = "vg_name,lv_name,lv_attr,lv_size,segtype,pool_lv,origin,data_percent,snap_percent"


def file_hashes(root: Path) -> dict[str, str]:
    """Every file under `root`, by its path relative to `root`, as a sha256 hex digest."""
    return {
        str(f.relative_to(root)): hashlib.sha256(f.read_bytes()).hexdigest()
        for f in sorted(root.rglob("*"))
        if f.is_file()
    }


def observe(path: Path, backend: Backend) -> tuple[dict[str, object], str]:
    """What must be equal on every backend: exit codes, the final report, the files left in
    mktemp directories (the backups); and the transcript."""
    out = io.StringIO()
    runner = Runner(load(path), backend, out)
    runner.run()
    dirs = {name for name, kind in runner.scenario.params.items() if kind == "dir"}
    files = {
        name: file_hashes(Path(value))
        for name, value in runner.values.items()
        if (value in runner.tempdirs or name in dirs) and os.path.isdir(value) and not os.path.ismount(value)
    }
    runner.remove_tempdirs()
    seen = {
        "failure": runner.failure,
        "rcs": re.findall(r"^\[rc=(\d+)\]$", out.getvalue(), re.M),
        "report": backend.report("lv", "-a", "-o", FINAL_FIELDS, "--units", "b"),
        "files": files,
    }
    return seen, out.getvalue()


_REAL_RUNS: dict[Path, tuple[dict[str, object], str]] = {}


def observe_on_real(path: Path, backend: Backend | None = None) -> tuple[dict[str, object], str]:
    """`observe` on real LVM once per path: on `backend`, or on a fresh RealBackend with untagged VGs
    (as in the golden transcripts)."""
    if path not in _REAL_RUNS:
        if backend is None:
            from backends.real import RealBackend

            with RealBackend(tag_vgs=False) as fresh:
                _REAL_RUNS[path] = observe(path, fresh)
        else:
            _REAL_RUNS[path] = observe(path, backend)
    return _REAL_RUNS[path]
