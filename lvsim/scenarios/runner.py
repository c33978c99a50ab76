"""Running a scenario on a backend and printing its transcript."""

from __future__ import annotations

import operator
import os
import shlex
import subprocess
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from lvsim.backend import Backend, Result
from lvsim.core.hostpaths import shown
from lvsim.core.units import format_size
from lvsim.scenarios.arith import ArithError, evaluate
from lvsim.scenarios.hoststeps import HostStepError, WorkArea, check_backend_command, host_argv, work_area
from lvsim.scenarios.loader import Scenario, ScenarioError, Step, defines, substitute
from lvsim.scenarios.steps import Command, commands, size_bytes


class StepFailed(Exception):
    """A step whose command or assertion did not give what the scenario expects."""


@dataclass
class Runner:
    """Runs a scenario's steps in order on a backend, writing a transcript to `out`.

    Stops at the first failing step (as a `set -e` script would).  Host files are touched only in the
    run's work area (`lvsim.scenarios.hoststeps`): its own directory and the scenario's `host_paths`,
    or, with `private_root` (plan, render), a private simulated root.  Directories made by mktemp
    steps are listed in `tempdirs`; `remove_tempdirs()` deletes the work area once the backend is
    closed.
    """

    scenario: Scenario
    backend: Backend
    out: TextIO
    values: dict[str, str] = field(default_factory=dict)
    tempdirs: list[str] = field(default_factory=list)
    failure: str = ""
    private_root: bool = False
    area: WorkArea | None = None
    setup: bool = True  # run the scenario's setup (plan --from: the imported host is the existing storage)
    in_setup: bool = False
    disks: dict[str, str] = field(default_factory=dict)  # disk name -> device

    def run(self) -> bool:
        """Make the disks, run the setup and every step; True when all passed."""
        paths = (*self.scenario.host_paths, *self.scenario.dir_params())
        with work_area(self.private_root, paths) as area:
            self.area = area
            return self._run()

    def _run(self) -> bool:
        sc = self.scenario
        self.values = dict(sc.vars)
        for name, kind in sc.params.items():
            if kind == "dir" and name not in sc.overrides and self.area and not self.area.private_root:
                # a scenario file names no host directory of its own accord: the default goes in the
                # work directory (--var NAME=DIR names a host one)
                self.values[name] = os.path.join(self.area.cwd, "params", name)
        self._say(f"== scenario {sc.name} ({sc.path}) on the {self.backend.name} backend")
        for line in sc.description.strip().splitlines():
            self._say(f"   {line}")
        if self.values:
            self._say("   vars: " + " ".join(f"{k}={shlex.quote(v)}" for k, v in self.values.items()))
        try:
            self._disks_and_setup()
            self._check_existing()
            for step in sc.steps:
                self._step(step)
        except (StepFailed, ScenarioError) as exc:
            self.failure = str(exc)
            self._say(f"\nFAILED: {exc}")
            return False
        self._say(f"\nPASSED: {sc.name}, {len(sc.flat_steps())} steps")
        return True

    def _disks_and_setup(self) -> None:
        """The scenario's disks and setup steps (a scenario over existing storage makes it there)."""
        sc = self.scenario
        if not self.setup and (sc.existing_vgs or sc.existing_lvs):
            return
        for name, size in sc.disks.items():
            nbytes = size_bytes(size, sc.where("disks", name))
            try:
                device = self.backend.add_disk(nbytes)
            except Exception as exc:  # e.g. losetup failing on the real backend
                raise StepFailed(f"disk {name} ({sc.where('disks', name)}): {_crash(exc)}") from exc
            self.values[f"disk.{name}"] = device
            self.disks[name] = device
            self._say(f"   disk {name}: {device} ({format_size(nbytes, long_form=True)})")
        if not self.setup or not sc.setup:
            return
        self.in_setup = True
        try:
            for step in sc.setup:
                self._say(f"\n-- setup {step.index + 1}" + (f": {step.title}" if step.title else ""))
                self._step_body(step)
        except StepFailed as exc:
            raise StepFailed(f"setup: {exc}") from exc
        finally:
            self.in_setup = False
        for name in [n for n in self.values if n.startswith("disk.")]:
            del self.values[name]  # the steps see the host, not the setup's disks

    def _check_existing(self) -> None:
        """The VGs and LVs the scenario expects are there (as the rendered script's preflight checks)."""
        vgs, lvs = self.scenario.existing(self.values)
        for kind, names in (("vg", vgs), ("lv", lvs)):
            for name in names:
                try:
                    self.backend.report(kind, "-o", f"{kind}_name", name)
                except Exception as exc:
                    raise StepFailed(
                        f"the host has no {kind.upper()} {name}, which the scenario expects (existing:)"
                    ) from exc
                self._say(f"   existing {kind.upper()} {name}: found")

    def remove_tempdirs(self) -> None:
        """Delete the work area with the mktemp directories (not while something is mounted in it)."""
        if self.area is not None:
            self.area.remove()

    # -- steps ---------------------------------------------------------------------------------------

    def _say(self, text: str) -> None:
        self.out.write(text + "\n")
        self.out.flush()

    def _fail(self, step: Step, text: str) -> StepFailed:
        return StepFailed(f"step {step.index + 1} ({step.where}): {text}")

    def _step(self, step: Step) -> None:
        self._say(f"\n-- step {step.index + 1}" + (f": {step.title}" if step.title else ""))
        if step.when is not None:
            what, actual, op, want = self._condition(step, step.when)
            holds = _holds(actual, op, want)
            self._say(f"   when {what} {op} {want}: {'yes' if holds else 'no, skipped'}")
            if not holds:
                self._skipped(step, f"{what} {op} {want} does not hold ({actual!r})")
                return
        if step.kind == "foreach":
            self._foreach(step)
            return
        self._step_body(step)

    def _skipped(self, step: Step, why: str) -> None:
        """A step whose condition does not hold (the plan's recorder runs it aside, for the renderer)."""

    def _foreach(self, step: Step) -> None:
        vg, tag, var = self.foreach_items_of(step)
        items = self.foreach_items(step, vg, tag)
        self._say(f"   LVs of {vg} tagged {tag}: {' '.join(items) or 'none'}")
        for item in items:
            self.values[var] = item
            self._say(f"   {var}={item}")
            for child in step.children:
                self._step(child)
        self.values.pop(var, None)

    def foreach_items_of(self, step: Step) -> tuple[str, str, str]:
        body = step.body
        vg = substitute(str(body["vg"]), self.values, step.where)
        tag = substitute(str(body["tag"]), self.values, step.where)
        return vg, tag, str(body["as"])

    def foreach_items(self, step: Step, vg: str, tag: str) -> list[str]:
        """The visible LVs of vg that carry tag, in name order."""
        self._say(f"$ {shlex.join(['lvs', '--reportformat', 'json', '-o', 'lv_name,lv_tags', vg])}")
        try:
            rows = self.backend.report("lv", "-o", "lv_name,lv_tags", vg)
        except Exception as exc:
            raise self._fail(step, f"cannot list the LVs of {vg}: {_crash(exc)}") from exc
        return sorted(r["lv_name"] for r in rows if tag in r.get("lv_tags", "").split(","))

    def _step_body(self, step: Step) -> None:
        if step.kind == "compute":
            self._compute(step)
            return
        if step.kind == "assert" and "file" not in step.body:
            self._assert_value(step)
            return
        cmds = commands(step, self.values)
        for i, cmd in enumerate(cmds):
            result = self._exec(step, cmd)
            last = i == len(cmds) - 1
            self._check(step, result, last)
        if step.kind == "assert":
            self._assert_file(step, result)
        name = defines(step)
        if name:
            text = result.stdout.strip()
            save = step.spec.get("save")
            suffix = save.get("strip_suffix", "") if isinstance(save, Mapping) else ""
            if suffix and text.endswith(suffix):
                text = text[: -len(suffix)]
            self.values[name] = text
            if step.kind == "mktemp":
                self.tempdirs.append(text)
            self._say(f"   {name}={shlex.quote(text)}")

    def _exec(self, step: Step, cmd: Command) -> Result:
        self._say(f"$ {cmd.cmdline}")
        try:
            if cmd.host:
                assert self.area is not None
                proc = subprocess.run(
                    host_argv(cmd.argv),
                    input=cmd.stdin,
                    capture_output=True,
                    text=True,
                    errors="surrogateescape",
                    check=False,
                    cwd=self.area.cwd,
                    env=self.area.env(),
                )
                result = Result(cmd.argv, proc.returncode, shown(proc.stdout), shown(proc.stderr))
            else:
                check_backend_command(cmd.argv)
                done = self.backend.run(cmd.argv, cmd.stdin)
                result = Result(done.argv, done.rc, shown(done.stdout), shown(done.stderr))
        except HostStepError as exc:
            raise self._fail(step, f"{cmd.cmdline}: lvsim: {exc}") from exc
        except Exception as exc:  # a backend or tool that cannot do this (yet): the step fails
            raise self._fail(step, f"{cmd.cmdline}: {_crash(exc)}") from exc
        for stream in (result.stdout, result.stderr):
            if stream:
                self.out.write(stream if stream.endswith("\n") else stream + "\n")
        self._say(f"[rc={result.rc}]")
        return result

    def _check(self, step: Step, result: Result, last: bool) -> None:
        spec = step.spec
        expected: int | str = 0
        if last:
            expected = spec.get("expect_rc", "nonzero" if step.kind == "expect_failure" else 0)
        if expected == "nonzero" and result.rc == 0:
            raise self._fail(step, f"{result.cmdline}: expected a failure, got rc 0")
        if expected != "nonzero" and result.rc != expected:
            said = _said(result.stderr)
            raise self._fail(step, f"{result.cmdline}: expected rc {expected}, got {result.rc}" + said)
        if not last:
            return
        for key, stream in (
            ("expect_stdout_contains", result.stdout),
            ("expect_stderr_contains", result.stderr),
        ):
            if key in spec:
                want = substitute(str(spec[key]), self.values, step.where)
                if want not in stream:
                    raise self._fail(step, f"{result.cmdline}: {key.split('_')[1]} does not contain {want!r}")

    def _compute(self, step: Step) -> None:
        body = step.body
        expr = substitute(str(body["expr"]), self.values, step.where)
        scale = int(body.get("scale", 0))
        self._say(f"$ echo {shlex.quote(f'scale={scale}; {expr}')} | bc")
        try:
            value = evaluate(expr, scale)
        except ArithError as exc:
            raise self._fail(step, str(exc)) from exc
        self.values[body["var"]] = value
        self._say(f"   {body['var']}={value}")

    def _assert_value(self, step: Step) -> None:
        """Asserts on a report field (through Backend.report) or on a variable."""
        body = step.body

        def sub(value: Any) -> str:
            return substitute(str(value), self.values, step.where)

        if "var" in body:
            actual = self.values[body["var"]]
            self._say(f"   {body['var']}={shlex.quote(actual)}")
            self._compare(step, f"${{{body['var']}}}", actual, body["op"], sub(body["value"]))
            return
        if body.get("absent"):
            kind = next(k for k in ("lv", "vg", "pv") if k in body)
            target = sub(body[kind])
            self._say(f"$ {shlex.join([f'{kind}s', '--reportformat', 'json', target])}")
            try:
                self.backend.report(kind, target)
            except Exception:
                self._say(f"   {target}: absent")
                return
            raise self._fail(step, f"{kind} {target} exists, expected it to be absent")
        self._compare(step, *self._condition(step, body))

    def _condition(self, step: Step, body: Mapping[str, Any]) -> tuple[str, str, str, str]:
        """(what, actual, op, wanted) of a report-field or variable comparison, read now."""

        def sub(value: Any) -> str:
            return substitute(str(value), self.values, step.where)

        if "var" in body:
            actual = self.values[body["var"]]
            return f"${{{body['var']}}}", actual, body["op"], sub(body["value"])
        kind = next(k for k in ("lv", "vg", "pv") if k in body)
        target = sub(body[kind])
        units = ["--units", body["units"], "--nosuffix"] if "units" in body else []
        args = ["-o", body["field"], *units, target]
        self._say(f"$ {shlex.join([f'{kind}s', '--reportformat', 'json', *args])}")
        try:
            rows = self.backend.report(kind, *args)
        except Exception as exc:
            raise self._fail(step, f"cannot read {kind} {target}: {_crash(exc)}") from exc
        if len(rows) != 1 or body["field"] not in rows[0]:
            raise self._fail(step, f"{kind} {target}: expected one row with {body['field']}, got {rows}")
        actual = rows[0][body["field"]].strip()
        self._say(f"   {body['field']}={shlex.quote(actual)}")
        return f"{target} {body['field']}", actual, body["op"], sub(body["value"])

    def _compare(self, step: Step, what: str, actual: str, op: str, want: str) -> None:
        ok = _holds(actual, op, want)
        shown = want if "\n" not in want and len(want) <= 60 else repr(want[:60])
        self._say(f"   assert {what} {op} {shown}: {'ok' if ok else 'FAILED'}")
        if not ok:
            raise self._fail(step, f"assertion failed: {what} is {actual!r}, expected {op} {want!r}")

    def _assert_file(self, step: Step, result: Result) -> None:
        body = step.body
        for key, op in (("contains", "contains"), ("equals", "==")):
            if key in body:
                want = substitute(str(body[key]), self.values, step.where)
                self._compare(step, str(body["file"]), result.stdout, op, want)


def _said(stderr: str, limit: int = 3) -> str:
    """What a failed command said on stderr (its first lines: the error before any usage text), to
    show with the failure."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    more = f"\n  ({len(lines) - limit} more lines)" if len(lines) > limit else ""
    return "".join(f"\n  {line}" for line in lines[:limit]) + more


def _crash(exc: BaseException) -> str:
    """An exception as one line, with where it was raised (for bugs in a backend)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


COMPARISONS: dict[str, Callable[[Any, Any], Any]] = {
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}


def _holds(actual: str, op: str, want: str) -> bool:
    """Compare as numbers when both sides are numbers, else as strings."""
    if op == "contains":
        return want in actual
    a, b = _number(actual), _number(want)
    if a is not None and b is not None:
        return bool(COMPARISONS[op](a, b))
    return bool(COMPARISONS[op](actual, want))


def find(name: str) -> Path:
    """A scenario file: a path, or the name of a scenario shipped in scenarios/."""
    path = Path(name)
    if path.exists() or path.suffix in (".yaml", ".yml") or "/" in name:
        return path
    return SCENARIO_DIR / f"{name}.yaml"


SCENARIO_DIR = Path(__file__).resolve().parent.parent.parent / "scenarios"
