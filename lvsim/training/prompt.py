"""The start of the `lvsim shell` prompt: each thin pool's Data% and Meta%, coloured by how full.

    [vg/pool D 66.67% M 11.23%] ~/work$

Run by bash before each prompt (bin/lvsim-prompt, standard library only): one `lvs` on the shell's
state, which also lets dmeventd catch up with the simulated clock.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

GREEN, YELLOW, RED, RESET = "\033[32m", "\033[33m", "\033[1;31m", "\033[0m"


def _colour(percent: str, warn_at: float = 80.0) -> str:
    try:
        value = float(percent)
    except ValueError:
        return ""
    if value >= 95:
        return RED
    return YELLOW if value >= warn_at else GREEN


def _paint(text: str, colour: str) -> str:
    """Colour for PS1: escapes inside \\[ \\] so bash knows they take no room."""
    return f"\\[{colour}\\]{text}\\[{RESET}\\]" if colour else text


def text(rows: list[dict[str, str]]) -> str:
    """The prompt's prefix for these `lvs` rows (thin pools only)."""
    parts = []
    for row in rows:
        if not row["lv_attr"].startswith("t"):
            continue
        data, meta = row["data_percent"], row["metadata_percent"]
        name = f"{row['vg_name']}/{row['lv_name']}"
        if not data:
            parts.append(f"{name} inactive")
            continue
        full = "!" if row["lv_attr"][8:9] == "D" else ""
        parts.append(
            f"{name} D {_paint(data + '%' + full, _colour(data))} M {_paint(meta + '%', _colour(meta))}"
        )
    return "[" + ("  ".join(parts) if parts else "no thin pools") + "] "


def main() -> int:
    from lvsim import dispatch
    from lvsim.core import store

    path = Path(os.environ.get("LVSIM_STATE") or store.default_path())
    fields = "vg_name,lv_name,lv_attr,data_percent,metadata_percent"
    try:
        with store.transaction(path) as state:
            outcome = dispatch.run(state, ["lvs", "--reportformat", "json", "-o", fields], "", os.environ)
        rows = json.loads(outcome.stdout)["report"][0]["lv"] if outcome.rc == 0 else []
    except Exception:  # a prompt must never fail: show that the state could not be read
        sys.stdout.write("[lvsim: state unreadable] ")
        return 0
    sys.stdout.write(text(rows))
    return 0
