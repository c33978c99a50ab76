"""Arithmetic for `compute` steps and computed variables, with the semantics of `bc`.

Scenarios size things the way shell scripts do (`echo "$size * 20 / 100" | bc`), so an expression
here gives exactly what `echo "scale=S; EXPR" | bc` prints: numbers keep their number of decimal
digits (their *scale*), `/` truncates to `scale` digits, `*` keeps `min(a+b, max(scale, a, b))`
digits, and the result prints as bc prints it (`.5`, `-.33`, `0`).  Only numbers, `+ - * /`,
unary minus and parentheses are accepted: nothing is ever passed to Python's eval.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal, localcontext

_TOKEN = re.compile(r"\s*(?:(\d+\.?\d*|\.\d+)|(.))")


class ArithError(ValueError):
    """An expression that bc would reject (syntax, division by zero)."""


@dataclass(frozen=True)
class Number:
    """A bc number: its exact value, truncated to `scale` decimal digits."""

    value: Decimal
    scale: int

    @classmethod
    def make(cls, value: Decimal, scale: int) -> Number:
        with localcontext() as ctx:
            ctx.prec = 1000
            return cls(value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_DOWN), scale)

    def __str__(self) -> str:
        if self.value == 0:
            return "0"
        text = f"{abs(self.value):.{self.scale}f}"
        if text.startswith("0."):
            text = text[1:]
        return f"-{text}" if self.value < 0 else text


def evaluate(expr: str, scale: int = 0) -> str:
    """What `echo "scale=SCALE; EXPR" | bc` prints (without the newline)."""
    return str(_Parser(expr, scale).parse())


class _Parser:
    """Recursive descent over: expr = term (('+'|'-') term)*; term = unary (('*'|'/') unary)*."""

    def __init__(self, text: str, scale: int) -> None:
        self.text = text
        self.scale = scale
        self.tokens: list[tuple[str, str]] = []
        for match in _TOKEN.finditer(text):
            number, symbol = match.groups()
            if number is not None:
                self.tokens.append(("num", number))
            elif symbol is not None and not symbol.isspace():
                if symbol not in "+-*/()":
                    raise ArithError(f"unexpected {symbol!r} in {text!r}")
                self.tokens.append(("op", symbol))
        self.pos = 0

    def parse(self) -> Number:
        if not self.tokens:
            raise ArithError("empty expression")
        result = self._expr()
        if self.pos != len(self.tokens):
            raise ArithError(f"unexpected {self.tokens[self.pos][1]!r} in {self.text!r}")
        return result

    def _peek(self) -> str | None:
        return self.tokens[self.pos][1] if self.pos < len(self.tokens) else None

    def _take(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise ArithError(f"unexpected end of {self.text!r}")
        self.pos += 1
        return self.tokens[self.pos - 1]

    def _expr(self) -> Number:
        left = self._term()
        while self._peek() in ("+", "-"):
            op = self._take()[1]
            right = self._term()
            value = left.value + right.value if op == "+" else left.value - right.value
            left = Number.make(value, max(left.scale, right.scale))
        return left

    def _term(self) -> Number:
        left = self._unary()
        while self._peek() in ("*", "/"):
            op = self._take()[1]
            right = self._unary()
            if op == "*":
                scale = min(left.scale + right.scale, max(self.scale, left.scale, right.scale))
                left = Number.make(left.value * right.value, scale)
            else:
                if right.value == 0:
                    raise ArithError(f"divide by zero in {self.text!r}")
                with localcontext() as ctx:
                    ctx.prec = 1000
                    left = Number.make(left.value / right.value, self.scale)
        return left

    def _unary(self) -> Number:
        if self._peek() == "-":
            self._take()
            inner = self._unary()
            return Number(-inner.value, inner.scale)
        kind, text = self._take()
        if kind == "num":
            digits = text.partition(".")[2]
            return Number(Decimal(text), len(digits))
        if text == "(":
            inner = self._expr()
            if self._take()[1] != ")":
                raise ArithError(f"missing ')' in {self.text!r}")
            return inner
        raise ArithError(f"unexpected {text!r} in {self.text!r}")
