"""Lessons and drills: what they are made of, and running their parts on a backend.

An exercise is a YAML file (lvsim/training/lessons/, lvsim/training/drills/)::

    title: Thin pool basics
    goal: |                      # what the trainee must get to (shown by start)
      ...
    explanation: |               # the why (shown by start)
    setup:                       # the machine the exercise starts from
      disks: [1G]                # ${disk0}, ${disk1}, ... in every text below
      lvm_conf: |                # optional: lvm.conf (LVM_SYSTEM_DIR) for the exercise
      steps: [vgcreate vg ${disk0}, ...]
    hints: [...]                 # shown one by one
    check: [...]                 # what must hold at the end (see `Check`)
    solution: [...]              # steps that reach the goal (tested on the simulator and on real LVM)

A step is a command line (a string), `{cmd: LINE, stdin: TEXT, rc: N}`, `{lvm_conf: TEXT}` (lvm.conf
from now on), `{wait: SECONDS}` (time passes: the simulated clock, or real time on real LVM),
`{write: {device, size, offset, name}}` (a named, recognisable pattern of bytes: `check: {data: name}`
finds it again) `{mkdir: PATH}` or `{write_file: {path, content}}` (on the host, under ${work}), and, on the simulator
only, `{workload: {name, device, rate, seconds, offset}}` (an application writing as the clock runs,
`lvsim.tools.workload`).

A check is one of::

    {lv|vg|pv: NAME, field: F, value: V, op: "==", units: m}   # as `lvs -o F [--units m --nosuffix] NAME`
                                                              # op: == != < <= > >= or =~ (a regex)
    {lv|vg|pv: NAME, absent: true}
    {lvmconfig: SECTION/KEY, value: V, op: "=="}               # as `lvmconfig --type full SECTION/KEY`
    {data: NAME, device: PATH}                                # the pattern written as NAME reads back
    {workload: NAME}                                          # it wrote all it had to, intact
    {file: PATH, equals|contains: TEXT} / {file: PATH, absent: true}

each with an optional `say:` that explains a failure to the trainee.
"""

from __future__ import annotations

import hashlib
import operator
import re
import shlex
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from lvsim import dispatch
from lvsim.backend import Backend
from lvsim.core import store
from lvsim.core.model import State
from lvsim.core.units import parse_size
from lvsim.tools import workload

_VAR = re.compile(r"\$\{([a-z0-9_.]+)\}")
_OPS: dict[str, Callable[[Any, Any], bool]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


class ExerciseError(Exception):
    """A broken exercise file, or a step that did not do what the exercise expects."""


@dataclass(frozen=True)
class Exercise:
    """One lesson or drill, as read from its file."""

    name: str
    title: str
    goal: str
    explanation: str
    setup: dict[str, Any]
    hints: list[str]
    check: list[dict[str, Any]]
    solution: list[Any]
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def disks(self) -> list[int]:
        return [parse_size(str(d), 2048).value * 512 for d in self.setup.get("disks", [])]


def load(path: Path) -> Exercise:
    safe = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's, where PyYAML has it
    data = yaml.load(path.read_text(), Loader=safe)
    if not isinstance(data, dict):
        raise ExerciseError(f"{path}: not a mapping")
    missing = [
        k for k in ("title", "goal", "explanation", "setup", "hints", "check", "solution") if k not in data
    ]
    if missing:
        raise ExerciseError(f"{path}: missing {', '.join(missing)}")
    known = {"title", "goal", "explanation", "setup", "hints", "check", "solution"}
    return Exercise(
        name=path.stem.split("-", 1)[1] if path.stem[:2].isdigit() else path.stem,
        title=str(data["title"]),
        goal=str(data["goal"]).strip(),
        explanation=str(data["explanation"]).strip(),
        setup=dict(data["setup"] or {}),
        hints=[str(h).strip() for h in data["hints"]],
        check=list(data["check"]),
        solution=list(data["solution"]),
        extra={k: v for k, v in data.items() if k not in known},
    )


def catalogue(package: str) -> list[Exercise]:
    """The exercises shipped in a subpackage directory (lessons, drills), in file-name order."""
    folder = resources.files("lvsim.training").joinpath(package)
    files = sorted((Path(str(f)) for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda p: p.name)
    return [load(f) for f in files]


def substitute(text: str, values: Mapping[str, str]) -> str:
    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in values:
            raise ExerciseError(f"unknown variable ${{{name}}} in {text!r}")
        return values[name]

    return _VAR.sub(one, text)


def pattern(name: str, size: int) -> bytes:
    """The recognisable bytes a `write` step puts down under `name` (and a `data` check looks for)."""
    return hashlib.shake_128(f"lvsim-{name}".encode()).digest(size)


@dataclass
class Machine:
    """Where an exercise runs: a backend, the values of its variables, its work directory."""

    backend: Backend
    work: Path
    values: dict[str, str] = field(default_factory=dict)
    written: dict[str, tuple[str, int, int]] = field(default_factory=dict)  # name -> device, offset, size
    transcript: list[str] = field(default_factory=list)

    def sub(self, text: str) -> str:
        return substitute(text, self.values)

    def attach(self, sizes: list[int]) -> None:
        self.values["work"] = str(self.work)
        for i, size in enumerate(sizes):
            self.values[f"disk{i}"] = self.backend.add_disk(size)

    def step(self, step: Any) -> None:
        """Run one setup or solution step; ExerciseError when it does not do what it should."""
        if isinstance(step, str):
            step = {"cmd": step}
        if not isinstance(step, dict):
            raise ExerciseError(f"bad step {step!r}")
        if "cmd" in step:
            argv = [self.sub(word) for word in shlex.split(step["cmd"])]
            result = self.backend.run(argv, self.sub(str(step.get("stdin", ""))))
            self.transcript.append(f"$ {shlex.join(argv)}\n{result.stdout}{result.stderr}")
            want = step.get("rc", 0)
            if result.rc != want:
                raise ExerciseError(
                    f"`{shlex.join(argv)}` exited {result.rc} (expected {want}): {result.stderr.strip()}"
                )
        elif "lvm_conf" in step:
            self.backend.set_lvm_conf(self.sub(str(step["lvm_conf"])))
        elif "wait" in step:
            self.backend.wait(float(step["wait"]))
        elif "write" in step:
            body = step["write"]
            device = self.sub(str(body["device"]))
            size = parse_size(str(body["size"]), 2048).value * 512
            offset = parse_size(str(body.get("offset", 0)), 2048).value * 512
            self.backend.write(device, offset, pattern(str(body["name"]), size))
            self.written[str(body["name"])] = (device, offset, size)
        elif "mkdir" in step:
            self._in_work(self.sub(str(step["mkdir"]))).mkdir(parents=True, exist_ok=True)
        elif "workload" in step:
            body = step["workload"]
            with self.state() as state:
                workload.start(
                    state,
                    str(body["name"]),
                    self.sub(str(body["device"])),
                    parse_size(str(body["rate"]), 2048).value * 512,
                    float(body["seconds"]),
                    parse_size(str(body.get("offset", 0)), 2048).value * 512,
                )
        elif "write_file" in step:
            body = step["write_file"]
            self._in_work(self.sub(str(body["path"]))).write_text(self.sub(str(body["content"])))
        else:
            raise ExerciseError(f"bad step {step!r}")

    @contextmanager
    def state(self) -> Iterator[State]:
        """The simulator's state behind the backend (workloads exist only there)."""
        path = getattr(self.backend, "state_path", None)
        if path is not None:
            with store.transaction(path) as state:
                yield state
        elif isinstance(getattr(self.backend, "state", None), State):
            yield self.backend.state  # type: ignore[attr-defined]
        else:
            raise ExerciseError(f"the {self.backend.name} backend runs no simulated workloads")

    def _in_work(self, text: str) -> Path:
        """A host path an exercise may touch: only under its work directory."""
        path = Path(text)
        if not path.resolve().is_relative_to(self.work.resolve()):
            raise ExerciseError(f"{path} is outside the work directory {self.work}")
        return path

    def setup(self, exercise: Exercise) -> None:
        self.attach(exercise.disks)
        if "lvm_conf" in exercise.setup:
            self.backend.set_lvm_conf(self.sub(str(exercise.setup["lvm_conf"])))
        for step in exercise.setup.get("steps", []):
            self.step(step)

    def solve(self, exercise: Exercise) -> None:
        for step in exercise.solution:
            self.step(step)


@dataclass(frozen=True)
class Verdict:
    """One check's outcome, in words for the trainee."""

    ok: bool
    text: str


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def _holds(actual: str, op: str, want: str) -> bool:
    if op == "=~":
        return re.search(want, actual) is not None
    a, w = _number(actual), _number(want)
    if a is not None and w is not None:
        return _OPS[op](a, w)
    if op in ("==", "!="):
        return _OPS[op](actual, want)
    raise ExerciseError(f"cannot compare {actual!r} {op} {want!r}")


def _report_check(machine: Machine, check: dict[str, Any]) -> Verdict:
    kind = next(k for k in ("lv", "vg", "pv") if k in check)
    name = machine.sub(str(check[kind]))
    what = {"lv": "LV", "vg": "VG", "pv": "PV"}[kind]
    if check.get("absent"):
        result = machine.backend.run([f"{kind}s", "--noheadings", "-o", f"{kind}_name", name])
        gone = result.rc != 0 or not result.stdout.strip()
        return Verdict(gone, f"{what} {name} is gone" if gone else f"{what} {name} should not exist")
    fld = str(check["field"])
    args = ["-o", fld]
    if "units" in check:
        args += ["--units", str(check["units"]), "--nosuffix"]
    try:
        rows = machine.backend.report(kind, *args, name)
    except RuntimeError:
        return Verdict(False, f"{what} {name} does not exist")
    actual = rows[0][fld].strip() if rows else ""
    op, want = str(check.get("op", "==")), machine.sub(str(check["value"]))
    unit = str(check.get("units", ""))
    ok = _holds(actual, op, want)
    shown = f"{fld} of {name} is {actual or '(blank)'}{unit}"
    return Verdict(ok, shown if ok else f"{shown}; the goal wants {op} {want}{unit}")


def _config_check(machine: Machine, check: dict[str, Any]) -> Verdict:
    path = str(check["lvmconfig"])
    result = machine.backend.run(["lvmconfig", "--type", "full", path])
    actual = result.stdout.strip().partition("=")[2].strip('"') if result.rc == 0 else ""
    op, want = str(check.get("op", "==")), machine.sub(str(check["value"]))
    ok = bool(actual) and _holds(actual, op, want)
    shown = f"lvm.conf's {path} is {actual or '(unreadable)'}"
    return Verdict(ok, shown if ok else f"{shown}; the goal wants {op} {want}")


def _data_check(machine: Machine, check: dict[str, Any]) -> Verdict:
    name = str(check["data"])
    if name not in machine.written:
        raise ExerciseError(f"no data written as {name!r}")
    device, offset, size = machine.written[name]
    device = machine.sub(str(check.get("device", device)))
    try:
        ok = machine.backend.read(device, offset, size) == pattern(name, size)
    except OSError as exc:
        return Verdict(False, f"the data {name!r} on {device} cannot be read: {exc.strerror or exc}")
    return Verdict(
        ok, f"the data {name!r} on {device} is intact" if ok else f"the data {name!r} on {device} is lost"
    )


def _file_check(machine: Machine, check: dict[str, Any]) -> Verdict:
    path = Path(machine.sub(str(check["file"])))
    if check.get("absent"):
        return Verdict(
            not path.exists(), f"{path} does not exist" if not path.exists() else f"{path} should not exist"
        )
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return Verdict(False, f"{path} does not exist")
    if "equals" in check:
        ok = text == machine.sub(str(check["equals"]))
    else:
        ok = machine.sub(str(check["contains"])) in text
    return Verdict(
        ok, f"{path} has the expected content" if ok else f"{path} does not have the expected content"
    )


def _workload_check(machine: Machine, check: dict[str, Any]) -> Verdict:
    name = str(check["workload"])
    with machine.state() as state:
        dispatch.catch_up(state)  # the clock may have moved since the last command
        work = workload.find(state, name)
        if work is None:
            raise ExerciseError(f"no workload {name!r}")
        total = int(work["rate"] * round((work["end"] - work["start"]) / workload.TICK))
        mib = f"{work['done'] / (1 << 20):g} of {total / (1 << 20):g} MiB"
        if work["error"]:
            when = work["failed_at"] - work["start"]
            return Verdict(
                False, f"{name}: its writes failed after {when:g} s ({work['error']}), {mib} written"
            )
        if work["done"] < total:
            left = max(0.0, work["end"] - state.clock)
            return Verdict(False, f"{name} is still writing ({mib}, {left:g} s to go): let the time pass")
        if not workload.intact(state, work):
            return Verdict(False, f"{name}: what it wrote does not read back")
        return Verdict(True, f"{name} wrote all its data ({mib}), and it reads back intact")


def verdicts(machine: Machine, checks: list[dict[str, Any]]) -> Iterator[Verdict]:
    """Each check's outcome, in order (a failing one with its `say`, when it has one)."""
    for check in checks:
        if any(k in check for k in ("lv", "vg", "pv")):
            verdict = _report_check(machine, check)
        elif "lvmconfig" in check:
            verdict = _config_check(machine, check)
        elif "data" in check:
            verdict = _data_check(machine, check)
        elif "file" in check:
            verdict = _file_check(machine, check)
        elif "workload" in check:
            verdict = _workload_check(machine, check)
        else:
            raise ExerciseError(f"bad check {check!r}")
        if not verdict.ok and "say" in check:
            verdict = Verdict(False, f"{verdict.text}: {machine.sub(str(check['say'])).strip()}")
        yield verdict
