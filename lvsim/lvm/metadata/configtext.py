"""LVM's configuration syntax, as its metadata text (vgcfgbackup files) uses it: a reader.

The grammar of libdevmapper's config parser: `key = value` and `name { ... }` sections, values
that are integers, floats, "escaped" or 'plain' strings, bare words, or `[v, v, ...]` arrays;
`#` starts a comment.  Parse errors carry LVM's own message ("Parse error at byte N (line L):
unexpected token").  A tree is a dict in file order; a repeated section is merged into the first,
a repeated value replaces the earlier one (as libdevmapper does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

Value = int | float | str | list["Value"]
Tree = dict[str, Any]  # key -> Value, or section name -> Tree, in file order

_PUNCT = {"{": "section_b", "}": "section_e", "[": "array_b", "]": "array_e", ",": "comma", "=": "eq"}
_VALUE_AFTER = {"eq", "array_b", "comma"}


class ConfigSyntaxError(Exception):
    """A parse error; str() is LVM's message."""


@dataclass
class _Token:
    kind: str
    text: str
    start: int
    line: int


class _Lexer:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def _skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch == "#":
                while self.pos < n and text[self.pos] != "\n":
                    self.pos += 1
            elif ch.isspace():
                if ch == "\n":
                    self.line += 1
                self.pos += 1
            else:
                return

    def next(self, previous: str) -> _Token:
        self._skip()
        text, n, start = self.text, len(self.text), self.pos
        if start >= n or text[start] == "\0":
            return _Token("eof", "", start, self.line)
        ch = text[start]
        end = start + 1
        if ch in _PUNCT:
            kind = _PUNCT[ch]
        elif ch == '"':
            kind = "string_escaped"
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" and end + 1 < n else 1
            end = min(end + 1, n)
        elif ch == "'":
            kind = "string"
            while end < n and text[end] != "'":
                end += 1
            end = min(end + 1, n)
        elif previous in _VALUE_AFTER and (ch.isdigit() or ch in "+-."):
            kind = "float" if ch == "." else "int"
            while end < n:
                if text[end] == "." and kind == "int":
                    kind = "float"
                elif not text[end].isdigit():
                    break
                end += 1
        else:
            while end < n and not text[end].isspace() and text[end] not in "#={}":
                end += 1
            kind = "bare" if previous in _VALUE_AFTER else "identifier"
        self.pos = end
        return _Token(kind, text[start:end], start, self.line)


class _Parser:
    def __init__(self, text: str) -> None:
        self.lexer = _Lexer(text)
        self.tok = self.lexer.next("section_e")

    def _error(self, what: str = "unexpected token") -> ConfigSyntaxError:
        return ConfigSyntaxError(f"Parse error at byte {self.tok.start + 1} (line {self.tok.line}): {what}")

    def _match(self, kind: str) -> _Token:
        tok = self.tok
        if tok.kind != kind:
            raise self._error()
        self.tok = self.lexer.next(kind)
        return tok

    def parse(self) -> Tree:
        root: Tree = {}
        while self.tok.kind != "eof":
            self._entry(root)
        return root

    def _key(self) -> str:
        tok = self.tok
        if tok.kind == "string_escaped":
            self._match(tok.kind)
            return _unescape(tok.text[1:-1])
        if tok.kind == "string":
            self._match(tok.kind)
            return tok.text[1:-1]
        self._match("identifier")
        return tok.text

    def _entry(self, parent: Tree) -> None:
        start = self.tok
        key = self._key()
        if not key:
            raise ConfigSyntaxError(
                f"Parse error at byte {start.start + 1} (line {start.line}): empty section identifier"
            )
        if self.tok.kind == "section_b":
            self._match("section_b")
            section = parent.get(key)
            if not isinstance(section, dict):
                section = parent[key] = {}
            while self.tok.kind != "section_e":
                if self.tok.kind == "eof":
                    raise self._error()
                self._entry(section)
            self._match("section_e")
            return
        self._match("eq")
        value = self._value()
        if not isinstance(parent.get(key), dict):  # a repeated key: the last value counts, as in LVM
            parent[key] = value

    def _value(self) -> Value:
        if self.tok.kind != "array_b":
            return self._scalar()
        self._match("array_b")
        items: list[Value] = []
        while self.tok.kind != "array_e":
            items.append(self._scalar())
            if self.tok.kind == "comma":
                self._match("comma")
        self._match("array_e")
        return items

    def _scalar(self) -> Value:
        tok = self.tok
        if tok.kind == "int":
            self._match("int")
            return _c_int(tok.text)
        if tok.kind == "float":
            self._match("float")
            return _c_float(tok.text)
        if tok.kind == "string":
            self._match("string")
            return tok.text[1:-1]
        if tok.kind == "string_escaped":
            self._match("string_escaped")
            return _unescape(tok.text[1:-1])
        if tok.kind == "bare":
            self._match("bare")
            return tok.text
        raise self._error("expected a value")


def _unescape(text: str) -> str:
    """dm_unescape_double_quotes: a backslash keeps the character after it."""
    out, i = [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            i += 1
        out.append(text[i])
        i += 1
    return "".join(out)


def escape(text: str) -> str:
    """dm_escape_double_quotes: a backslash before every double quote and backslash."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _c_int(text: str) -> int:
    """strtoll(text, NULL, 0) on a token of digits with an optional sign (a leading 0 is octal)."""
    sign = -1 if text.startswith("-") else 1
    digits = text[1:] if text[:1] in "+-" else text
    if len(digits) > 1 and digits.startswith("0"):
        return sign * int(re.match("[0-7]*", digits).group() or "0", 8)  # type: ignore[union-attr]
    value = sign * int(digits or "0")
    if not -(1 << 63) <= value < 1 << 63:
        raise ConfigSyntaxError("Failed to read int token.")
    return value


def _c_float(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def parse(text: str) -> Tree:
    """The root section of a config text; raises ConfigSyntaxError with LVM's message."""
    return _Parser(text).parse()
