"""Golden transcripts: command sequences recorded from real LVM, replayed against any backend.

A *case* (tests/golden/cases/NAME.yaml) says what to run::

    description: what it covers
    disks: [300M, 100M]            # created in order: /dev/loop0, /dev/loop1, ...
    steps:
      - pvcreate /dev/loop0        # split with shlex
      - {cmd: "vgremove vg", stdin: "n\\n"}
      - {wait: 12}                 # no command: 12 s pass (real time, or the simulated clock)
      - {mkdir: mnt}               # no command: a directory in the case's scratch directory (a mount point)
    lvm_conf: |                    # optional: lvm.conf settings for every step (Backend.set_lvm_conf)
      activation { thin_pool_autoextend_threshold = 70 }
    dmeventd: true                 # optional: on real LVM, restart dmeventd from the backend's env

A *recording* (tests/golden/recorded/NAME.json) is what real LVM answered::

    {"name", "description", "disks": [bytes, ...], "lvm_version",
     "steps": [{"cmd", "stdin", "rc", "stdout", "stderr"}, ...]}

`replay(recording, backend)` runs the same steps on a backend and returns the mismatches after
`normalise()`, which masks only what differs from run to run: LVM uuids, lv_time-like timestamps,
host names, dd's elapsed time and rate, and the scratch directory's random name (in a mount point's
path); in a report printed with --separator, `mask_time_columns()` also masks the lv_time columns
whatever their format (report/time_format="%s" prints epoch seconds).

Command line::

    python -m lvsim.testing.transcript record CASE... -o DIR      # on real LVM (root, device-mapper)
    python -m lvsim.testing.transcript compare RECORDING... [--backend sim|real]
"""

from __future__ import annotations

import argparse
import contextlib
import difflib
import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lvsim.backend import Backend

GOLDEN_DIR = Path(__file__).resolve().parent.parent.parent / "tests" / "golden"
CASES_DIR = GOLDEN_DIR / "cases"
RECORDED_DIR = GOLDEN_DIR / "recorded"

# The VM used for recording is called virtme-ng; the machine replaying may have another name.
RECORDING_HOST = "virtme-ng"
HOSTNAMES = frozenset({RECORDING_HOST, "lvsim", socket.gethostname()})
UUID_MASK = "xxxxxx-xxxx-xxxx-xxxx-xxxx-xxxx-xxxxxx"
TIME_MASK = "YYYY-MM-DD hh:mm:ss +zzzz"
_UUID_RE = re.compile(r"\b[0-9A-Za-z]{6}(?:-[0-9A-Za-z]{4}){5}-[0-9A-Za-z]{6}\b")
_TIME_RE = re.compile(r"\b\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\b")
# device-mapper uuids of LVM devices, filesystem uuids, dos disk identifiers (also blkid's PTUUID)
_DM_UUID_RE = re.compile(r"\bLVM-[0-9A-Za-z]{64}")
_FS_UUID_RE = re.compile(r"\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_DISK_ID_RE = re.compile(r"((?:[Dd]isk identifier:? |PTUUID=\"|label-id: )(?:0x)?)[0-9a-f]{8}\b")
# The test VM runs no lvmpolld daemon (a host with lvm2 installed does): LVM then warns before polling.
_LVMPOLLD_RE = re.compile(
    r"^  (?:/run/lvm/lvmpolld\.socket: connect failed: .*|WARNING: Failed to connect to lvmpolld\. .*"
    r"|WARNING: Check global/use_lvmpolld .*)\n",
    re.M,
)
_DD_RATE_RE = re.compile(r"copied, [0-9.e+-]+ s, [0-9.,]+ [kMGTPE]?B/s")
# the scratch directory a case runs in (`scratch_dir`: a random name), as a mount point's path shows it
_SCRATCH_RE = re.compile(r"(?:/[^\s/:'\"]+)*/lvsim-case-[A-Za-z0-9_]+")
# LVM's metadata backups: RealBackend's private LVM system directory (the simulator's is /etc/lvm), the
# random part of archive names, ctime(3) stamps, creation_time seconds and the uname(2) comment.
_SYSTEM_DIR_RE = re.compile(r"/tmp/lvsim-real-[A-Za-z0-9_]+/etc\b")
_ARCHIVE_RE = re.compile(r"(_\d{5})-\d+\.vg\b")
_CTIME_RE = re.compile(r"\b(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}\b")
_CREATION_TIME_RE = re.compile(r"^(\s*creation_time = )\d+", re.M)
_UNAME_RE = re.compile(r'^(creation_host = "[^"\n]*"\t# ).*$', re.M)
_SIZE_RE = re.compile(r"^\s*(\d+)\s*([kKmMgGtT]?)(?:i?B)?\s*$")
_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


@dataclass(frozen=True)
class Step:
    """One command line of a case, with what to feed its standard input ("" is EOF at once)."""

    cmd: str
    stdin: str = ""
    wait: float = 0.0  # a step `{wait: SECONDS}` runs no command: time passes (Backend.wait)
    mkdir: str = ""  # a step `{mkdir: DIR}` runs no command: DIR is made in the scratch directory

    @property
    def argv(self) -> list[str]:
        return shlex.split(self.cmd)


@dataclass(frozen=True)
class Case:
    """A golden case: disks to make, then commands to run."""

    name: str
    description: str
    disks: tuple[int, ...]
    steps: tuple[Step, ...]
    lvm_conf: str = ""  # settings for lvm.conf (Backend.set_lvm_conf) before the first step
    dmeventd: bool = False  # on real LVM, (re)start dmeventd from the backend's environment first


@dataclass(frozen=True)
class Mismatch:
    """One difference between a recorded step and its replay."""

    index: int
    cmd: str
    field: str
    expected: str
    actual: str

    def __str__(self) -> str:
        head = f"step {self.index} `{self.cmd}`: {self.field} differs"
        if "\n" not in self.expected + self.actual:
            return f"{head}: expected {self.expected!r}, got {self.actual!r}"
        diff = difflib.unified_diff(
            self.expected.splitlines(),
            self.actual.splitlines(),
            "recorded (real LVM)",
            "replayed",
            lineterm="",
        )
        return head + "\n" + "\n".join(diff)


def parse_size(value: int | str) -> int:
    """Bytes from a disk size: an int, or a number with an optional binary unit (k, M, G, T)."""
    if isinstance(value, int):
        return value
    m = _SIZE_RE.match(value)
    if not m:
        raise ValueError(f"bad disk size {value!r} (want e.g. 300M, 1G or a byte count)")
    return int(m.group(1)) * _UNITS[m.group(2).lower()]


def load_case(path: str | Path) -> Case:
    """Read a case from its YAML file; the name is the file name without .yaml."""
    import yaml  # only the recorder needs it: keep it off the replay path

    path = Path(path)
    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it
    data = yaml.load(path.read_text(), Loader=safe)
    if not isinstance(data, dict) or not isinstance(data.get("steps"), list):
        raise ValueError(f"{path}: a case needs description, disks and steps")
    steps = []
    for raw in data["steps"]:
        if isinstance(raw, str):
            steps.append(Step(raw))
        elif isinstance(raw, dict) and isinstance(raw.get("cmd"), str):
            steps.append(Step(raw["cmd"], str(raw.get("stdin", ""))))
        elif isinstance(raw, dict) and isinstance(raw.get("wait"), int | float) and len(raw) == 1:
            steps.append(Step("", wait=float(raw["wait"])))
        elif isinstance(raw, dict) and _scratch_name(raw.get("mkdir")) and len(raw) == 1:
            steps.append(Step("", mkdir=raw["mkdir"]))
        else:
            raise ValueError(f"{path}: bad step {raw!r}")
    return Case(
        name=path.stem,
        description=str(data.get("description", "")),
        disks=tuple(parse_size(d) for d in data.get("disks", [])),
        steps=tuple(steps),
        lvm_conf=str(data.get("lvm_conf", "")),
        dmeventd=bool(data.get("dmeventd", False)),
    )


def _scratch_name(value: object) -> bool:
    """Whether a `mkdir` step names a relative path that stays in the scratch directory."""
    return (
        isinstance(value, str) and bool(value) and not value.startswith("/") and ".." not in Path(value).parts
    )


def make_scratch_dir(name: str) -> None:
    """A `mkdir` step: the directory (and its parents) in the current scratch directory."""
    if not _scratch_name(name):
        raise ValueError(f"mkdir step {name!r}: a relative path inside the scratch directory")
    Path(name).mkdir(parents=True, exist_ok=True)


def load_recording(path: str | Path) -> dict[str, Any]:
    return json.loads(Path(path).read_text())


def save_recording(recording: dict[str, Any], directory: str | Path) -> Path:
    path = Path(directory) / f"{recording['name']}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(recording, indent=2, ensure_ascii=False) + "\n")
    return path


def recordings(directory: str | Path = RECORDED_DIR) -> list[Path]:
    return sorted(Path(directory).glob("*.json"))


def normalise(text: str, hostnames: Iterable[str] = HOSTNAMES) -> str:
    """Mask what legitimately differs between runs: uuids, timestamps, host names, dd timing, and
    drop the lvmpolld warnings of a host without the daemon."""
    text = _LVMPOLLD_RE.sub("", text)
    text = _UUID_RE.sub(UUID_MASK, text)
    text = _DM_UUID_RE.sub("LVM-" + "x" * 64, text)
    text = _FS_UUID_RE.sub("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx", text)
    text = _DISK_ID_RE.sub(r"\g<1>xxxxxxxx", text)
    text = _TIME_RE.sub(TIME_MASK, text)
    text = _DD_RATE_RE.sub("copied, T s, R B/s", text)
    text = _SCRATCH_RE.sub("SCRATCH", text)
    text = _SYSTEM_DIR_RE.sub("/etc/lvm", text)
    text = _ARCHIVE_RE.sub(r"\g<1>-R.vg", text)
    text = _CTIME_RE.sub("Www Mmm dd hh:mm:ss yyyy", text)
    text = _CREATION_TIME_RE.sub(r"\g<1>T", text)
    text = _UNAME_RE.sub(r"\g<1>UNAME", text)
    for host in sorted(set(hostnames), key=len, reverse=True):
        if host:
            text = re.sub(rf"(?<![\w.-]){re.escape(host)}(?![\w.-])", "HOST", text)
    return text


_TIME_FIELDS = frozenset({"lv_time", "time", "lv_time_removed", "time_removed"})
_REPORTS = frozenset({"lvs", "vgs", "pvs", "lvdisplay", "vgdisplay", "pvdisplay"})


def _option_values(argv: Sequence[str], short: str, long: str) -> list[str]:
    """Every value of an option, in the spellings getopt accepts (-oX, -o X, --long X, --long=X)."""
    values = []
    for i, arg in enumerate(argv):
        if arg in (short, f"--{long}") and i + 1 < len(argv):
            values.append(argv[i + 1])
        elif arg.startswith(f"--{long}="):
            values.append(arg.split("=", 1)[1])
        elif short and arg.startswith(short) and len(arg) > len(short) and not arg.startswith("--"):
            values.append(arg[len(short) :])
    return values


def mask_time_columns(text: str, argv: Sequence[str]) -> str:
    """Mask the lv_time columns of a report printed with --separator, whatever report/time_format
    makes of them (epoch seconds with "%s" are not recognisable as a time otherwise)."""
    args = list(argv[1:]) if Path(argv[0]).name != "lvm" else list(argv[2:])
    name = Path(argv[0]).name if Path(argv[0]).name != "lvm" else (argv[1] if len(argv) > 1 else "")
    separators = _option_values(args, "", "separator")
    lists = _option_values(args, "-o", "options")
    if name not in _REPORTS or not separators or not lists or any(o.startswith("+") for o in lists):
        return text
    fields = [f.strip() for o in lists for f in o.split(",")]
    columns = [i for i, f in enumerate(fields) if f in _TIME_FIELDS]
    if not columns:
        return text
    sep = separators[-1]
    lines = []
    for line in text.split("\n"):
        cells = line.split(sep)
        if len(cells) == len(fields):
            for i in columns:
                cells[i] = re.sub(r"\S.*", "TIME", cells[i]) if i == 0 else "TIME"
            line = sep.join(cells)
        lines.append(line)
    return "\n".join(lines)


def _attach_disks(sizes: Sequence[int], backend: Backend) -> list[str]:
    paths = []
    for i, size in enumerate(sizes):
        path = backend.add_disk(size)
        if path != f"/dev/loop{i}":
            raise RuntimeError(
                f"disk {i} came out as {path}, not /dev/loop{i}: golden cases need a machine with no other "
                "loop devices attached"
            )
        paths.append(path)
    return paths


def lvm_version(backend: Backend) -> str:
    """The `LVM version:` line of `lvm version`, e.g. "2.03.16(2) (2022-05-18)"."""
    out = backend.run(["lvm", "version"]).stdout
    m = re.search(r"LVM version:\s*(.+)", out)
    return m.group(1).strip() if m else out.strip()


@contextmanager
def scratch_dir() -> Iterator[str]:
    """Run a case's steps in a fresh empty directory (the files they name by relative paths land
    there; `normalise` masks its name), then go back and remove it."""
    previous = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="lvsim-case-") as directory:
        os.chdir(directory)
        try:
            yield directory
        finally:
            os.chdir(previous)


def record(case: Case, backend: Backend) -> dict[str, Any]:
    """Run a case on a (fresh) backend, in a scratch directory, and return its recording."""
    _attach_disks(case.disks, backend)
    _prepare(backend, case.lvm_conf, case.dmeventd)
    with scratch_dir():
        steps = _record_steps(case, backend)
    recording = {
        "name": case.name,
        "description": case.description,
        "disks": list(case.disks),
        "lvm_version": lvm_version(backend),
        "steps": steps,
    }
    if case.lvm_conf or case.dmeventd:
        recording.update(lvm_conf=case.lvm_conf, dmeventd=case.dmeventd)
    return recording


def _prepare(backend: Backend, lvm_conf: str, dmeventd: bool) -> None:
    """The environment a case asks for: its lvm.conf, and on real LVM a dmeventd started from this
    backend's environment (one left by an earlier backend reads a lvm.conf that is gone)."""
    if lvm_conf:
        backend.set_lvm_conf(lvm_conf)
    if dmeventd and backend.name == "real":
        restart_dmeventd(backend.environment())


def _dmeventd_dirs() -> dict[int, str]:
    """Running dmeventd processes and the LVM_SYSTEM_DIR each was started with."""
    found = {}
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and (entry / "comm").read_text().strip() == "dmeventd":
                env = (entry / "environ").read_bytes().split(b"\0")
                dirs = [e[15:].decode() for e in env if e.startswith(b"LVM_SYSTEM_DIR=")]
                found[int(entry.name)] = dirs[0] if dirs else ""
        except OSError:
            continue
    return found


def restart_dmeventd(env: Mapping[str, str], timeout: float = 30.0) -> None:
    """Make the machine's dmeventd one that reads the lvm.conf of `env`'s LVM_SYSTEM_DIR (as LVM
    starts it from the environment of the command that first needs it): `dmeventd -R` hands the
    monitored devices to a new daemon of this environment; an older one that stays is asked to
    end (it does once nothing it watches is left). Only in the throwaway test VM (LVSIM_IN_VM=1):
    a host's dmeventd is never touched."""
    if os.environ.get("LVSIM_IN_VM") != "1":
        raise RuntimeError("restarting dmeventd is done only in the test VM (LVSIM_IN_VM=1)")
    wanted = env.get("LVM_SYSTEM_DIR", "")
    full_env = {**os.environ, **env}
    subprocess.run(["dmeventd", "-R"], env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                   timeout=timeout, check=False)  # fmt: skip
    deadline = time.monotonic() + timeout
    while True:
        others = [pid for pid, d in _dmeventd_dirs().items() if d != wanted]
        if not others:
            break
        if time.monotonic() > deadline:
            raise RuntimeError(f"dmeventd {others} does not end: it still watches devices")
        for pid in others:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        time.sleep(0.5)
    if wanted not in _dmeventd_dirs().values():
        subprocess.run(["dmeventd"], env=full_env, stdin=subprocess.DEVNULL, capture_output=True,
                       timeout=timeout, check=False)  # fmt: skip


def _record_steps(case: Case, backend: Backend) -> list[dict[str, Any]]:
    steps = []
    for step in case.steps:
        if step.wait:
            backend.wait(step.wait)
            steps.append({"wait": step.wait})
            continue
        if step.mkdir:
            make_scratch_dir(step.mkdir)
            steps.append({"mkdir": step.mkdir})
            continue
        result = backend.run(step.argv, step.stdin)
        steps.append(
            {
                "cmd": step.cmd,
                "stdin": step.stdin,
                "rc": result.rc,
                "stdout": result.stdout,
                "stderr": result.stderr,
            }
        )
    return steps


def replay(recording: dict[str, Any], backend: Backend) -> list[Mismatch]:
    """Run a recording's steps on a (fresh) backend; return every difference after normalisation."""
    _attach_disks(recording["disks"], backend)
    _prepare(backend, recording.get("lvm_conf", ""), recording.get("dmeventd", False))
    state = getattr(backend, "state", None)  # the simulator's: name its host as the recording VM is, so
    if state is not None:  # that lengths that depend on it (the metadata text's, in vg_mda_free) agree
        state.host = RECORDING_HOST
    with scratch_dir():
        return _replay_steps(recording, backend)


def _replay_steps(recording: dict[str, Any], backend: Backend) -> list[Mismatch]:
    mismatches = []
    for index, step in enumerate(recording["steps"]):
        if "wait" in step:
            backend.wait(step["wait"])
            continue
        if "mkdir" in step:
            make_scratch_dir(step["mkdir"])
            continue
        result = backend.run(shlex.split(step["cmd"]), step["stdin"])
        if result.rc != step["rc"]:
            mismatches.append(Mismatch(index, step["cmd"], "rc", str(step["rc"]), str(result.rc)))
        argv = shlex.split(step["cmd"])
        for field in ("stdout", "stderr"):
            expected = normalise(mask_time_columns(step[field], argv))
            actual = normalise(mask_time_columns(getattr(result, field), argv))
            if expected != actual:
                mismatches.append(Mismatch(index, step["cmd"], field, expected, actual))
    return mismatches


def format_mismatches(name: str, mismatches: Sequence[Mismatch], limit: int = 5) -> str:
    """A readable report: the first `limit` differences as diffs (later ones often follow from them)."""
    lines = [f"{name}: {len(mismatches)} mismatch(es)"]
    lines += [str(m) for m in mismatches[:limit]]
    if len(mismatches) > limit:
        lines.append(f"... and {len(mismatches) - limit} more")
    return "\n".join(lines)


def make_backend(kind: str) -> Backend:
    """A fresh backend by name: "sim" or "real"."""
    from lvsim.backend import open_backend

    if kind == "real":
        return open_backend("real", tag_vgs=False)  # the tag would show in vg_tags and vg_mda_free
    if kind == "sim":
        return open_backend("sim")
    raise ValueError(f"unknown backend {kind!r} (sim or real)")


def compare(recording_path: str | Path, kind: str = "sim") -> list[Mismatch]:
    """Replay one recording on a fresh backend of the given kind and return the mismatches."""
    recording = load_recording(recording_path)
    with make_backend(kind) as backend:
        return replay(recording, backend)


def _case_path(arg: str) -> Path:
    path = Path(arg)
    return path if path.suffix in {".yaml", ".yml"} or path.exists() else CASES_DIR / f"{arg}.yaml"


def _recording_path(arg: str) -> Path:
    path = Path(arg)
    return path if path.suffix == ".json" or path.exists() else RECORDED_DIR / f"{arg}.json"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m lvsim.testing.transcript", description=__doc__.split("\n")[0]
    )
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run cases on real LVM and write their recordings")
    rec.add_argument("cases", nargs="*", help="case files or names (default: every case)")
    rec.add_argument("-o", "--output", default=str(RECORDED_DIR), help="directory for the recordings")
    cmp_ = sub.add_parser("compare", help="replay recordings on a backend and show the differences")
    cmp_.add_argument("recordings", nargs="*", help="recording files or names (default: every recording)")
    cmp_.add_argument("--backend", choices=["sim", "real"], default="sim")
    args = parser.parse_args(argv)

    if args.command == "record":
        paths = [_case_path(c) for c in args.cases] or sorted(CASES_DIR.glob("*.yaml"))
        for path in paths:
            case = load_case(path)
            with make_backend("real") as backend:
                recording = record(case, backend)
            out = save_recording(recording, args.output)
            failed = sum(1 for s in recording["steps"] if s.get("rc", 0) != 0)  # a wait step has none
            print(f"recorded {out} ({len(case.steps)} commands, {failed} non-zero)", file=sys.stderr)
        return 0

    status = 0
    paths = [_recording_path(r) for r in args.recordings] or recordings()
    for path in paths:
        mismatches = compare(path, args.backend)
        if mismatches:
            status = 1
            print(format_mismatches(path.stem, mismatches))
        else:
            print(f"{path.stem}: ok")
    return status


if __name__ == "__main__":
    sys.exit(main())
