"""Which command definition a command line means, and LVM's answer when none fits.

A rewrite of lvm2 2.03.16's choice (tools/lvmcmdline.c, _find_command): every definition of the
command is scored by how many of its required options and positionals the command line has; the
best full match wins, preferring one whose --type matches and that leaves no option unused. With
no full match LVM names the nearest definition (or the only one); with options or positionals the
chosen definition does not take, it says so. All of these exit with code 3.
"""

from __future__ import annotations

from dataclasses import dataclass

from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.lvm.table import lookup
from lvsim.lvm.table.records import Definition

MAX_UNUSED = 8  # LVM names at most this many unaccepted options


@dataclass
class Given:
    """What a command line holds once its options are read: option key -> the values given (""
    for a flag), with synonyms under their standard key, and the positional arguments."""

    command: str
    options: dict[str, list[str]]
    positionals: list[str]
    option_count: int = 0  # options given, each repetition counted
    verbose_count: int = 0

    def has(self, key: str) -> bool:
        return key in self.options

    def value(self, key: str) -> str:
        values = self.options.get(key)
        return values[-1] if values else ""


def _const_matches(spec_value: str, given: str) -> bool:
    """A literal in a definition ("=thin-pool", "=0") against what the user gave."""
    literal = spec_value[1:]
    if literal.isdigit():
        digits = given.lstrip("+")
        return digits.isdigit() and int(digits) == int(literal)
    return literal == given


def _required_opt_matches(given: Given, spec: str) -> bool:
    key, value = lookup.split_spec(spec)
    if given.has(key):
        actual = given.value(key)
    elif key == "size" and given.has("extents") and given.command in lookup.ALTERNATE_EXTENTS:
        actual = given.value("extents")
    else:
        return False
    if value.startswith("="):
        if _const_matches(value, actual):
            return True
        return value == "=raid" and actual.startswith("raid")
    return True


def _optional_matches(given: Given, spec: str) -> bool:
    key, value = lookup.split_spec(spec)
    return not value.startswith("=") or _const_matches(value, given.value(key))


def _required_pos_matches(given: Given, d: Definition, index: int) -> bool:
    if index < len(given.positionals):
        return True
    words = d.positionals[index].removesuffix(" ...").split("|")
    if "Select" in words and given.has("select"):
        return True
    # lvcreate's VG may be left out when --name (or a pool option) says VG/LV
    if given.command == "lvcreate" and index == 0 and "VG" in words:
        return any(
            "/" in given.value(k) for k in ("name", "thinpool", "cachepool", "vdopool") if given.has(k)
        )
    return False


def _skip_for_type(d: Definition, type_arg: str) -> bool:
    """A --type given limits the choice to definitions that take that --type."""
    for specs in (d.required, d.any_required, d.optional):
        for spec in specs:
            key, value = lookup.split_spec(spec)
            if key != "type":
                continue
            if not value.startswith("="):
                return False
            literal = value[1:]
            return not (literal == type_arg or (literal.startswith("raid") and type_arg.startswith("raid")))
    return True


def _unused_options(given: Given, d: Definition) -> list[str]:
    """The options given that definition d does not take, in lvm2's option order."""
    accepted_any = {lookup.split_spec(s)[0] for s in (*d.required, *d.any_required)}
    unused = []
    for key in lookup.option_keys():
        if not given.has(key) or key == "extents" or key in accepted_any:
            continue
        if any(
            lookup.split_spec(s)[0] == key and _optional_matches(given, s) for s in lookup.common_options()
        ):
            continue
        if any(
            lookup.split_spec(s)[0] == key and _optional_matches(given, s) for s in (*d.optional, *d.ignored)
        ):
            continue
        unused.append(key)
    return unused


def match(given: Given) -> Definition:
    """The definition a command line fits, or LvmError with LVM's words (exit code 3)."""
    name = given.command
    defs = lookup.definitions(name)
    if given.has("help") or given.has("longhelp") or given.has("version"):
        return defs[0]
    type_arg = given.value("type") if given.has("type") else None
    best: Definition | None = None
    best_required = best_type = best_unused = 0
    best_unused_keys: list[str] = []
    close: Definition | None = None
    close_ro = close_type = 0
    for d in defs:
        if d.id == "lvconvert_plain" and given.option_count - given.verbose_count:
            continue  # 'lvconvert LV' would match anything: only for a bare command line
        if type_arg is not None and d.autotypes and any(type_arg != t for t in d.autotypes):
            continue
        if type_arg is not None and _skip_for_type(d, type_arg):
            continue
        match_required = 1 if not d.required and not d.positionals else 0
        match_ro = mismatch = match_type = 0
        for spec in d.required:
            if _required_opt_matches(given, spec):
                match_required += 1
                match_ro += 1
                match_type = match_type or lookup.split_spec(spec)[0] == "type"
            else:
                mismatch += 1
        if d.any_required and not any(_required_opt_matches(given, s) for s in d.any_required):
            mismatch = 1
        for index in range(len(d.positionals)):
            if _required_pos_matches(given, d, index):
                match_required += 1
            else:
                mismatch += 1
        if mismatch:
            if (match_type and not close_type) or (match_type == close_type and match_ro > close_ro):
                close, close_ro, close_type = d, match_ro, match_type
            continue
        if not match_required:
            continue
        if (d.required or d.positionals) and (match_ro or len(d.positionals)):
            match_required += 1
        unused = _unused_options(given, d)
        if (
            not best_required
            or (match_required > best_required and not unused)
            or len(unused) < best_unused
            or match_type > best_type
            or (match_required == best_required and match_type == best_type and len(unused) < best_unused)
        ):
            best, best_required, best_type, best_unused = d, match_required, match_type, len(unused)
            best_unused_keys = unused
    if best is None:
        raise _no_match(name, close if close_ro else None)
    if best_unused_keys:
        raise LvmError(
            *[_unaccepted(given, key) for key in best_unused_keys[:MAX_UNUSED]], rc=EINVALID_CMD_LINE
        )
    _check_positionals(given, best)
    _check_rules(given, best)
    return best


def _no_match(name: str, nearest: Definition | None) -> LvmError:
    """LVM's answer when no definition fits: the nearest one, or the only one, is shown."""
    defs = lookup.definitions(name)
    lines = [f"No command with matching syntax recognised.  Run '{name} --help' for more information."]
    shown = defs[0] if len(defs) == 1 else nearest
    if shown is None:
        return LvmError(*lines, rc=EINVALID_CMD_LINE)
    from lvsim.lvm.table.helptext import definition_usage

    lines.append("Correct command syntax is:" if len(defs) == 1 else "Nearest similar command has syntax:")
    usage = definition_usage(name, shown, longhelp=False, desc_first=False)
    return LvmError(*lines, rc=EINVALID_CMD_LINE, stdout=usage)


def _unaccepted(given: Given, key: str) -> str:
    opt = lookup.option(key)
    value = "" if opt.groupable or not opt.value else " " + given.value(key)
    return f"Command does not accept option: --{opt.long}{value}."


def _check_positionals(given: Given, d: Definition) -> None:
    if d.positionals and d.positionals[-1].endswith(" ..."):
        return
    if d.optional_positionals and d.optional_positionals[-1].endswith(" ..."):
        return
    room = len(d.positionals) + len(d.optional_positionals)
    if len(given.positionals) > room:
        raise LvmError(f"Command does not accept argument: {given.positionals[room]}.", rc=EINVALID_CMD_LINE)


def _check_rules(given: Given, d: Definition) -> None:
    for rule in d.rules:
        if rule.when and not any(given.has(k) for k in rule.when):
            continue
        present = [k for k in rule.check if given.has(k)]
        if rule.kind == "not" and present:
            checked = _names(rule.check)
            if rule.when:
                raise LvmError(
                    f"Command does not accept option combination: {_names(rule.when)} with {checked}",
                    rc=EINVALID_CMD_LINE,
                )
            raise LvmError(f"Command does not accept options: {checked}", rc=EINVALID_CMD_LINE)
        if rule.kind == "and" and len(present) < len(rule.check):
            raise LvmError(f"Command requires options: {_names(rule.check)}", rc=EINVALID_CMD_LINE)


def _names(keys: tuple[str, ...]) -> str:
    """lvm2's opt_array_to_str: each long name and a space, cut at 63 characters."""
    return "".join(f"--{lookup.option(k).long} " for k in keys)[:63]
