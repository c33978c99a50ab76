"""-S/--select: LVM's selection language (libdm-report.c's parser) and its evaluation on rows.

    EXPR := AND_EXPR (('||' | '#') EXPR)?       AND_EXPR := EX (('&&' | ',') AND_EXPR)?
    EX   := '!' '(' EXPR ')' | '(' EXPR ')' | FIELD OP VALUE

Values are typed by the field: strings (quoted or bare), numbers, sizes (default unit m),
percents, string lists ([a,b] all / {a,b} subset / a single item) and regexes for =~ and !~.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from lvsim.lvm.refusal import refuse
from lvsim.lvm.report.field_names import ReportError, field_help, find_field
from lvsim.lvm.report.fields import BIN, NUM, PCT, SIZ, STR, STRL, TIM, UNDEF, Field

_AND, _OR, _NOT, _PS, _PE = 0x2, 0x4, 0x100, 0x1000, 0x2000
_LS, _LE, _SLS, _SLE = 0x10000, 0x20000, 0x40000, 0x80000
_OP_LOG = (
    ("&&", _AND, "All fields must match"),
    (",", _AND, "All fields must match"),
    ("||", _OR, "At least one field must match"),
    ("#", _OR, "At least one field must match"),
    ("!", _NOT, "Logical negation"),
    ("(", _PS, "Left parenthesis"),
    (")", _PE, "Right parenthesis"),
    ("[", _LS, "List start"),
    ("]", _LE, "List end"),
    ("{", _SLS, "List subset start"),
    ("}", _SLE, "List subset end"),
)
# comparison flags
_REGEX, _CNOT, _EQ, _NUMOP, _TIMEOP, _GT, _LT = 1, 2, 4, 8, 16, 32, 64
_OP_CMP = (
    ("=~", _REGEX, "Matching regular expression. [regex]"),
    ("!~", _REGEX | _CNOT, "Not matching regular expression. [regex]"),
    ("=", _EQ, "Equal to. [number, size, percent, string, string list, time]"),
    ("!=", _CNOT | _EQ, "Not equal to. [number, size, percent, string, string_list, time]"),
    (">=", _NUMOP | _TIMEOP | _GT | _EQ, "Greater than or equal to. [number, size, percent, time]"),
    (">", _NUMOP | _TIMEOP | _GT, "Greater than. [number, size, percent, time]"),
    ("<=", _NUMOP | _TIMEOP | _LT | _EQ, "Less than or equal to. [number, size, percent, time]"),
    ("<", _NUMOP | _TIMEOP | _LT, "Less than. [number, size, percent, time]"),
    ("since", _TIMEOP | _GT | _EQ, "Since specified time (same as '>='). [time]"),
    ("after", _TIMEOP | _GT, "After specified time (same as '>'). [time]"),
    ("until", _TIMEOP | _LT | _EQ, "Until specified time (same as '<='). [time]"),
    ("before", _TIMEOP | _LT, "Before specified time (same as '<'). [time]"),
)

_BINARY = (
    ("pv_allocatable", "allocatable"),
    ("pv_exported", "exported"),
    ("pv_missing", "missing"),
    ("pv_in_use", "used", "in use"),
    ("pv_duplicate", "duplicate"),
    ("vg_extendable", "extendable"),
    ("vg_exported", "exported"),
    ("vg_partial", "partial"),
    ("vg_clustered", "clustered"),
    ("vg_shared", "shared"),
)
_BINARY_LV = (
    ("lv_initial_image_sync", "initial image sync", "sync"),
    ("lv_image_synced", "image synced", "synced"),
    ("lv_merging", "merging"),
    ("lv_converting", "converting"),
    ("lv_allocation_locked", "allocation locked", "locked"),
    ("lv_fixed_minor", "fixed minor", "fixed"),
    ("lv_active_locally", "active locally", "active", "locally"),
    ("lv_active_remotely", "active remotely", "active", "remotely"),
    ("lv_active_exclusively", "active exclusively", "active", "exclusively"),
    ("lv_merge_failed", "merge failed", "failed"),
    ("lv_snapshot_invalid", "snapshot invalid", "invalid"),
    ("lv_suspended", "suspended"),
    ("lv_live_table", "live table present", "live table", "live"),
    ("lv_inactive_table", "inactive table present", "inactive table", "inactive"),
    ("lv_device_open", "open"),
    ("lv_skip_activation", "skip activation", "skip"),
    ("zero", "zero"),
    ("lv_check_needed", "check needed", "needed"),
    ("vdo_compression", "enabled"),
    ("vdo_deduplication", "enabled"),
    ("vdo_use_metadata_hints", "enabled"),
    ("vdo_use_sparse_index", "enabled"),
)
_UNDEFINED = ("", "undefined")


def _binary(entries: tuple[tuple[str, ...], ...]) -> list[tuple[str, tuple[str, ...], Any, str, bool]]:
    out: list[tuple[str, tuple[str, ...], Any, str, bool]] = []
    for name, *words in entries:
        out += [(name, (*words, "yes"), 1, "", False), (name, (*words, "no"), 0, "", False)]
    return out


# (field name, or "" for every number field; names; value; description; strict) in LVM's order
RESERVED: list[tuple[str, tuple[str, ...], Any, str, bool]] = [
    ("", ("-1", "unknown", "undefined", "undef"), UNDEF, "Reserved value for undefined numeric value.", True),
    *_binary(_BINARY),
    ("vg_permissions", ("writeable", "rw", "read-write"), "writeable", "", False),
    ("vg_permissions", ("read-only", "r", "ro"), "read-only", "", False),
    ("vg_mda_copies", ("unmanaged",), UNDEF, "", True),
    *_binary(_BINARY_LV),
    ("lv_permissions", ("writeable", "rw", "read-write"), "writeable", "", False),
    ("lv_permissions", ("read-only", "r", "ro"), "read-only", "", False),
    (
        "lv_permissions",
        ("read-only-override", "ro-override", "r-override", "R"),
        "read-only-override",
        "",
        False,
    ),
    ("lv_read_ahead", ("auto",), UNDEF, "", True),
    ("lv_when_full", ("error", "error when full", "error if no space"), "error", "", False),
    ("lv_when_full", ("queue", "queue when full", "queue if no space"), "queue", "", False),
    ("lv_when_full", _UNDEFINED, "", "", True),
    ("lv_time", (), None, "", False),
    ("lv_time_removed", (), None, "", False),
    ("cache_policy", _UNDEFINED, "", "", True),
    ("seg_monitor", _UNDEFINED, "", "", True),
    ("lv_health_status", _UNDEFINED, "", "", True),
    ("kernel_discards", _UNDEFINED, "", "", True),
    ("vdo_write_policy", _UNDEFINED, "", "", True),
]


def selection_help() -> list[str]:
    """_display_selection_help (printed, like all help, on stderr)."""
    lines = [
        "Selection operands",
        "------------------",
        "  field               - Reporting field.",
        "  number              - Non-negative integer value.",
        "  size                - Floating point value with units, 'm' unit used by default if not specified.",
        "  percent             - Non-negative integer with or without % suffix.",
        "  string              - Characters quoted by ' or \" or unquoted.",
        "  string list         - Strings enclosed by [ ] or { } and elements delimited by either",
        '                        "all items must match" or "at least one item must match" operator.',
        "  regular expression  - Characters quoted by ' or \" or unquoted.",
        " ",
        "Reserved values",
        "---------------",
    ]
    width = max(sum(len(n) + 2 for n in names) for _, names, _, _, _ in RESERVED)
    for field, names, _, desc, _ in RESERVED:
        kind = "number" if not field else "unknown"
        lines.append(f"  {', '.join(names):<{width}} - {desc} [{kind}]")
    lines += [" ", "Selection operators", "-------------------", "  Comparison operators:"]
    lines += [f"    {op:>6}  - {desc}" for op, _, desc in _OP_CMP]
    lines += [" ", "  Logical and grouping operators:"]
    lines += [f"    {op:>4}  - {desc}" for op, _, desc in _OP_LOG]
    return [*lines, " "]


class SelectionError(Exception):
    """The selection string is invalid; the messages are already printed."""


class _Item:
    __slots__ = ("field", "flags", "index", "value")

    def __init__(self, index: int, field: Field, flags: int, value: Any) -> None:
        self.index = index
        self.field = field
        self.flags = flags
        self.value = value


class _Node:
    __slots__ = ("items", "negate", "op")

    def __init__(self, op: int, items: list[Any]) -> None:
        self.op = op
        self.items = items
        self.negate = False


class Selection:
    """A parsed selection; matches() takes a row's (text, value) cells in column order."""

    def __init__(self, root: _Node, depth: int = 0) -> None:
        self.root = root
        self.depth = depth  # how deeply its parentheses nest

    def matches(self, cells: list[tuple[str, Any]]) -> bool:
        with _deep(self.depth):
            return _check(self.root, cells)

    def indexes(self) -> set[int]:
        """The column indexes the selection reads."""
        out: set[int] = set()
        todo: list[Any] = [self.root]
        while todo:
            node = todo.pop()
            if isinstance(node, _Item):
                out.add(node.index)
            else:
                todo += node.items
        return out


# LVM's selection parser nests as deep as its stack allows (5,000 parentheses work): lvsim follows
# with Python's recursion limit raised for the parse and the matching, up to MAX_DEPTH.
MAX_DEPTH = 20_000
_FRAMES_PER_LEVEL = 8


@contextmanager
def _deep(depth: int) -> Iterator[None]:
    """Room for `depth` nested parentheses on Python's stack (plain Python calls: no C recursion)."""
    old = sys.getrecursionlimit()
    need = depth * _FRAMES_PER_LEVEL + 1000
    if need > old:
        sys.setrecursionlimit(need)
    try:
        yield
    finally:
        if need > old:
            sys.setrecursionlimit(old)


def _check(node: Any, cells: list[tuple[str, Any]]) -> bool:
    if isinstance(node, _Item):
        return _compare(node, cells[node.index][1])
    result = node.op == _AND
    for n in node.items:  # loops, not all()/any() over a generator: those would nest C frames
        if _check(n, cells) != result:
            result = not result
            break
    return not result if node.negate else result


def _compare(item: _Item, value: Any) -> bool:
    flags, want, kind = item.flags, item.value, item.field.kind
    negate = bool(flags & _CNOT)
    if flags & _REGEX:
        return bool(want.search(value)) != negate
    if kind == STR:
        return (value == want) != negate
    if kind == STRL:
        return _compare_list(value, want) != negate
    if kind == PCT and value > 100_000_000:
        return False
    if kind == SIZ:
        value = float("nan") if value == UNDEF else value / 512
    if flags & (_GT | _LT) and not flags & _CNOT:
        if kind in (NUM, BIN) and (value == UNDEF or want == UNDEF):
            return False
        if flags & _GT:
            return value > want or (bool(flags & _EQ) and value == want)
        return value < want or (bool(flags & _EQ) and value == want)
    return (value == want) != negate


def _compare_list(items: list[str], want: tuple[int, list[str]]) -> bool:
    mode, sel = want
    if mode == _OR:
        return any(s in items for s in sel) if items else "" in sel
    if not items:
        return len(sel) == 1 and sel[0] == ""
    if mode == _SLS:
        return all(s in items for s in sel)
    return sorted(sel) == sorted(items)


# ---------------------------------------------------------------------------------------------
# Parsing


class _Parser:
    def __init__(self, definition: Any, text: str) -> None:
        self.definition = definition
        self.text = text
        self.console = definition.console

    def error(self, *messages: str) -> SelectionError:
        for message in messages:
            self.console.error(message)
        return SelectionError()

    def help(self, lines: list[str]) -> None:
        self.console.raw_err("".join(f"  {line}\n" for line in lines))

    def skip(self, i: int) -> int:
        text = self.text
        while i < len(text) and text[i].isspace():
            i += 1
        return i

    def op(self, table: tuple[tuple[str, int, str], ...], i: int, expect: int = 0) -> tuple[int, int]:
        i = self.skip(i)
        for string, flags, _ in table:
            if expect and not flags & expect:
                continue
            if self.text.startswith(string, i):
                return flags, i + len(string)
        return 0, i

    def parse(self) -> Selection:
        depth = self.text.count("(")
        if depth > MAX_DEPTH:
            refuse(f"a selection nested more than {MAX_DEPTH} parentheses deep")
        root = _Node(_OR, [])
        with _deep(depth):
            node, fin = self.or_ex(0, root)
        nxt = self.skip(fin)
        if nxt < len(self.text):
            raise self.error(
                "Expecting logical operator",
                f"Selection syntax error at '{self.text[nxt:]}'.",
                "Use 'help' for selection to get more help.",
            )
        return Selection(node, depth)

    def _chain(
        self, i: int, acc: _Node | None, kind: Any, sub: Callable[[int], tuple[Any, int]]
    ) -> tuple[Any, int]:
        """Terms joined by one logical operator (kind), collected into a single node (a loop: a
        chain of thousands of terms does not nest)."""
        while True:
            node, nxt = sub(i)
            flags, after = self.op(_OP_LOG, nxt, kind)
            if not flags and acc is None:
                return node, nxt
            acc = acc if acc is not None else _Node(kind, [])
            acc.items.append(node)
            if not flags:
                return acc, nxt
            i = after

    def or_ex(self, i: int, or_node: _Node | None) -> tuple[Any, int]:
        return self._chain(i, or_node, _OR, lambda j: self.and_ex(j, None))

    def and_ex(self, i: int, and_node: _Node | None) -> tuple[Any, int]:
        return self._chain(i, and_node, _AND, self.ex)

    def ex(self, i: int) -> tuple[Any, int]:
        flags, nxt = self.op(_OP_LOG, i, _NOT | _PS)
        if flags == _NOT:
            ok, after = self.op(_OP_LOG, nxt, _PS)
            if not ok:
                raise self.error(f"Syntax error: left parenthesis expected at '{self.text[nxt:]}'")
            node, nxt = self.or_ex(after, None)
            ok, after = self.op(_OP_LOG, nxt, _PE)
            if not ok:
                raise self.error(f"Syntax error: right parenthesis expected at '{self.text[nxt:]}'")
            if isinstance(node, _Item):
                node = _Node(_AND, [node])
            node.negate = True
            return node, after
        if flags == _PS:
            node, tmp = self.or_ex(nxt, None)
            ok, after = self.op(_OP_LOG, tmp, _PE)
            if not ok:
                raise self.error(f"Syntax error: right parenthesis expected at '{self.text[after:]}'")
            return node, after
        return self.selection(self.skip(i))

    def selection(self, s: int) -> tuple[_Item, int]:
        text = self.text
        rest = text[s:]

        def bad(*messages: str) -> SelectionError:
            return self.error(
                *messages,
                f"Selection syntax error at '{rest}'.",
                "Use 'help' for selection to get more help.",
            )

        we = s
        while we < len(text) and (text[we].isalnum() or text[we] in "_-"):
            we += 1
        if we == s:
            raise bad("Expecting field name")
        name = text[s:we]
        field = find_field(name, self.definition.prefix)
        if field is None:
            self.help([*field_help(False, True), " "])
            raise bad(f"Unrecognised selection field: {name}")
        if field.name in ("help", "?"):
            self.help([*field_help(False, True), " "])
            raise bad(f"Selection field is uncomparable: {name}.")
        flags, last = self.op(_OP_CMP, we)
        if not flags:
            self.help(selection_help())
            raise bad(f"Unrecognised comparison operator: {text[we:]}")
        kind = field.kind
        if flags & _REGEX:
            value, last = self.regex(field, last, bad)
            if kind != STR:
                raise self.error(f"dm_report: incompatible comparison type for selection field {field.name}")
        else:
            if flags & _NUMOP and kind not in (NUM, BIN, SIZ, PCT, TIM):
                self.help(selection_help())
                raise bad(f"Operator can be used only with number, size, time or percent fields: {rest}")
            if flags & _TIMEOP and not flags & _NUMOP and kind != TIM:
                self.help(selection_help())
                raise bad(f"Operator can be used only with time fields: {rest}")
            value, last = self.value(field, last, bad)
        column = self.definition.column(field)
        index = self.definition.columns.index(column)
        return _Item(index, field, flags, value), self.skip(last)

    def _string(self, i: int, stop: int = _AND | _OR | _PE) -> tuple[str, int]:
        text = self.text
        if i < len(text) and text[i] in "\"'":
            quote = text[i]
            end = text.find(quote, i + 1)
            if end < 0:
                self.console.error("Missing end quote.")
                return "", -1
            return text[i + 1 : end], end + 1
        j = i
        while j < len(text):
            if text[j] == " " or self.op(_OP_LOG, j, stop)[0]:
                break
            j += 1
        return text[i:j], j

    def regex(self, field: Field, i: int, bad: Any) -> tuple[Any, int]:
        i = self.skip(i)
        text = self.text
        if i >= len(text):
            raise bad(f"Regular expression expected for selection field {field.name}")
        closing = {"(": ")", "{": "}", "[": "]", '"': '"', "'": "'"}.get(text[i])
        if closing:
            end = text.find(closing, i + 1)
            if end < 0:
                self.console.error("Missing end quote.")
                raise bad(f"Failed to parse regex value for selection field {field.name}.")
            pattern, last = text[i + 1 : end], end + 1
        else:
            pattern, last = self._string(i)
        try:
            return re.compile(pattern), last
        except re.error:
            raise self.error(
                f"dm_report: failed to create regex matcher for selection field {field.name}"
            ) from None

    def reserved(self, field: Field, i: int) -> tuple[Any, int] | None:
        word, last = self._string(i)
        if last < 0:
            return None
        for name, names, value, _, _ in RESERVED:
            if (name == field.name or (not name and field.kind in (NUM, BIN))) and word in names:
                return value, last
        return None

    def value(self, field: Field, i: int, bad: Any) -> tuple[Any, int]:
        i = self.skip(i)
        hit = self.reserved(field, i)
        if hit is not None:
            return hit
        kind = field.kind
        text = self.text
        if kind == STR:
            value, last = self._string(i)
            if last < 0:
                raise bad(f"Failed to parse string value for selection field {field.name}.")
            return value, last
        if kind == STRL:
            return self.string_list(field, i, bad)
        if kind == TIM:
            raise bad(f"Failed to parse time value for selection field {field.name}.")
        j, dot = i, False
        while j < len(text) and (text[j].isdigit() or (text[j] == "." and not dot)):
            dot = dot or text[j] == "."
            j += 1
        if j == i:
            raise bad(f"Failed to parse numeric value for selection field {field.name}.")
        number = text[i:j]
        if j < len(text) and text[j] == "%":
            if kind != PCT:
                expected = "numeric" if kind in (NUM, BIN) else "size"
                raise bad(
                    f"Found percent value but {expected} value expected for selection field {field.name}."
                )
            j += 1
            factor = 0
        else:
            factor = _unit_factor(text[j : j + 1])
            if factor:
                j += 1
                if kind != SIZ:
                    expected = "numeric" if kind in (NUM, BIN) else "percent"
                    raise bad(
                        f"Found size unit specifier but {expected} value expected for selection field {field.name}."
                    )
            elif kind == SIZ:
                factor = 1024 * 1024
        if kind == SIZ:
            value = float(number)
            if value == float("inf"):  # past a double: strtod's ERANGE
                raise self.error(
                    f"Field selection value {number} out of supported range for field {field.name}."
                )
            return value * factor / 512, j
        if kind == PCT:
            percent = float(number)
            if percent > 100:
                raise self.error(
                    f"Field selection value {number} out of supported range for field {field.name}."
                )
            return int(1_000_000 * percent), j
        return int(float(number)) if dot else int(number), j

    def string_list(self, field: Field, i: int, bad: Any) -> tuple[Any, int]:
        text = self.text
        start, after = self.op(_OP_LOG, i, _LS | _SLS)
        if not start:
            item, last = self._string(i)
            if last < 0:
                raise bad(f"Failed to parse string list value for selection field {field.name}.")
            return (_OR, [item]), last
        expected_end = _LE if start == _LS else _SLE
        j = after
        items: list[str] = []
        mode = 0
        while j < len(text):
            j = self.skip(j)
            item, j = self._string(j, _LE | _SLE | _AND | _OR)
            if j < 0:
                raise bad(f"Failed to parse string list value for selection field {field.name}.")
            hit, nxt = self.op(_OP_LOG, j, _LE | _SLE | _AND | _OR)
            if not hit:
                self.console.error("Invalid operator in selection list.")
                raise bad(f"Failed to parse string list value for selection field {field.name}.")
            end = bool(hit & (_LE | _SLE))
            if end and hit != expected_end:
                closing = "]" if expected_end == _LE else "}"
                self.console.error(f"List ended with incorrect character, expecting '{closing}'.")
                raise bad(f"Failed to parse string list value for selection field {field.name}.")
            if mode and not end and not mode & hit:
                self.console.error("Only one type of logical operator allowed in selection list at a time.")
                raise bad(f"Failed to parse string list value for selection field {field.name}.")
            if not mode:
                mode = (_AND if expected_end == _LE else _OR) if end else hit
            items.append(item)
            j = nxt
            if end:
                break
        else:
            self.console.error(f"Missing list end for selection field {field.name}")
            raise bad(f"Failed to parse string list value for selection field {field.name}.")
        if mode == _AND and start == _SLS:
            mode = _SLS
        return (mode, sorted(items)), j


def _unit_factor(ch: str) -> int:
    """dm_units_to_factor for the one unit letter after a number (0 when there is none)."""
    if not ch:
        return 0
    if ch in "hHrRbB":
        return 1
    if ch in "sS":
        return 512
    if ch in "kmgtpe":
        return 1024 ** ("kmgtpe".index(ch) + 1)
    if ch in "KMGTPE":
        return 1000 ** ("KMGTPE".index(ch) + 1)
    return 0


def parse_selection(definition: Any, text: str) -> Selection:
    """Parse -S for a report definition (adding hidden columns for the fields it uses)."""
    try:
        return _Parser(definition, text).parse()
    except SelectionError:
        raise ReportError from None
