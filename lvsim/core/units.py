"""Sizes and percentages: parsing LVM's size arguments and printing sizes as LVM does."""

from __future__ import annotations

import functools
import math
import re
import struct
from dataclasses import dataclass

from lvsim.core.errors import ArgError

SECTOR = 512
_SIZE_SUFFIXES = "kmgtpebs"  # index: k=0 .. e=5, b=6 (bytes), s=7 (sectors)
_PERCENT_WORDS = {
    "V": "VG",
    "VG": "VG",
    "L": "LV",
    "LV": "LV",
    "P": "PVS",
    "PV": "PVS",
    "PVS": "PVS",
    "F": "FREE",
    "FR": "FREE",
    "FREE": "FREE",
    "O": "ORIGIN",
    "OR": "ORIGIN",
    "ORIGIN": "ORIGIN",
}


@dataclass(frozen=True)
class SizeArg:
    """A parsed size or extents argument: sign '', '+' or '-'; value in sectors (or extents / percent)."""

    sign: str
    value: int
    percent: str = ""  # "", VG, FREE, PVS, LV, ORIGIN


def _split_sign(text: str) -> tuple[str, str]:
    if text and text[0] in "+-":
        return text[0], text[1:]
    return "", text


def _strtod(text: str) -> tuple[float, str]:
    """Parse a leading decimal number like C's strtod; return (value, rest)."""
    end = 0
    seen_digit = seen_dot = False
    while end < len(text):
        ch = text[end]
        if ch.isdigit():
            seen_digit = True
        elif ch == "." and not seen_dot:
            seen_dot = True
        else:
            break
        end += 1
    if not seen_digit:
        return 0.0, text
    return float(text[:end]), text[end:]


def parse_size(text: str, default_factor: int) -> SizeArg:
    """Parse `[+|-]NUMBER[UNIT]` into sectors; default_factor is sectors per unit-less number."""
    sign, val = _split_sign(text)
    if val[:1] in ("+", "-"):
        raise ArgError("Multiple sign symbols detected.")
    if not (val[:1].isdigit() or val[:1] == "."):
        raise ArgError("Size requires number argument.")
    v, rest = _strtod(val)
    if rest == val:
        raise ArgError(f"Can't parse size argument at '{rest[:1]}'.")
    if rest:
        idx = _SIZE_SUFFIXES.rfind(rest[0].lower())
        if idx < 0:
            raise ArgError("Can't parse size argument.")
        if idx == 6:
            whole = int(v)
            adj = whole % 512
            if adj:
                whole += 512 - adj
                raise ArgError(f"Size is not a multiple of 512. Try using {whole - 512} or {whole}.")
            v /= 512
        elif idx < 6:
            v *= 1024**idx * 2
    else:
        v *= default_factor
    if v >= float((2**64 - 1) >> 9):
        raise ArgError("Size is too big (>=16EiB).")
    return SizeArg(sign, int(v))


def parse_extents(text: str) -> SizeArg:
    """Parse `[+|-]INTEGER[%VG|%FREE|%PVS|%LV|%ORIGIN]`."""
    sign, val = _split_sign(text)
    digits = len(val) - len(val.lstrip("0123456789"))
    if not digits:
        raise ArgError("")
    number, rest = int(val[:digits]), val[digits:]
    if not rest:
        return SizeArg(sign, number)
    if rest[0] != "%":
        raise ArgError("")
    word = _PERCENT_WORDS.get(rest[1:].upper())
    if word is None:
        raise ArgError(f"Specified %{rest[1:]} is unknown.")
    return SizeArg(sign, number, word)


# ---------------------------------------------------------------------------------------------
# Printing sizes (dm_size_to_string)

_BASE_1024 = "eptgmk"
_BASE_1000 = "EPTGMK"
_LONG_1024 = (" EiB", " PiB", " TiB", " GiB", " MiB", " KiB", " B")


def units_factor(units: str) -> tuple[str, int] | None:
    """Map a --units value to (unit_type, bytes per unit); None if invalid.  r/h/R/H have factor 0."""
    m = re.fullmatch(r"(\d+(?:\.\d*)?)?([a-zA-Z])", units)
    if not m:
        return None
    number, letter = m.groups()
    if letter in "hHrR":
        return (letter, 0) if number is None else None
    if letter in "bBsS":
        mult = 1 if letter in "bB" else 512
    elif letter in _BASE_1024:
        mult = 1024 ** (6 - _BASE_1024.index(letter))
    elif letter in _BASE_1000:
        mult = 1000 ** (6 - _BASE_1000.index(letter))
    else:
        return None
    if number is None or float(number) == 1:
        return letter, mult
    return "U", int(float(number) * mult)


def format_size(nbytes: int, units: str = "r", suffix: bool = True, long_form: bool = False) -> str:
    """Render a size the way LVM's reports (and, with long_form, its messages) do."""
    parsed = units_factor(units) or ("r", 0)
    unit_type, factor = parsed
    sectors = nbytes // SECTOR
    human = factor == 0
    if not human:
        if unit_type in "bB":
            unit_suffix = "B"
        elif unit_type in "sS":
            unit_suffix = "S"
        elif unit_type == "U":
            unit_suffix = "U"
        else:
            unit_suffix = unit_type
        if sectors == 0:
            return "0" + (unit_suffix if suffix else "")
        precision = 0 if unit_suffix in "BS" else 2
        return f"{sectors * SECTOR / factor:.{precision}f}" + (unit_suffix if suffix else "")
    if sectors == 0:
        return "0" + (("   " if long_form else " ") if suffix else "")
    base = 1000 if unit_type in "HR" else 1024
    size = sectors * SECTOR
    byte = base**6
    idx = 0
    while idx < 6 and size < byte:
        byte //= base
        idx += 1
    prefix = ""
    if idx < 6 and unit_type in "rR":
        d = 100.0 * size / byte
        if math.floor(d) != _nearbyint(d):
            prefix = "<"
    if long_form:
        names = _LONG_1024 if base == 1024 else (" EB", " PB", " TB", " GB", " MB", " kB", " B ")
        tail = names[idx]
    else:
        letters = (_BASE_1024 if base == 1024 else _BASE_1000) + ("b" if base == 1024 else "B")
        tail = letters[idx]
    precision = 0 if idx == 6 else 2
    return f"{prefix}{size / byte:.{precision}f}" + tail


def _nearbyint(d: float) -> float:
    """Round half to even, like C's nearbyint in the default rounding mode."""
    return float(round(d))


def display_size(nbytes: int) -> str:
    """A size in LVM's message style: `12.00 MiB`, `<15.88 TiB`."""
    return format_size(nbytes, "r", long_form=True)


# ---------------------------------------------------------------------------------------------
# Percentages (dm_percent_t and its report formatting)


def percent_value(num: int, den: int) -> int:
    """dm_make_percent: a percentage in units of 1e-6 %, with LVM's edge adjustments."""
    if num == 0 or den == 0:
        return 0
    if num == den:
        return 100_000_000
    p = int(100_000_000 * num / den)
    if p == 100_000_000:
        p -= 1
    elif p == 0:
        p = 1
    return p


def f32(x: float) -> float:
    """x rounded to a C float (LVM computes percentages in single precision)."""
    return struct.unpack("f", struct.pack("f", x))[0]


_ONE_HUNDREDTH = f32(0.01)
_NEARLY_FULL = f32(99.99)


@functools.lru_cache(maxsize=4096)
def percent_text(p: int) -> str:
    """dm_report_field_percent: "%.2f" of the float percentage (`percent_value` units), never 0.00
    or 100.00 unless exact."""
    if 0 < p < 10_000:
        return f"{_ONE_HUNDREDTH:.2f}"
    if 100_000_000 - 10_000 < p < 100_000_000:
        return f"{_NEARLY_FULL:.2f}"
    return f"{f32(f32(p) / 1_000_000):.2f}"


def format_percent(num: int, den: int) -> str:
    """A percentage as the report shows it (dm_percent_to_round_float with 2 digits, then %.2f)."""
    return percent_text(percent_value(num, den))
