"""Sizes and percentages: parsing LVM's size arguments and printing sizes as LVM does."""

from __future__ import annotations

import functools
import math
import struct
import sys
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


ASCII_DIGITS = "0123456789"
_HEX_DIGITS = "0123456789abcdefABCDEF"
_C_SPACE = " \t\n\v\f\r"
_DBL_MIN = 2.2250738585072014e-308
ULLONG_MAX = 2**64 - 1


def _span(text: str, pos: int, chars: str) -> int:
    while pos < len(text) and text[pos] in chars:
        pos += 1
    return pos


def c_strtod(text: str) -> tuple[float, int, bool]:
    """C's strtod in the C locale: (value, characters used, ERANGE).  Only ASCII digits count;
    decimal and hexadecimal forms with exponents, inf and nan; a result too large is inf, one too
    small 0 or subnormal, both with ERANGE."""
    pos = _span(text, 0, _C_SPACE)
    start = pos
    if pos < len(text) and text[pos] in "+-":
        pos += 1
    low = text[pos:].lower()
    for word in ("infinity", "inf"):
        if low.startswith(word):
            return (-1.0 if text[start] == "-" else 1.0) * float("inf"), pos + len(word), False
    if low.startswith("nan"):
        end = pos + 3
        if end < len(text) and text[end] == "(":
            close = text.find(")", end)
            if close > 0 and all(c.isascii() and (c.isalnum() or c == "_") for c in text[end + 1 : close]):
                end = close + 1
        return float("nan"), end, False
    if low.startswith("0x") and (
        low[2:3] in tuple(_HEX_DIGITS) or (low[2:3] == "." and low[3:4] in tuple(_HEX_DIGITS))
    ):
        return _hex_float(text, start, pos + 2)
    digits_end = _span(text, pos, ASCII_DIGITS)
    end = digits_end
    if end < len(text) and text[end] == ".":
        end = _span(text, end + 1, ASCII_DIGITS)
    if end == pos or text[pos:end] == ".":
        return 0.0, 0, False
    mantissa_end = end
    if end < len(text) and text[end] in "eE":
        exp = end + 1
        if exp < len(text) and text[exp] in "+-":
            exp += 1
        exp_end = _span(text, exp, ASCII_DIGITS)
        if exp_end > exp:
            end = exp_end
    value = float(text[start:end])
    nonzero = any(c not in "0." for c in text[pos:mantissa_end])
    erange = (value in (float("inf"), float("-inf"))) or (nonzero and abs(value) < _DBL_MIN)
    return value, end, erange


def _hex_float(text: str, start: int, pos: int) -> tuple[float, int, bool]:
    end = _span(text, pos, _HEX_DIGITS)
    if end < len(text) and text[end] == ".":
        end = _span(text, end + 1, _HEX_DIGITS)
    mantissa = text[pos:end]
    exponent = "0"
    if end < len(text) and text[end] in "pP":
        exp = end + 1
        if exp < len(text) and text[exp] in "+-":
            exp += 1
        exp_end = _span(text, exp, ASCII_DIGITS)
        if exp_end > exp:
            exponent, end = text[end + 1 : exp_end], exp_end
    sign = "-" if text[start] == "-" else ""
    try:
        value = float.fromhex(f"{sign}0x{mantissa}p{exponent}")
    except OverflowError:
        return (-1.0 if sign else 1.0) * float("inf"), end, True
    nonzero = any(c not in "0." for c in mantissa)
    return value, end, nonzero and abs(value) < _DBL_MIN


def c_strtoull(text: str) -> tuple[int, int, bool]:
    """C's strtoull in base 10 on ASCII digits: (value, characters used, ERANGE); clamps at ULLONG_MAX."""
    pos = _span(text, 0, _C_SPACE)
    if pos < len(text) and text[pos] in "+-":
        pos += 1
    end = _span(text, pos, ASCII_DIGITS)
    if end == pos:
        return 0, 0, False
    digits = text[pos:end].lstrip("0") or "0"
    if len(digits) > 20 or int(digits) > ULLONG_MAX:
        return ULLONG_MAX, end, True
    return int(digits), end, False


def parse_size(text: str, default_factor: int) -> SizeArg:
    """Parse `[+|-]NUMBER[UNIT]` into sectors, as LVM's size arguments are read (C's strtod, ASCII
    digits); default_factor is sectors per unit-less number."""
    sign, val = _split_sign(text)
    if val[:1] in ("+", "-"):
        raise ArgError("Multiple sign symbols detected.")
    if not val or val[0] not in ASCII_DIGITS + ".":
        raise ArgError("Size requires number argument.")
    v, used, erange = c_strtod(val)
    rest = val[used:]
    if not used or erange:
        range_note = " Numerical result out of range" if erange else ""
        raise ArgError(f"Can't parse size argument at '{rest[:1]}'.{range_note}")
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
    """Parse `[+|-]INTEGER[%VG|%FREE|%PVS|%LV|%ORIGIN]` (C's strtoull: ASCII digits, below 2^64)."""
    sign, val = _split_sign(text)
    if not val or val[0] not in ASCII_DIGITS:
        raise ArgError("")
    number, used, erange = c_strtoull(val)
    if erange:
        raise ArgError("")
    rest = val[used:]
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
_LONG_1000 = (" EB", " PB", " TB", " GB", " MB", " kB")
_FIXED_LONG = {
    **dict(zip(_BASE_1024, _LONG_1024[:6], strict=True)),
    **dict(zip(_BASE_1000, _LONG_1000, strict=True)),
    "B": " B ",
    "S": " Se",
    "U": " Un",
}


def units_factor(units: str) -> tuple[str, int] | None:
    """Map a --units value to (unit_type, bytes per unit) as libdevmapper reads it in strict mode;
    None if invalid.  A leading number is read by C's strtod (a whole number exactly, as an integer;
    the unit letter is kept only for a multiple of 1, else the type is U); a factor that does not fit
    64 bits is invalid.  r/h/R/H are human-readable (factor 0)."""
    custom, whole, rest = 0.0, 1, units
    if units[:1] in ASCII_DIGITS:
        custom, used, _ = c_strtod(units)
        whole = c_strtoull(units)[0]
        if abs(float(whole) - custom) < sys.float_info.epsilon:
            custom = 0.0  # integer arithmetic
        rest = units[used:]
    if len(rest) != 1:
        return None
    letter = rest
    if letter in "hHrR":
        return letter, 0
    if letter in "bB":
        multiplier = 1
    elif letter in "sS":
        multiplier = 512
    elif letter in _BASE_1024:
        multiplier = 1024 ** (6 - _BASE_1024.index(letter))
    elif letter in _BASE_1000:
        multiplier = 1000 ** (6 - _BASE_1000.index(letter))
    else:
        return None
    if custom == 0.0:
        factor = whole * multiplier % 2**64
    else:
        scaled = custom * multiplier
        factor = int(scaled) if 0 <= scaled < 2**64 else 0  # C's conversion of an out-of-range double
    if factor == 0:
        return None
    return (letter if whole == 1 else "U"), factor


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
        precision = 0 if unit_suffix in "BS" else 2
        if long_form:  # libdevmapper's DM_SIZE_SHORT names (with LVM's si_unit_consistency)
            unit_suffix = _FIXED_LONG.get(unit_type) or _FIXED_LONG[unit_suffix]
        if sectors == 0:
            return "0" + (unit_suffix if suffix else "")
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
