"""Loading a scenario: YAML, JSON Schema validation, variables, and errors that name file and line."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import yaml

from lvsim.scenarios.arith import ArithError, evaluate

STEP_KINDS = (
    "run",
    "expect_failure",
    "compute",
    "write",
    "mkfs",
    "mount",
    "umount",
    "mktemp",
    "mkdir",
    "rmdir",
    "write_file",
    "copy",
    "rsync",
    "assert",
)
# Keys every step may carry besides its kind, and which kinds accept each.
COMMON_KEYS = {"title"}
CHECK_KEYS = {"expect_rc", "expect_stdout_contains", "expect_stderr_contains"}
NO_COMMAND_KINDS = {"compute", "assert", "mktemp"}
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}|\$\$")


class ScenarioError(Exception):
    """A scenario that cannot be loaded or run; each message reads FILE:LINE: what is wrong."""

    def __init__(self, messages: Sequence[str]) -> None:
        super().__init__("\n".join(messages))
        self.messages = list(messages)


@dataclass(frozen=True)
class Where:
    """A place in a scenario file, for messages."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Step:
    """One step: its kind (run, write, ...), the YAML mapping as written (unsubstituted), its place."""

    index: int
    kind: str
    spec: Mapping[str, Any]
    where: Where

    @property
    def body(self) -> Any:
        """The value under the step's kind key."""
        return self.spec[self.kind]

    @property
    def title(self) -> str:
        return str(self.spec.get("title", ""))


@dataclass
class Scenario:
    """A loaded, validated scenario with its variables resolved (disk paths come at run time)."""

    path: Path
    name: str
    description: str
    vars: dict[str, str]
    disks: dict[str, str]
    steps: list[Step]
    root: yaml.Node | None = field(default=None, repr=False, compare=False)

    def where(self, *path: str | int) -> Where:
        """The file and line of the YAML node at path (e.g. "steps", 3, "run")."""
        return Where(str(self.path), _line_of(self.root, path))


@cache
def schema() -> dict[str, Any]:
    """The scenario JSON Schema shipped in lvsim/schema/."""
    text = resources.files("lvsim").joinpath("schema/scenario.schema.json").read_text()
    loaded: dict[str, Any] = json.loads(text)
    return loaded


def _line_of(node: yaml.Node | None, path: Sequence[str | int]) -> int:
    """1-based line of the deepest node along path (the parent when a key is missing)."""
    if node is None:
        return 1
    for key in path:
        child = None
        if isinstance(node, yaml.MappingNode):
            child = next((v for k, v in node.value if k.value == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            child = node.value[key]
        if child is None:
            break
        node = child
    return int(node.start_mark.line) + 1


def references(text: str) -> Iterator[str]:
    """The variable names a string refers to with ${name}."""
    for match in VAR_RE.finditer(text):
        if match.group(1):
            yield match.group(1)


def substitute(text: str, values: Mapping[str, str], where: Where | None = None) -> str:
    """Replace ${name} with its value and $$ with $; an unknown name is a ScenarioError."""

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "$"
        if name not in values:
            place = f"{where}: " if where else ""
            raise ScenarioError([f"{place}unknown variable ${{{name}}}"])
        return values[name]

    return VAR_RE.sub(one, text)


def _strings(value: Any, path: tuple[str | int, ...] = ()) -> Iterator[tuple[tuple[str | int, ...], str]]:
    """Every string (and number) inside a YAML value, with its path."""
    if isinstance(value, Mapping):
        for key, item in value.items():
            yield from _strings(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _strings(item, (*path, i))
    elif isinstance(value, str):
        yield path, value


def defines(step: Step) -> str | None:
    """The variable a step sets (save, compute, mktemp), if any."""
    if step.kind == "compute":
        return str(step.body["var"])
    if step.kind == "mktemp":
        return str(step.body)
    save = step.spec.get("save")
    if isinstance(save, Mapping):
        return str(save["var"])
    return str(save) if save else None


def _schema_messages(data: Any, file: str, root: yaml.Node | None) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema())
    messages = []
    for error in sorted(validator.iter_errors(data), key=lambda e: list(map(str, e.absolute_path))):
        path = list(error.absolute_path)
        extra = _extra_keys(error)
        line = _line_of(root, [*path, extra[0]] if extra else path)
        at = "/".join(map(str, path)) or "top level"
        messages.append(f"{file}:{line}: {at}: {_explain(error)}")
    return messages


def _extra_keys(error: jsonschema.ValidationError) -> list[str]:
    """The keys an additionalProperties error is about."""
    if error.validator != "additionalProperties" or not isinstance(error.instance, dict):
        return []
    return sorted(set(error.instance) - set(error.schema.get("properties", {})))


def _explain(error: jsonschema.ValidationError) -> str:
    """A readable message, in particular for the step-kind and assert-kind oneOf checks."""
    instance = error.instance
    if error.validator == "oneOf" and isinstance(instance, dict):
        kinds = [s["required"][0] for s in error.validator_value if list(s) == ["required"]]
        if kinds:
            present = [k for k in kinds if k in instance]
            if not present:
                return f"needs one of: {', '.join(kinds)}"
            if len(present) > 1:
                return f"has more than one of {', '.join(present)} (one per step)"
    extra = _extra_keys(error)
    if extra:
        allowed = sorted(error.schema.get("properties", {}))
        return f"unknown key {', '.join(map(repr, extra))} (allowed: {', '.join(allowed)})"
    if error.validator == "oneOf" and error.context:
        return str(jsonschema.exceptions.best_match(error.context).message)
    return str(error.message)


def _semantic_messages(data: dict[str, Any], file: str, root: yaml.Node | None) -> list[str]:
    """Checks the schema cannot express: which keys go with which kind, and variables defined before use."""
    messages: list[str] = []

    def say(path: Sequence[str | int], text: str) -> None:
        messages.append(f"{file}:{_line_of(root, path)}: {text}")

    known = set(data.get("vars") or {}) | {f"disk.{name}" for name in data.get("disks") or {}}
    for name, value in (data.get("vars") or {}).items():
        text = value["expr"] if isinstance(value, dict) else str(value)
        for ref in references(text):
            if ref not in known or ref == name:
                say(("vars", name), f"vars/{name}: unknown variable ${{{ref}}}")
    for name, size in (data.get("disks") or {}).items():
        for ref in references(str(size)):
            if ref not in known or ref.startswith("disk."):
                say(("disks", name), f"disks/{name}: unknown variable ${{{ref}}}")
    for i, spec in enumerate(data["steps"]):
        kind = next(k for k in STEP_KINDS if k in spec)
        step = Step(i, kind, spec, Where(file, 0))
        base = ("steps", i)
        for path, text in _strings(spec):
            for ref in references(text):
                if ref not in known:
                    say(
                        (*base, *path), f"steps/{i}: unknown variable ${{{ref}}} (not set by an earlier step)"
                    )
        extra = set(spec) - COMMON_KEYS - {kind}
        allowed = set() if kind in NO_COMMAND_KINDS else set(CHECK_KEYS)
        if kind in ("run", "expect_failure"):
            allowed |= {"stdin"}
        if kind == "run":
            allowed |= {"save"}
        for key in sorted(extra - allowed):
            say((*base, key), f"steps/{i}: {key!r} does not apply to a {kind} step")
        if kind == "expect_failure" and spec.get("expect_rc") == 0:
            say((*base, "expect_rc"), f"steps/{i}: expect_failure with expect_rc 0")
        if kind == "assert":
            problem = _assert_problem(spec["assert"])
            if problem:
                say((*base, "assert"), f"steps/{i}: {problem}")
        name = defines(step)
        if name:
            known.add(name)
    return messages


# What each assert target accepts: (required keys, optional keys) per form.
ASSERT_FORMS: dict[str, list[tuple[set[str], set[str]]]] = {
    **{t: [({"field", "op", "value"}, {"units"}), ({"absent"}, set())] for t in ("lv", "vg", "pv")},
    "file": [({"contains"}, set()), ({"equals"}, set()), ({"same_as"}, set()), ({"absent"}, set())],
    "var": [({"op", "value"}, set())],
}


def _assert_problem(body: Mapping[str, Any]) -> str | None:
    """What is wrong with the keys of an assert step, if anything."""
    target = next(k for k in ASSERT_FORMS if k in body)
    keys = set(body) - {target}
    forms = ASSERT_FORMS[target]
    if any(required <= keys <= required | optional for required, optional in forms):
        return None
    shown = " | ".join(
        "+".join(sorted(required)) + "".join(f" [+{o}]" for o in sorted(optional))
        for required, optional in forms
    )
    return f"assert on {target} takes {shown}; got {', '.join(sorted(keys)) or 'nothing'}"


def load(path: str | Path, overrides: Mapping[str, str] | None = None) -> Scenario:
    """Read, validate and resolve a scenario; --var overrides replace declared variables."""
    path = Path(path)
    file = str(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ScenarioError([f"{file}: cannot read: {exc.strerror}"]) from exc
    try:
        data = yaml.safe_load(text)
        root = yaml.compose(text)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else 1
        raise ScenarioError([f"{file}:{line}: invalid YAML: {exc.problem}"]) from exc
    messages = _schema_messages(data, file, root)
    if not messages:
        messages = _semantic_messages(data, file, root)
    if messages:
        raise ScenarioError(messages)
    overrides = dict(overrides or {})
    declared = data.get("vars") or {}
    unknown = sorted(set(overrides) - set(declared))
    if unknown:
        raise ScenarioError(
            [
                f"{file}: --var {name}: no such variable (declared: {', '.join(declared) or 'none'})"
                for name in unknown
            ]
        )
    values: dict[str, str] = {}
    for name, value in declared.items():
        where = Where(file, _line_of(root, ("vars", name)))
        if name in overrides:
            values[name] = overrides[name]
        elif isinstance(value, dict):
            expr = substitute(value["expr"], values, where)
            try:
                values[name] = evaluate(expr, int(value.get("scale", 0)))
            except ArithError as exc:
                raise ScenarioError([f"{where}: vars/{name}: {exc}"]) from exc
        else:
            values[name] = substitute(str(value), values, where)
    disks = {
        name: substitute(str(size), values, Where(file, _line_of(root, ("disks", name))))
        for name, size in (data.get("disks") or {}).items()
    }
    steps = [
        Step(i, next(k for k in STEP_KINDS if k in spec), spec, Where(file, _line_of(root, ("steps", i))))
        for i, spec in enumerate(data["steps"])
    ]
    return Scenario(path, data["name"], data["description"], values, disks, steps, root)
