"""`lvsim log`: what the simulated dmeventd logged, in journalctl's short format on the simulated clock."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any


def stamp(seconds: float) -> str:
    """The simulated time as journalctl prints it (UTC: the simulated clock has no time zone)."""
    return time.strftime("%b %d %H:%M:%S", time.gmtime(seconds))


def lines(entries: Iterable[dict[str, Any]], host: str) -> list[str]:
    return [f"{stamp(e['t'])} {host} dmeventd: {e['msg']}" for e in entries]
