"""LVM's configuration syntax (libdm-config), as lvm.conf, --config and metadata text use it.

Written here from its grammar::

    section { key = value  sub { ... } }      value: 1 | 1.5 | "string" | 'string' | bare | [ v, v ]
    activation/thin_pool_autoextend_threshold = 70      # a path makes the sections on the way

`#` starts a comment.  A tree is a dict: section name -> dict, key -> value (int, float, str, or a
list of them), in the order the keys were first seen; a repeated section is merged into the first, a
repeated value replaces the earlier one with LVM's warning.  Parse errors carry LVM's own words
("Parse error at byte N (line L): unexpected token").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

Scalar = int | float | str
Value = Scalar | list[Scalar]
Tree = dict[str, Any]


class ConfigSyntaxError(Exception):
    """A text LVM's parser rejects; str() is LVM's message."""


_PUNCT = {"{": "{", "}": "}", "[": "[", "]": "]", ",": ",", "=": "="}
_VALUE_FOLLOWS = {"=", "[", ","}


@dataclass
class _Token:
    kind: str  # one of {}[],= or int, float, string, rawstring, bare, ident, eof
    text: str
    byte: int  # 1-based offset, as LVM counts
    line: int


@dataclass
class _Lexer:
    text: str
    pos: int = 0
    line: int = 1

    def _skip(self) -> None:
        text, n = self.text, len(self.text)
        while self.pos < n:
            ch = text[self.pos]
            if ch == "#":
                while self.pos < n and text[self.pos] != "\n":
                    self.pos += 1
            elif ch.isspace():
                self.line += ch == "\n"
                self.pos += 1
            else:
                return

    def next(self, previous: str) -> _Token:
        self._skip()
        text, n, start = self.text, len(self.text), self.pos
        if start >= n or text[start] == "\0":
            return _Token("eof", "", start + 1, self.line)
        ch, end = text[start], start + 1
        values = previous in _VALUE_FOLLOWS
        if ch in _PUNCT:
            kind = ch
        elif ch == '"':
            kind = "string"
            while end < n and text[end] != '"':
                end += 2 if text[end] == "\\" and end + 1 < n else 1
            end = min(end + 1, n)
        elif ch == "'":
            kind = "rawstring"
            while end < n and text[end] != "'":
                end += 1
            end = min(end + 1, n)
        elif values and (ch.isdigit() or ch in "+-."):
            kind = "float" if ch == "." else "int"
            while end < n and (text[end].isdigit() or (text[end] == "." and kind == "int")):
                kind = "float" if text[end] == "." else kind
                end += 1
        else:
            kind = "bare" if values else "ident"
            while end < n and not text[end].isspace() and text[end] not in "#={}":
                end += 1
        self.pos = end
        return _Token(kind, text[start:end], start + 1, self.line)


def _string(token: _Token) -> str:
    if len(token.text) < 2:
        raise ConfigSyntaxError(
            f"Parse error at byte {token.byte} (line {token.line}): expected a string token."
        )
    body = token.text[1:-1]
    if token.kind == "rawstring":
        return body
    out, i = [], 0
    while i < len(body):  # only \" and \\ are escapes (dm_unescape_double_quotes)
        if body[i] == "\\" and body[i + 1 : i + 2] in ('"', "\\"):
            i += 1
        out.append(body[i])
        i += 1
    return "".join(out)


def _int(text: str) -> int:
    """strtoll(text, NULL, 0) of a sign and digits: a leading 0 means octal (up to a non-octal digit)."""
    sign = -1 if text.startswith("-") else 1
    digits = text.lstrip("+-")
    if len(digits) > 1 and digits.startswith("0"):
        octal = ""
        for ch in digits[1:]:
            if ch not in "01234567":
                break
            octal += ch
        return sign * int(octal or "0", 8)
    value = sign * int(digits or "0")
    if not -(1 << 63) <= value < 1 << 63:  # strtoll's ERANGE
        raise ConfigSyntaxError("Failed to read int token.")
    return value


@dataclass
class _Parser:
    lexer: _Lexer
    warnings: list[str] = field(default_factory=list)
    token: _Token = field(init=False)

    def __post_init__(self) -> None:
        self.token = self.lexer.next("")

    def _unexpected(self) -> ConfigSyntaxError:
        return ConfigSyntaxError(
            f"Parse error at byte {self.token.byte} (line {self.token.line}): unexpected token"
        )

    def _match(self, kind: str) -> None:
        if self.token.kind != kind:
            raise self._unexpected()
        self.token = self.lexer.next(kind)

    def file(self) -> Tree:
        root: Tree = {}
        while self.token.kind != "eof":
            self._section(root)
        return root

    def _section(self, parent: Tree) -> None:
        token = self.token
        if token.kind in ("string", "rawstring"):
            name = _string(token)
            self._match(token.kind)
        else:
            name = token.text
            self._match("ident")
        if not name:
            raise ConfigSyntaxError(
                f"Parse error at byte {token.byte} (line {token.line}): empty section identifier"
            )
        node, key = make_path(parent, name)
        if self.token.kind == "{":
            self._match("{")
            child = node.get(key)
            if not isinstance(child, dict):
                child = node[key] = {}
            while self.token.kind != "}":
                if self.token.kind == "eof":
                    raise self._unexpected()
                self._section(child)
            self._match("}")
            return
        self._match("=")
        value = self._value()
        if key in node and not isinstance(node[key], dict):
            self.warnings.append(f"WARNING: Ignoring duplicate config value: {name}")
        node[key] = value

    def _value(self) -> Value:
        if self.token.kind != "[":
            return self._scalar()
        self._match("[")
        items: list[Scalar] = []
        while self.token.kind != "]":
            items.append(self._scalar())
            if self.token.kind == ",":
                self._match(",")
        self._match("]")
        return items

    def _scalar(self) -> Scalar:
        token = self.token
        value: Scalar
        if token.kind == "int":
            value = _int(token.text)
        elif token.kind == "float":
            value = float(token.text) if token.text.strip("+-.") else 0.0
        elif token.kind in ("string", "rawstring"):
            value = _string(token)
        elif token.kind == "bare":
            value = token.text
        else:
            raise ConfigSyntaxError(f"Parse error at byte {token.byte} (line {token.line}): expected a value")
        self._match(token.kind)
        return value


def make_path(parent: Tree, name: str) -> tuple[Tree, str]:
    """The dict holding the last component of a slash path, making the sections on the way."""
    parts = [p for p in name.split("/") if p] or [name]
    node = parent
    for part in parts[:-1]:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    return node, parts[-1]


def parse(text: str) -> tuple[Tree, list[str]]:
    """The tree of a config text and LVM's warnings about it; raises ConfigSyntaxError."""
    parser = _Parser(_Lexer(text))
    return parser.file(), parser.warnings


def escape(text: str) -> str:
    """dm_escape_double_quotes: a backslash before every double quote and backslash."""
    return text.replace("\\", "\\\\").replace('"', '\\"')
