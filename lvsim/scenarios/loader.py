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
    "foreach",
)
# Keys every step may carry besides its kind, and which kinds accept each.
COMMON_KEYS = {"title", "when"}
CHECK_KEYS = {"expect_rc", "expect_stdout_contains", "expect_stderr_contains"}
NO_COMMAND_KINDS = {"compute", "assert", "mktemp", "foreach"}
_TAG = re.compile(r"[A-Za-z0-9_+.\-/=!:&#]+")
VAR_RE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?)\}|\$\$")


# Bounds on what a scenario file may make the loader do (a file is data, not a way to exhaust memory).
MAX_FILE_BYTES = 1 << 20
MAX_NODES = 100_000  # YAML nodes once aliases are expanded (a 300-byte "billion laughs" has 10^8)
MAX_DEPTH = 64
MAX_MESSAGES = 20
MAX_MESSAGE_CHARS = 400


def _clip(text: str) -> str:
    """A message cut to MAX_MESSAGE_CHARS (it may quote a hostile file's content)."""
    return text if len(text) <= MAX_MESSAGE_CHARS else text[: MAX_MESSAGE_CHARS - 3] + "..."


class ScenarioError(Exception):
    """A scenario that cannot be loaded or run; each message reads FILE:LINE: what is wrong.

    At most MAX_MESSAGES messages are kept, each at most MAX_MESSAGE_CHARS long."""

    def __init__(self, messages: Sequence[str]) -> None:
        kept = [_clip(m) for m in messages[:MAX_MESSAGES]]
        if len(messages) > MAX_MESSAGES:
            kept.append(f"... and {len(messages) - MAX_MESSAGES} more")
        super().__init__("\n".join(kept))
        self.messages = kept


@dataclass(frozen=True)
class Where:
    """A place in a scenario file, for messages."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class Step:
    """One step: its kind (run, write, ...), the YAML mapping as written (unsubstituted), its place;
    a foreach step has the steps of its loop as children (indexes follow the parent's)."""

    index: int
    kind: str
    spec: Mapping[str, Any]
    where: Where
    children: tuple[Step, ...] = ()

    @property
    def when(self) -> Mapping[str, Any] | None:
        """The step's condition (`when:`), if any."""
        when = self.spec.get("when")
        return when if isinstance(when, Mapping) else None

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
    host_paths: tuple[str, ...] = ()  # host directories `lvsim run` may touch besides its work directory
    params: dict[str, str] = field(default_factory=dict)  # run-time parameter -> kind (its value is in vars)
    existing_vgs: tuple[str, ...] = ()  # as written (${...} unsubstituted)
    existing_lvs: tuple[str, ...] = ()
    setup: list[Step] = field(default_factory=list)
    var_specs: dict[str, Any] = field(default_factory=dict)  # vars as written, for the renderer
    overrides: frozenset[str] = frozenset()  # variables given with --var

    def flat_steps(self) -> list[Step]:
        """Every step, the steps of foreach loops after their loop step."""
        return [s for step in self.steps for s in (step, *step.children)]

    def dir_params(self) -> tuple[str, ...]:
        """The values of the `dir` parameters given with --var: host directories the user named for
        the run (a default is the scenario's, and `lvsim run` puts it in its work directory)."""
        return tuple(
            self.vars[name] for name, kind in self.params.items() if kind == "dir" and name in self.overrides
        )

    def existing(self, values: Mapping[str, str]) -> tuple[list[str], list[str]]:
        """The existing VGs and LVs with values substituted."""
        return (
            [substitute(v, values, self.where("existing", "vgs")) for v in self.existing_vgs],
            [substitute(v, values, self.where("existing", "lvs")) for v in self.existing_lvs],
        )

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


def param_problem(kind: str, value: str) -> str:
    """Why value cannot be a run-time parameter of this kind (LVM's name rules), or ""."""
    from lvsim.core.names import RESERVED_PREFIXES, RESERVED_SUBSTRINGS, name_problem

    if kind in ("vg", "lv"):
        problem = name_problem(value)
        if problem or kind == "vg":
            return problem
        reserved = next((p for p in RESERVED_PREFIXES if value.startswith(p)), None)
        if reserved:
            return f'Names starting "{reserved}" are reserved.'
        reserved = next((s for s in RESERVED_SUBSTRINGS if s in value), None)
        return f'Names including "{reserved}" are reserved.' if reserved else ""
    if kind == "tag":
        if len(value) > 1024 or not _TAG.fullmatch(value):
            return "a tag is 1 to 1024 of the characters [A-Za-z0-9_+.-/=!:&#]"
        return ""
    if not value.startswith("/") or any(not c.isprintable() for c in value):
        return "a directory is an absolute path of printable characters"
    return ""


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

    params = data.get("params") or {}
    disks = {f"disk.{name}" for name in data.get("disks") or {}}
    known = set(data.get("vars") or {}) | set(params) | disks
    for name in sorted(set(params) & set(data.get("vars") or {})):
        say(("params", name), f"params/{name}: also declared under vars")
    for name, spec in params.items():
        problem = param_problem(spec["is"], spec["default"])
        if problem:
            say(("params", name), f"params/{name}: default {spec['default']!r}: {problem}")
    for name, value in (data.get("vars") or {}).items():
        text = value["expr"] if isinstance(value, dict) else str(value)
        for ref in references(text):
            if ref not in known or ref == name:
                say(("vars", name), f"vars/{name}: unknown variable ${{{ref}}}")
            elif ref in params and isinstance(value, dict):
                say(("vars", name), f"vars/{name}: ${{{ref}}} is a run-time name, not a number for bc")
    for name, size in (data.get("disks") or {}).items():
        for ref in references(str(size)):
            if ref not in known or ref.startswith("disk."):
                say(("disks", name), f"disks/{name}: unknown variable ${{{ref}}}")
    existing = data.get("existing")
    for key in ("vgs", "lvs"):
        for j, text in enumerate((existing or {}).get(key) or []):
            for ref in references(text):
                if ref not in known or ref.startswith("disk."):
                    say(("existing", key, j), f"existing/{key}: unknown variable ${{{ref}}}")
            if key == "lvs" and text.count("/") != 1:
                say(("existing", key, j), f"existing/lvs: {text!r} is not VG/LV")
    if data.get("setup") and existing is None:
        say(("setup",), "setup: makes the storage a scenario expects; declare it under existing:")
    if existing is not None:  # the disks are the setup's: the rendered script has none
        _check_steps(data.get("setup") or [], ("setup",), set(known), say)
        known -= disks
    _check_steps(data["steps"], ("steps",), known, say, no_disks=existing is not None)
    return messages


def _check_steps(
    specs: Sequence[Any],
    base: tuple[str | int, ...],
    known: set[str],
    say: Any,
    loop: bool = False,
    no_disks: bool = False,
) -> None:
    """Check a list of steps; `known` grows with what they define."""
    for i, spec in enumerate(specs):
        kind = next(k for k in STEP_KINDS if k in spec)
        step = Step(i, kind, spec, Where("", 0))
        at = (*base, i)
        label = "/".join(map(str, at))
        for path, text in _strings({k: v for k, v in spec.items() if k != "steps"}):
            for ref in references(text):
                if ref not in known:
                    hint = " (not set by an earlier step)"
                    if ref.startswith("disk.") and base[0] == "steps" and no_disks:
                        hint = " (with existing:, the disks are the setup's)"
                    say((*at, *path), f"{label}: unknown variable ${{{ref}}}{hint}")
        extra = set(spec) - COMMON_KEYS - {kind}
        allowed = set() if kind in NO_COMMAND_KINDS else set(CHECK_KEYS)
        if kind in ("run", "expect_failure"):
            allowed |= {"stdin"}
        if kind == "run":
            allowed |= {"save"}
        if kind == "foreach":
            allowed |= {"steps"}
        for key in sorted(extra - allowed):
            say((*at, key), f"{label}: {key!r} does not apply to a {kind} step")
        if kind == "foreach" and "steps" not in spec:
            say(at, f"{label}: a foreach step needs its steps")
        if kind == "foreach" and loop:
            say(at, f"{label}: a foreach inside a foreach")
        if kind == "foreach" and base[0] == "setup":
            say(at, f"{label}: foreach belongs to the scenario's steps, not its setup")
        if kind == "expect_failure" and spec.get("expect_rc") == 0:
            say((*at, "expect_rc"), f"{label}: expect_failure with expect_rc 0")
        if kind == "assert":
            problem = _assert_problem(spec["assert"])
            if problem:
                say((*at, "assert"), f"{label}: {problem}")
        when = spec.get("when")
        if isinstance(when, Mapping) and ("var" in when) == ("field" in when):
            say((*at, "when"), f"{label}: when: takes lv|vg|pv with field, or var (without field)")
        if kind == "foreach" and isinstance(spec.get("steps"), list):
            inner = set(known) | {str(spec["foreach"]["as"])}
            _check_steps(spec["steps"], (*at, "steps"), inner, say, True, no_disks)
        name = defines(step)
        if name:
            known.add(name)


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


def _read_text(path: Path) -> str:
    """The file's text: at most MAX_FILE_BYTES of UTF-8."""
    file = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise ScenarioError([f"{file}: cannot read: {exc.strerror}"]) from exc
    if len(raw) > MAX_FILE_BYTES:
        raise ScenarioError([f"{file}: too large for a scenario (more than {MAX_FILE_BYTES} bytes)"])
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise ScenarioError([f"{file}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x})"]) from None


def _check_tree(root: yaml.Node, file: str) -> None:
    """Refuse alias bombs, recursive aliases and deep nesting before anything walks the document."""
    sizes: dict[int, int] = {}
    depth: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[yaml.Node, bool]] = [(root, False)]
    while stack:
        node, done = stack.pop()
        key = id(node)
        children = _children(node)
        if done:
            on_path.discard(key)
            sizes[key] = 1 + sum(sizes[id(c)] for c in children)
            depth[key] = 1 + max((depth[id(c)] for c in children), default=0)
            line = node.start_mark.line + 1
            if sizes[key] > MAX_NODES:
                raise ScenarioError(
                    [f"{file}:{line}: more than {MAX_NODES} YAML nodes once aliases are expanded"]
                )
            if depth[key] > MAX_DEPTH:
                raise ScenarioError([f"{file}:{line}: nested more than {MAX_DEPTH} levels deep"])
            continue
        if key in sizes:
            continue
        if key in on_path:
            raise ScenarioError([f"{file}:{node.start_mark.line + 1}: a recursive alias"])
        on_path.add(key)
        stack.append((node, True))
        stack.extend((c, False) for c in children if id(c) not in sizes)


def _children(node: yaml.Node) -> list[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        return [n for pair in node.value for n in pair]
    if isinstance(node, yaml.SequenceNode):
        return list(node.value)
    return []


def _read_yaml(path: Path) -> tuple[Any, yaml.Node | None]:
    """The document and its node tree, parsed once, within the bounds above; every failure is a
    ScenarioError naming the file and line.  libyaml parses, where PyYAML has it; a document it
    refuses is parsed again by PyYAML's own parser, whose words the errors are in."""
    text = _read_text(path)
    fast = getattr(yaml, "CSafeLoader", None)
    if fast is not None:
        try:
            return _parse(path, text, fast)
        except ScenarioError:
            pass
    return _parse(path, text, yaml.SafeLoader)


def _parse(
    path: Path, text: str, kind: type[yaml.SafeLoader | yaml.CSafeLoader]
) -> tuple[Any, yaml.Node | None]:
    file = str(path)
    try:
        loader = kind(text)  # PyYAML's reader checks every character here
    except yaml.reader.ReaderError as exc:
        line = text.count("\n", 0, exc.position) + 1
        problem = f"unacceptable character #x{exc.character:04x}: {exc.reason}"
        raise ScenarioError([f"{file}:{line}: invalid YAML: {problem}"]) from None
    except ValueError as exc:  # libyaml's: a character it cannot encode
        raise ScenarioError([f"{file}: invalid YAML: {exc}"]) from None
    try:
        root = loader.get_single_node()
        if root is None:
            return None, None
        _check_tree(root, file)
        return loader.construct_document(root), root
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        raise ScenarioError([f"{file}:{line}: invalid YAML: {exc.problem or exc.context}"]) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([f"{file}: invalid YAML: {exc}"]) from None
    except RecursionError:
        raise ScenarioError([f"{file}: invalid YAML: nested too deeply"]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # e.g. an integer with thousands of digits
        raise ScenarioError([f"{file}: invalid YAML: {exc}"]) from None
    finally:
        loader.dispose()


def load(path: str | Path, overrides: Mapping[str, str] | None = None) -> Scenario:
    """Read, validate and resolve a scenario; --var overrides replace declared variables."""
    path = Path(path)
    file = str(path)
    data, root = _read_yaml(path)
    messages = _schema_messages(data, file, root)
    if not messages:
        messages = _semantic_messages(data, file, root)
    if messages:
        raise ScenarioError(messages)
    overrides = dict(overrides or {})
    params = {name: spec["is"] for name, spec in (data.get("params") or {}).items()}
    declared = {
        **{n: s["default"] for n, s in (data.get("params") or {}).items()},
        **(data.get("vars") or {}),
    }
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
            problem = param_problem(params[name], values[name]) if name in params else ""
            if problem:
                raise ScenarioError([f"{file}: --var {name}={values[name]!r}: {problem}"])
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
    steps = _steps(data["steps"], ("steps",), file, root, [0])
    setup = _steps(data.get("setup") or [], ("setup",), file, root, [0])
    host_paths = tuple(str(p) for p in data.get("host_paths") or ())
    existing = data.get("existing") or {}
    return Scenario(
        path,
        data["name"],
        data["description"],
        values,
        disks,
        steps,
        root,
        host_paths,
        params,
        tuple(existing.get("vgs") or ()),
        tuple(existing.get("lvs") or ()),
        setup,
        dict(declared),
        frozenset(overrides),
    )


def _steps(
    specs: Sequence[Any], base: tuple[str | int, ...], file: str, root: yaml.Node | None, count: list[int]
) -> list[Step]:
    """Steps with indexes in document order (a foreach's children right after it)."""
    out = []
    for i, spec in enumerate(specs):
        index = count[0]
        count[0] += 1
        kind = next(k for k in STEP_KINDS if k in spec)
        children = (
            _steps(spec.get("steps") or [], (*base, i, "steps"), file, root, count)
            if kind == "foreach"
            else []
        )
        out.append(Step(index, kind, spec, Where(file, _line_of(root, (*base, i))), tuple(children)))
    return out
