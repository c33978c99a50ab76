"""`lvsim render`: a scenario as an audited bash script that does the same work on a real host.

The script comes from `templates/scenario.sh.j2`.  Every value reaches bash through `shell_word()`
(shlex quoting; values only known at run time, such as disk paths and saved command output, become
double-quoted variable expansions), and the template refuses to print anything that did not go
through a quoting filter.  Names are checked against LVM's rules before anything is rendered.

The scenario is first run on the simulator (`lvsim.scenarios.plan.simulate`): that run says which VGs, LVs and
PVs each command creates or removes, so the script pushes the matching undo command right after each
change, pops it when the scenario undoes the change itself, and checks in its preflight that none of
them exists yet.
"""

from __future__ import annotations

import copy
import re
import shlex
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import jinja2

from lvsim import __version__, dispatch
from lvsim.core import devmap
from lvsim.core.errors import ArgError, LvmError
from lvsim.core.model import VG, LVKind, State
from lvsim.core.names import (
    RESERVED_PREFIXES,
    RESERVED_SUBSTRINGS,
    check_new_lv_name,
    check_new_vg_name,
    dm_name,
    name_problem,
    split_lv_arg,
)
from lvsim.core.units import format_size
from lvsim.scenarios.loader import Scenario, ScenarioError, Step, defines, references, substitute
from lvsim.scenarios.plan import Executed, Simulation, simulate
from lvsim.scenarios.steps import Command, commands, size_bytes

# A value only known when the script runs (a disk path, a saved output) stands in the argv as
# OPEN + bash variable name + CLOSE until shell_word() turns it into "${name}".
OPEN, CLOSE = "\x1e", "\x1f"
_RUNTIME = re.compile(f"{OPEN}([A-Za-z_][A-Za-z0-9_]*){CLOSE}")

# Environment names a disk must not take over.
RESERVED_ENV = {"PATH", "HOME", "IFS", "PWD", "OLDPWD", "SHELL", "USER", "TMPDIR", "TERM", "UID", "EUID"}
RESERVED_ENV_PREFIXES = ("BASH", "LC_", "LANG", "LVSIM_", "SHELLOPTS", "PS")

VG_TOOLS = {"vgcreate", "vgextend", "vgreduce", "vgremove", "vgchange", "vgrename", "vgs", "vgdisplay"}
LV_TOOLS = {"lvcreate", "lvremove", "lvextend", "lvreduce", "lvresize", "lvchange", "lvconvert", "lvrename"}
LV_TOOLS |= {"lvs", "lvdisplay"}
_MOUNT_VALUE_OPTIONS = {"-t", "-o", "-O", "-L", "-U", "--types", "--options", "--label", "--uuid"}
_KIND_RANK = {LVKind.THIN_POOL: 0, LVKind.LINEAR: 1, LVKind.THIN: 2, LVKind.COW: 3}


class RenderError(Exception):
    """A scenario that cannot be rendered; the message says where and why."""


class Shell(str):
    """Text that is already valid, quoted shell."""


def runtime(var: str) -> str:
    """The placeholder for the bash variable `var` in argv text."""
    return f"{OPEN}{var}{CLOSE}"


def _literal(text: str) -> str:
    """shlex quoting; text with $ or a backquote is double-quoted with those escaped instead, so
    that shellcheck does not take it for an expansion that was meant to happen."""
    if "$" in text or "`" in text:
        return '"' + re.sub(r'([$`"\\])', r"\\\1", text) + '"'
    return shlex.quote(text)


def shell_word(text: str) -> Shell:
    """One shell word: literal parts quoted, run-time values as "${var}"."""
    parts: list[str] = []
    pos = 0
    for match in _RUNTIME.finditer(text):
        if match.start() > pos:
            parts.append(_literal(text[pos : match.start()]))
        parts.append(f'"${{{match.group(1)}}}"')
        pos = match.end()
    if pos < len(text) or not parts:
        parts.append(_literal(text[pos:]))
    return Shell("".join(parts))


def shell_words(words: Iterable[str]) -> Shell:
    return Shell(" ".join(shell_word(w) for w in words))


def _comment(value: Any) -> Shell:
    """Text for a comment: one line of printable characters."""
    return Shell("".join(c if c.isprintable() else "?" for c in str(value)))


def _finalize(value: Any) -> Any:
    if isinstance(value, Shell) or value == "":
        return value
    raise RenderError(f"internal error: unquoted value {value!r} in the template")


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("lvsim", "templates"),
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
        comment_start_string="<#",
        comment_end_string="#>",
        undefined=jinja2.StrictUndefined,
        finalize=_finalize,
        autoescape=False,
    )
    env.filters["q"] = lambda v: shell_word(str(v))
    env.filters["join_q"] = lambda vs: shell_words(str(v) for v in vs)
    env.filters["comment"] = _comment
    return env


# -- names -----------------------------------------------------------------------------------------


def _lvm_tool(argv: tuple[str, ...]) -> tuple[str, list[str]]:
    tool = argv[0].rsplit("/", 1)[-1]
    rest = list(argv[1:])
    if tool == "lvm" and rest:
        tool, rest = rest[0], rest[1:]
    return tool, rest


def _name_checks(argv: tuple[str, ...]) -> list[tuple[str, str, Callable[[], str]]]:
    """(what, value, check) for every VG or LV name in an LVM command line; check gives the problem."""
    tool, rest = _lvm_tool(argv)
    entry = dispatch.lookup(tool) if tool in VG_TOOLS | LV_TOOLS else None  # imports its module
    if entry is None:
        return []
    try:
        args = entry[0].parse(rest)
    except (ArgError, LvmError):
        return []
    out: list[tuple[str, str, Callable[[], str]]] = []

    def problem_of(fn: Callable[[], None]) -> Callable[[], str]:
        def check() -> str:
            try:
                fn()
            except LvmError as exc:
                return str(exc.lines[0])
            return ""

        return check

    def path(arg: str, new_lv: bool = False) -> None:
        vg, lv = split_lv_arg(arg)
        if vg:
            out.append(("VG", vg, lambda: name_problem(vg)))
        if lv and new_lv:
            out.append(("LV", lv, problem_of(lambda: check_new_lv_name(vg, lv, tool))))
        elif lv:
            out.append(("LV", lv, lambda: name_problem(lv)))

    pos = [str(p) for p in args.pos]
    if tool == "vgcreate" and pos:
        out.append(("VG", pos[0], problem_of(lambda: check_new_vg_name(pos[0], tool))))
    elif tool in ("vgextend", "vgreduce") and pos:
        out.append(("VG", pos[0], lambda: name_problem(pos[0])))
    elif tool in VG_TOOLS:
        out.extend(("VG", p, lambda p=p: name_problem(p)) for p in pos)
    elif tool in ("lvcreate", "lvextend", "lvreduce", "lvresize") and pos:
        path(pos[0])
    elif tool == "lvrename":
        for i, p in enumerate(pos):
            path(p, new_lv=i == len(pos) - 1)
    else:
        for p in pos:
            if not p.startswith("/dev/") or p.count("/") == 3 or p.startswith("/dev/mapper/"):
                path(p)
    for opt in ("name", "thinpool", "poolmetadata"):
        for value in args.opts.get(opt, []):
            if isinstance(value, str):
                path(value if "/" in value else f"/{value}", new_lv=opt == "name")
    return [(w, v, c) for w, v, c in out if OPEN not in v]


def check_names(sc: Scenario) -> None:
    """Refuse a scenario whose VG or LV names break LVM's rules, naming the variable responsible."""
    values = _render_values(sc)
    for step in sc.flat_steps():
        if step.kind == "foreach":
            values[str(step.body["as"])] = runtime(f"v_{step.body['as']}")
            continue
        expected_failure = step.kind == "expect_failure" or step.spec.get("expect_rc", 0) != 0
        if step.kind in ("compute", "assert") or expected_failure:
            _bind_defined(step, values)
            continue
        for cmd in commands(step, values):
            for what, value, check in _name_checks(cmd.argv):
                problem = check()
                if problem:
                    raise RenderError(_name_message(sc, step, what, value, problem, cmd))
        _bind_defined(step, values)


def _name_message(sc: Scenario, step: Step, what: str, value: str, problem: str, cmd: Command) -> str:
    used = sorted({ref for text in _spec_strings(step.spec) for ref in references(text)})
    culprits = [n for n in used if n in sc.vars and sc.vars[n] and sc.vars[n] in value]
    where = f"{step.where}: step {step.index + 1}"
    if culprits:
        shown = ", ".join(f"${{{n}}} = {sc.vars[n]!r}" for n in culprits)
        return (
            f"{where}: variable {shown} gives the {what} name {value!r}, which LVM refuses: {problem} "
            "(nothing rendered)"
        )
    return (
        f"{where}: {what} name {value!r} in `{cmd.cmdline}` is refused by LVM: {problem} (nothing rendered)"
    )


def _spec_strings(value: Any) -> Iterable[str]:
    if isinstance(value, Mapping):
        for item in value.values():
            yield from _spec_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _spec_strings(item)
    elif isinstance(value, str):
        yield value


# -- from simulation to script ---------------------------------------------------------------------


def _render_values(sc: Scenario) -> dict[str, str]:
    """The values steps see in the script: run-time parameters (and the plain variables made from
    them) and disk paths as bash variables, the rest as loaded."""
    values: dict[str, str] = {}
    for name, spec in sc.var_specs.items():
        if name in sc.params:
            values[name] = runtime(f"p_{name}")
        elif isinstance(spec, Mapping) or name in sc.overrides:
            values[name] = sc.vars[name]
        else:
            values[name] = substitute(str(spec), values, sc.where("vars", name))
    if not sc.existing_vgs and not sc.existing_lvs:
        values.update({f"disk.{name}": runtime(f"disk_{name}") for name in sc.disks})
    return values


class Names:
    """What the simulated run's names (VGs, LVs, devices) are in the script: a name that came from a
    run-time value (a parameter, a disk, a saved output, a loop's LV) is written with that value's
    bash variable.  Learned from the argv of each command as simulated and as rendered."""

    def __init__(self, known: Mapping[str, str] | None = None) -> None:
        self.map: dict[str, str] = dict(known or {})

    def learn(self, simulated: Iterable[str], rendered: Iterable[str]) -> None:
        for sim, ren in zip(simulated, rendered, strict=False):
            if OPEN not in ren:
                continue
            sim_parts, ren_parts = sim.split("/"), ren.split("/")
            if len(sim_parts) != len(ren_parts):
                continue
            for s, r in zip(sim_parts, ren_parts, strict=True):
                if s and OPEN in r:
                    self.map[s] = r

    def __call__(self, name: str) -> str:
        return self.map.get(name, name)

    def runtime_dependent(self, name: str) -> bool:
        """Whether a device-mapper name holds a run-time value (its escaping is bash's business)."""
        return any(s and s.replace("-", "--") in name for s, r in self.map.items() if OPEN in r)


def _bind_defined(step: Step, values: dict[str, str]) -> None:
    name = defines(step)
    if name:
        values[name] = runtime(f"v_{name}")


def _visible_lvs(state: State) -> dict[tuple[str, str], LVKind]:
    """(vg, lv) -> kind of every visible LV, in creation order."""
    return {(vg.name, lv.name): lv.kind for vg in state.vgs.values() for lv in vg.lvs.values() if lv.visible}


def _lvm_undo(rec: Executed, w: Names) -> list[Shell]:
    """undo_push/undo_pop lines for the VGs, LVs and PVs one command created or removed."""
    lines: list[Shell] = []
    before, after = rec.before, rec.after

    def push(key: str, *argv: str) -> None:
        lines.append(Shell(f"undo_push {shell_word(key)} -- {shell_words(argv)}"))

    def pop(key: str) -> None:
        lines.append(Shell(f"undo_pop {shell_word(key)}"))

    old_lvs, new_lvs = _visible_lvs(before), _visible_lvs(after)
    for (vg, lv), _kind in reversed(list(old_lvs.items())):
        if (vg, lv) not in new_lvs:
            pop(f"kpartx:/dev/{w(vg)}/{w(lv)}")
            pop(f"kpartx:/dev/mapper/{dm_name(w(vg), w(lv))}")
            pop(f"lv:{w(vg)}/{w(lv)}")
    for vg in reversed(list(before.vgs)):
        if vg not in after.vgs:
            pop(f"vg:{w(vg)}")
    for dev in before.pvs:
        if dev not in after.pvs:
            pop(f"pv:{w(dev)}")
    for dev in after.pvs:
        if dev not in before.pvs:
            push(f"pv:{w(dev)}", "pvremove", "-y", w(dev))
    for vg in after.vgs:
        if vg not in before.vgs:
            push(f"vg:{w(vg)}", "vgremove", "-f", w(vg))
    created = [(key, kind) for key, kind in new_lvs.items() if key not in old_lvs]
    for (vg, lv), _kind in sorted(created, key=lambda item: _KIND_RANK.get(item[1], 1)):
        push(f"lv:{w(vg)}/{w(lv)}", "lvremove", "-f", f"{w(vg)}/{w(lv)}")
    return lines


def _positionals(words: list[str], value_options: set[str]) -> list[str]:
    out, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word in value_options:
            skip = True
        elif not word.startswith("-") or word == "-":
            out.append(word)
    return out


def _host_undo(argv: tuple[str, ...]) -> list[Shell]:
    """undo lines for mounts, partition mappings and device-mapper devices (from the command line)."""
    tool, rest = argv[0].rsplit("/", 1)[-1], list(argv[1:])
    lines: list[Shell] = []
    if tool == "mount":
        pos = _positionals(rest, _MOUNT_VALUE_OPTIONS)
        if len(pos) == 2:
            dev, target = pos
            keys = f"{shell_word('mount:' + target)} {shell_word('mount:' + dev)}"
            lines.append(Shell(f"undo_push {keys} -- umount {shell_word(target)}"))
    elif tool == "umount":
        lines += [Shell(f"undo_pop {shell_word('mount:' + p)}") for p in _positionals(rest, {"-t", "-O"})]
    elif tool == "kpartx" and rest:
        flags = "".join(w[1:] for w in rest if w.startswith("-") and not w.startswith("--"))
        dev = _positionals(rest, {"-p", "-t"})[-1:]
        if dev and "a" in flags:
            key = shell_word(f"kpartx:{dev[0]}")
            lines.append(Shell(f"undo_push {key} -- kpartx -d {shell_word(dev[0])}"))
        elif dev and "d" in flags:
            lines.append(Shell(f"undo_pop {shell_word('kpartx:' + dev[0])}"))
    elif tool == "dmsetup" and rest:
        pos = _positionals(rest, {"-u", "--uuid", "-j", "-m", "--table"})
        if pos[:1] == ["create"] and len(pos) > 1:
            lines.append(
                Shell(f"undo_push {shell_word('dm:' + pos[1])} -- dmsetup remove {shell_word(pos[1])}")
            )
        elif pos[:1] == ["remove"]:
            for name in pos[1:]:
                name = name.removeprefix("/dev/mapper/")
                lines.append(Shell(f"undo_pop {shell_word('dm:' + name)}"))
    elif tool == "rmdir":
        lines += [Shell(f"undo_pop {shell_word('dir:' + p)}") for p in _positionals(rest, set())]
    return lines


@dataclass
class StepScript:
    """One scenario step as bash lines."""

    banner: str
    lines: list[Shell] = field(default_factory=list)


def _expected(step: Step, last: bool) -> str:
    if not last:
        return "0"
    default = "nonzero" if step.kind == "expect_failure" else 0
    return str(step.spec.get("expect_rc", default))


def _command_lines(step: Step, cmd: Command, expect: str, values: Mapping[str, str]) -> list[Shell]:
    lines: list[Shell] = []
    stdin = "''"
    if step.kind == "write" and "pattern" in step.body:
        pattern = substitute(str(step.body["pattern"]), values, step.where)
        lines.append(Shell(f"feed {shell_word(pattern)} {len(cmd.stdin)}"))
        stdin = '"$WORK/in"'
    elif cmd.stdin:
        lines.append(Shell(f"input {shell_word(cmd.stdin)}"))
        stdin = '"$WORK/in"'
    lines.append(Shell(f"cmd {shell_word(expect)} {stdin} {shell_words(cmd.argv)}"))
    return lines


def _value_assert(step: Step, values: Mapping[str, str]) -> list[Shell]:
    body = step.body

    def sub(value: Any) -> Shell:
        return shell_word(substitute(str(value), values, step.where))

    if "var" in body:
        what = shell_word(f"var {body['var']}")
        actual = shell_word(values[body["var"]])
        return [Shell(f"compare {what} {actual} {shell_word(body['op'])} {sub(body['value'])}")]
    kind = next(k for k in ("lv", "vg", "pv") if k in body)
    if body.get("absent"):
        return [Shell(f"absent {kind} {sub(body[kind])}")]
    units = shell_word(body.get("units", ""))
    what = shell_word(f"{substitute(str(body[kind]), values, step.where)} {body['field']}")
    return [
        Shell(f"report {kind} {sub(body[kind])} {shell_word(body['field'])} {units}"),
        Shell(f'compare {what} "$OUT" {shell_word(body["op"])} {sub(body["value"])}'),
    ]


def _file_assert(step: Step, values: Mapping[str, str]) -> list[Shell]:
    body = step.body
    what = shell_word(substitute(str(body["file"]), values, step.where))
    for key, op in (("contains", "contains"), ("equals", "==")):
        if key in body:
            want = shell_word(substitute(str(body[key]), values, step.where))
            return [Shell(f'compare {what} "$OUT" {op} {want}')]
    return []


def _save_lines(step: Step, name: str) -> list[Shell]:
    var = f"v_{name}"
    lines = [Shell(f'{var}=$(trim "$OUT")')]
    save = step.spec.get("save")
    if isinstance(save, Mapping) and save.get("strip_suffix"):
        lines.append(Shell(f"{var}=${{{var}%{shlex.quote(str(save['strip_suffix']))}}}"))
    lines += [
        Shell(f"if ((DRY_RUN)); then {var}={shlex.quote(f'<{name}>')}; fi"),
        Shell(f'log {shell_word(name + "=")}"${var}"'),
    ]
    if step.kind == "mktemp":
        lines.append(Shell(f'undo_push "dir:${var}" -- rmdir -- "${var}"'))
    return lines


class _Scripter:
    """Turns the scenario's steps into bash lines, with the simulation's record of each command."""

    def __init__(self, sc: Scenario, sim: Simulation, names: Names) -> None:
        self.sc = sc
        self.sim = sim
        self.names = names
        self.values = _render_values(sc)
        self.total = len(sc.flat_steps())
        self.done: dict[int, list[Executed]] = {}
        for rec in sim.records:
            self.done.setdefault(rec.step.index, []).append(rec)
        self.aside: dict[int, list[Executed]] = {}
        for rec in sim.aside:
            self.aside.setdefault(rec.step.index, []).append(rec)
        self.loops: list[LoopChecks] = []

    def step(self, step: Step) -> StepScript:
        title = f": {step.title}" if step.title else f" ({step.kind})"
        script = StepScript(f"step {step.index + 1}/{self.total}{title}")
        condition = self._condition(step) if step.when is not None else None
        lines = self._foreach(step) if step.kind == "foreach" else self._body(step)
        if condition is not None:
            skipped = f"{script.banner}: skipped, {condition[1]} does not hold"
            lines = [
                condition[0],
                *_indent(self._room(step)),
                *_indent(lines),
                Shell("else"),
                Shell(f"  log {shell_word(skipped)}"),
                Shell("fi"),
            ]
        script.lines = lines
        return script

    def _room(self, step: Step) -> list[Shell]:
        """Checks, once its condition holds, that a conditional step has the room it takes and that
        none of the VGs and LVs it creates exists yet (a loop checks its own)."""
        steps = {step.index, *(c.index for c in step.children)}
        records = [r for r in self.sim.records + self.sim.aside if r.step.index in steps]
        if not records:
            return []
        vgs, pools = _room_needs(records, records[0].before, self.names)
        lines = [Shell(f"need_free {shell_word(n.target)} {n.bytes}") for n in vgs]
        lines += [Shell(f"need_pool_room {shell_word(n.target)} {n.bytes}") for n in pools]
        if step.kind == "foreach":
            return lines
        new_vgs: list[str] = []
        new_lvs: list[str] = []
        for rec in records:
            new_vgs += [self.names(v) for v in rec.after.vgs if v not in rec.before.vgs]
            old = _visible_lvs(rec.before)
            new_lvs += [
                f"{self.names(v)}/{self.names(lv)}" for v, lv in _visible_lvs(rec.after) if (v, lv) not in old
            ]
        for kind, names in (("vg", new_vgs), ("lv", new_lvs)):
            if names:
                lines.append(Shell(f"need_new {kind} {shell_words(dict.fromkeys(names))}"))
        return lines

    def _sub(self, step: Step, value: Any) -> str:
        return substitute(str(value), self.values, step.where)

    def _condition(self, step: Step) -> tuple[Shell, str]:
        """The `if` line of a step's when: condition, and the condition as text."""
        when = step.when or {}
        op, want = shell_word(when["op"]), shell_word(self._sub(step, when["value"]))
        if "var" in when:
            what = f"${{{when['var']}}} {when['op']} {self._sub(step, when['value'])}"
            actual = shell_word(self.values[when["var"]])
            return Shell(f"if when_var {shell_word(what)} {actual} {op} {want}; then"), what
        kind = next(k for k in ("lv", "vg", "pv") if k in when)
        target = self._sub(step, when[kind])
        what = f"{target} {when['field']} {when['op']} {self._sub(step, when['value'])}"
        units = shell_word(when.get("units", ""))
        line = (
            f"if when_field {kind} {shell_word(target)} {shell_word(when['field'])} {units} {op} {want}; then"
        )
        return Shell(line), what

    def _records(self, step: Step, count: int) -> list[Executed]:
        records = self.done.get(step.index) or self.aside.get(step.index) or []
        if len(records) < count:
            failure = self.sim.aside_failures.get(step.index)
            if failure:
                raise RenderError(
                    f"{step.where}: step {step.index + 1}: the simulation could not run it: {failure}"
                )
            raise RenderError(
                f"{step.where}: step {step.index + 1}: the simulation ran a different command list"
            )
        return records[:count]

    def _body(self, step: Step) -> list[Shell]:
        values = self.values
        lines: list[Shell] = []
        if step.kind == "compute":
            name, scale = step.body["var"], int(step.body.get("scale", 0))
            expr = shell_word(substitute(str(step.body["expr"]), values, step.where))
            var = f"v_{name}"
            lines += [
                Shell(f"log {shell_word(f'+ bc: scale={scale}; ')}{expr}"),
                Shell(
                    f"if ((DRY_RUN)); then {var}={shlex.quote(f'<{name}>')}; else {var}=$(calc {scale} {expr}); fi"
                ),
                Shell(f'log {shell_word(name + "=")}"${var}"'),
            ]
        elif step.kind == "assert" and "file" not in step.body:
            lines += _value_assert(step, values)
        else:
            cmds = commands(step, values)
            records = self._records(step, len(cmds))
            for i, (cmd, rec) in enumerate(zip(cmds, records, strict=True)):
                self.names.learn(rec.command.argv, cmd.argv)
                expect = _expected(step, i == len(cmds) - 1)
                lines += _command_lines(step, cmd, expect, values)
                if expect == "0":
                    lines += _lvm_undo(rec, self.names) + _host_undo(cmd.argv)
            last = step.spec
            for key, stream in (("expect_stdout_contains", "OUT"), ("expect_stderr_contains", "ERR")):
                if key in last:
                    want = shell_word(substitute(str(last[key]), values, step.where))
                    lines.append(Shell(f'check_contains {stream[:3].lower()} "${stream}" {want}'))
            if step.kind == "assert":
                lines += _file_assert(step, values)
        name = defines(step)
        if name and step.kind != "compute":
            lines += _save_lines(step, name)
        _bind_defined(step, values)
        return lines

    def _foreach(self, step: Step) -> list[Shell]:
        """for each LV with the tag: the loop's own new-LV checks, then its steps."""
        var = str(step.body["as"])
        vg, tag = self._sub(step, step.body["vg"]), self._sub(step, step.body["tag"])
        saved = dict(self.names.map)
        self.values[var] = runtime(f"v_{var}")
        inner: list[Shell] = []
        for child in step.children:
            script = self.step(child)
            inner += [Shell(f"log {shell_word(script.banner)}"), *script.lines]
        checks = _loop_checks(self.sim, step, self.names, var)
        # what the loop's LV names taught is forgotten after it; the rest (parameters) is kept
        mine = runtime(f"v_{var}")
        self.names.map = {k: v for k, v in self.names.map.items() if mine not in v}
        for k, v in saved.items():
            self.names.map.setdefault(k, v)
        del self.values[var]
        return [
            Shell(f"list_tagged {shell_word(vg)} {shell_word(tag)}"),
            Shell(f'for v_{var} in "${{ITEMS[@]}}"; do'),
            Shell(f'  log {shell_word(f"{var}=")}"$v_{var}"'),
            *_indent(checks),
            *_indent(inner),
            Shell("done"),
        ]


@dataclass(frozen=True)
class LoopChecks:
    """What one pass of a loop creates: kept (left at the end of the pass) and transient."""

    kept: list[str]
    transient: list[str]


def _indent(lines: Iterable[Shell]) -> list[Shell]:
    return [Shell(f"  {line}") for line in lines]


def _loop_checks(sim: Simulation, step: Step, names: Names, var: str) -> list[Shell]:
    """The checks at the top of a pass: done before (everything the pass keeps is there and nothing it
    removes again is): skipped; else none of the LVs it creates may exist yet."""
    children = {c.index for c in step.children}
    records = [r for r in sim.records + sim.aside if r.step.index in children]
    first: list[Executed] = []
    for rec in records:  # the first pass: up to the first command of a second pass
        if first and rec.step.index == step.children[0].index and rec.step.index != first[-1].step.index:
            break
        first.append(rec)
    if not first:
        return []
    before, after = _visible_lvs(first[0].before), _visible_lvs(first[-1].after)
    created: list[str] = []
    for rec in first:
        old = _visible_lvs(rec.before)
        for vg, lv in _visible_lvs(rec.after):
            if (vg, lv) not in old and (vg, lv) not in before:
                key = f"{names(vg)}/{names(lv)}"
                if key not in created:
                    created.append(key)
    kept_keys = {f"{names(vg)}/{names(lv)}" for vg, lv in after}
    kept = [k for k in created if k in kept_keys]
    transient = [k for k in created if k not in kept_keys]
    lines: list[Shell] = []
    if kept:
        absent = f" && none_exist lv {shell_words(transient)}" if transient else ""
        lines += [
            Shell(f"if all_exist lv {shell_words(kept)}{absent}; then"),
            Shell(f'  log "{var}=$v_{var}: done before ({shell_words(kept)} exist), skipped"'),
            Shell("  continue"),
            Shell("fi"),
        ]
    if created:
        lines.append(Shell(f"need_new lv {shell_words(created)}"))
    return lines


@dataclass(frozen=True)
class DiskParam:
    """A scenario disk as a script parameter."""

    name: str
    var: Shell
    env: Shell
    size: int
    size_text: str


def _disk_params(sc: Scenario) -> list[DiskParam]:
    out = []
    for name, size in sc.disks.items():
        env = name.upper()
        if env in RESERVED_ENV or env.startswith(RESERVED_ENV_PREFIXES):
            raise RenderError(
                f"{sc.where('disks', name)}: disk name {name!r} would take over ${env}; rename it"
            )
        nbytes = size_bytes(size, sc.where("disks", name))
        out.append(
            DiskParam(name, Shell(f"disk_{name}"), Shell(env), nbytes, format_size(nbytes, "h").strip())
        )
    return out


def _in_loop(sim: Simulation) -> set[int]:
    return {c.index for step in sim.scenario.steps for c in step.children}


def _conditional(sc: Scenario) -> set[int]:
    """The steps that run only when a condition holds (a `when:` step, and a conditional loop's steps)."""
    found = {s.index for s in sc.flat_steps() if s.when is not None}
    return found | {c.index for s in sc.steps if s.when is not None for c in s.children}


def _new_devices(sim: Simulation, w: Names) -> tuple[list[str], list[str], list[str], list[str], list[str]]:
    """VGs, LVs (vg/lv) and device-mapper devices the scenario creates, for the preflight (those a
    loop or a conditional step creates are checked there); and of the VGs and LVs, those it keeps."""
    vgs: list[str] = []
    lvs: list[str] = []
    dms: list[str] = []
    looped = _in_loop(sim) | _conditional(sim.scenario)

    def add(items: list[str], new: Iterable[str]) -> None:
        items.extend(item for item in new if item not in items)

    for rec in sim.records + sim.aside:
        if rec.step.index in looped:
            continue
        add(vgs, (vg for vg in rec.after.vgs if vg not in sim.start.vgs))
        old_lvs = _visible_lvs(rec.before)
        add(lvs, ((vg, lv) for vg, lv in _visible_lvs(rec.after) if (vg, lv) not in old_lvs))
        old_dms = {d.name for d in devmap.devices(rec.before)}
        add(dms, (d.name for d in devmap.devices(rec.after) if d.name not in old_dms))
    final = _visible_lvs(sim.final)
    kept_vgs = [w(vg) for vg in vgs if vg in sim.final.vgs]
    kept_lvs = [f"{w(vg)}/{w(lv)}" for vg, lv in lvs if (vg, lv) in final]
    return (
        [w(vg) for vg in vgs],
        [f"{w(vg)}/{w(lv)}" for vg, lv in lvs],
        [d for d in dms if not w.runtime_dependent(d)],
        kept_vgs,
        kept_lvs,
    )


def _allocated(vg: VG | None, lv: str) -> int:
    """The physical extents an LV holds (0 when the VG or the LV is not there)."""
    if vg is None or lv not in vg.lvs:
        return 0
    return sum(s.extents for s in vg.lvs[lv].segments)


@dataclass(frozen=True)
class RoomNeed:
    """Room the scenario needs in a VG or thin pool it finds on the host (bytes)."""

    target: str
    bytes: int
    text: str


def _room_needs(records: list[Executed], start: State, w: Names) -> tuple[list[RoomNeed], list[RoomNeed]]:
    """The free space the scenario takes at its peak in each VG it finds (an allocation of %FREE or %VG
    counts as one extent: it takes what there is), and the data it writes at its peak into each thin
    pool it finds."""
    from lvsim.core import usage
    from lvsim.scenarios.plan import _percent_allocation

    vg_peak: dict[str, int] = {}
    pool_peak: dict[tuple[str, str], int] = {}
    relative: set[tuple[str, str]] = set()
    for rec in records:
        for name, vg in rec.after.vgs.items():
            if name not in start.vgs:
                continue
            old = start.vgs[name]
            grown = 0
            before = rec.before.vgs.get(name)
            for lv in vg.lvs.values():
                base = _allocated(old, lv.name)
                if _allocated(vg, lv.name) > base:
                    if _allocated(vg, lv.name) > _allocated(before, lv.name) and _percent_allocation(
                        rec.command.argv
                    ):
                        relative.add((name, lv.name))
                    grown += 1 if (name, lv.name) in relative else _allocated(vg, lv.name) - base
            vg_peak[name] = max(vg_peak.get(name, 0), grown * vg.extent_size)
            for lv in vg.lvs.values():
                if lv.kind != LVKind.THIN_POOL or lv.name not in old.lvs:
                    continue
                used, _ = usage.pool_data_usage(rec.after, vg, lv)
                used0, _ = usage.pool_data_usage(start, old, old.lvs[lv.name])
                key = (name, lv.name)
                pool_peak[key] = max(pool_peak.get(key, 0), (used - used0) * lv.chunk_size)
    vgs = [RoomNeed(w(n), b, format_size(b, "h").strip()) for n, b in vg_peak.items() if b > 0]
    pools = [
        RoomNeed(f"{w(v)}/{w(p)}", b, format_size(b, "h").strip()) for (v, p), b in pool_peak.items() if b > 0
    ]
    return vgs, pools


@dataclass(frozen=True)
class SpaceNeed:
    """The extents a VG the scenario creates holds at the peak of the simulated run."""

    vg: str
    peak: int
    extent_size: int
    extent_text: str
    devices: list[str]


def _space_needs(sim: Simulation) -> list[SpaceNeed]:
    peaks: dict[str, tuple[int, int, list[str]]] = {}
    disk_of = {dev: name for name, dev in sim.disks.items()}
    for rec in sim.records:
        for vg in rec.after.vgs.values():
            if vg.name in sim.start.vgs:
                continue
            used = sum(s.extents for lv in vg.lvs.values() for s in lv.segments)
            devices = [runtime(f"disk_{disk_of[p]}") for p in vg.pvs if p in disk_of]
            old = peaks.get(vg.name, (0, vg.extent_size, devices))
            peaks[vg.name] = (max(old[0], used), vg.extent_size, sorted(set(old[2]) | set(devices)))
    return [
        SpaceNeed(vg, peak, size, format_size(size, "h").strip(), devices)
        for vg, (peak, size, devices) in peaks.items()
    ]


def _tools(steps: list[StepScript], sim: Simulation, dms: list[str]) -> list[str]:
    """Every program the script runs: the scenario's commands, the undo commands, the helpers' tools."""
    tools = {"mktemp", "rm", "cat", "lvs", "vgs", "pvs"}
    tools.update(rec.command.argv[0] for rec in sim.records + sim.aside)
    lines = [line for s in steps for line in s.lines]
    tools.update(line.split(" -- ", 1)[1].split()[0] for line in lines if line.startswith("undo_push "))
    text = "\n".join(lines)
    tools.update(
        tool for needle, tool in (("calc ", "bc"), ("compare ", "awk"), ("feed ", "mkfifo")) if needle in text
    )
    if dms:
        tools.add("dmsetup")
    return sorted(tools)


def render(sc: Scenario) -> str:
    """The bash script for a loaded scenario (raises RenderError or ScenarioError)."""
    check_names(sc)
    existing = bool(sc.existing_vgs or sc.existing_lvs)
    disks = [] if existing else _disk_params(sc)
    sim = simulate(sc)
    if sim.failure:
        raise RenderError(f"the scenario fails on the simulator, so it is not rendered: {sim.failure}")
    names = Names({} if existing else {dev: runtime(f"disk_{name}") for name, dev in sim.disks.items()})
    scripter = _Scripter(sc, sim, names)
    steps = [scripter.step(step) for step in sc.steps]
    vgs, lvs, dms, kept_vgs, kept_lvs = _new_devices(sim, names)
    want_vgs, want_lvs = sc.existing(scripter.values)
    conditional = _conditional(sc)
    unconditional = [r for r in sim.records + sim.aside if r.step.index not in conditional]
    vg_room, pool_room = _room_needs(unconditional, sim.start, names)
    template = _environment().get_template("scenario.sh.j2")
    return template.render(
        name=sc.name,
        version=__version__,
        description=sc.description.strip().splitlines(),
        variables=sorted((k, v) for k, v in sc.vars.items() if k not in sc.params),
        params=[(name, kind, sc.vars[name]) for name, kind in sc.params.items()],
        reserved_prefixes=RESERVED_PREFIXES,
        reserved_substrings=RESERVED_SUBSTRINGS,
        disks=disks,
        steps=steps,
        tools=_tools(steps, sim, dms),
        new_vgs=vgs,
        new_lvs=lvs,
        new_dms=dms,
        kept_vgs=kept_vgs,
        kept_lvs=kept_lvs,
        transient_vgs=[v for v in vgs if v not in kept_vgs],
        transient_lvs=[v for v in lvs if v not in kept_lvs],
        existing_vgs=want_vgs,
        existing_lvs=want_lvs,
        vg_room=vg_room,
        pool_room=pool_room,
        space=_space_needs(sim),
        predicted_lvs=_final_lvs(sim),
    )


def _final_lvs(sim: Simulation) -> str:
    """`lvs -a` of the simulated host at the end of the run."""
    final = copy.deepcopy(sim.final)
    return dispatch.run(final, ["lvs", "-a"]).stdout


def render_file(path: str, overrides: Mapping[str, str]) -> str:
    """Load the scenario at path (with --var overrides) and render it."""
    from lvsim.scenarios import load

    try:
        return render(load(path, overrides))
    except ScenarioError as exc:
        raise RenderError(str(exc)) from exc
