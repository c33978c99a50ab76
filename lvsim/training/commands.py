"""What `lvsim show | watch | log | save | restore | reset` do (the CLI module only parses arguments)."""

from __future__ import annotations

import io
import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import TextIO

from rich.console import Console, Group
from rich.text import Text

from lvsim.core import config as lvmconfig
from lvsim.core import store
from lvsim.core.model import State
from lvsim.training import log, machine, picture


def _env() -> dict[str, str]:
    return lvmconfig.environment()


def policy(path: Path, env: Mapping[str, str]) -> picture.Policy:
    """The autoextend settings dmeventd acts on for the machine saved at path."""
    return policy_of(store.load(path) if path.exists() else None, env)


def policy_of(state: State | None, env: Mapping[str, str]) -> picture.Policy:
    """The autoextend settings dmeventd acts on: its own lvm.conf once it runs, else this environment's."""
    daemon = (state.dmeventd or {}) if state else {}
    if daemon.get("running"):
        env = {lvmconfig.SYSTEM_DIR_VAR: daemon["system_dir"]} if daemon.get("system_dir") else {}
    try:
        cfg = lvmconfig.load(env, (), state.lvm_conf if state else None)
    except lvmconfig.ConfigError:
        return picture.Policy()
    return picture.Policy(
        cfg.int("activation/thin_pool_autoextend_threshold"),
        cfg.int("activation/thin_pool_autoextend_percent"),
        cfg.int("activation/snapshot_autoextend_threshold"),
        cfg.int("activation/snapshot_autoextend_percent"),
    )


def console(out: TextIO, color: bool | None = None) -> Console:
    """A rich console on `out`: colour when it is a terminal (or when asked), never when NO_COLOR is set."""
    if color is None:  # the guard's stdout hides the terminal from rich: ask the descriptor
        return Console(file=out, highlight=False, force_terminal=_isatty(out) or None)
    return Console(file=out, highlight=False, force_terminal=color, no_color=not color, width=100)


def _isatty(out: TextIO) -> bool:
    try:
        return os.isatty(out.fileno())
    except (OSError, ValueError, io.UnsupportedOperation):  # the guard's stream on descriptor 1
        return out is sys.stdout and os.isatty(1)


def picture_of(path: Path, env: Mapping[str, str]) -> Group:
    """The picture of the machine now, with the simulated time and dmeventd's last words under it."""
    lines = picture.render(picture.collect(machine.reporter(path, env)), policy(path, env))
    state = store.load(path)
    entries = (state.dmeventd or {}).get("journal", [])[-5:]
    footer = Text(f"simulated time {log.stamp(state.clock)}", style="dim")
    tail = [Text(line, style="dim") for line in log.lines(entries, state.host)]
    return Group(*lines, footer, *tail)


def show(path: Path, out: TextIO = sys.stdout, color: bool | None = None) -> None:
    console(out, color).print(picture_of(path, _env()), overflow="ellipsis", no_wrap=True)


def watch(path: Path, interval: float = 1.0, out: TextIO = sys.stdout) -> None:
    """The picture, redrawn every `interval` seconds until Ctrl-C (which ends it quietly)."""
    from rich.live import Live

    env = _env()
    screen = console(out)
    try:
        with Live(picture_of(path, env), console=screen, auto_refresh=False) as live:
            live.refresh()
            while True:
                time.sleep(interval)
                live.update(picture_of(path, env), refresh=True)
    except KeyboardInterrupt:
        screen.print()


def journal(path: Path, out: TextIO = sys.stdout) -> None:
    """dmeventd's journal, after it caught up with the simulated clock."""
    machine.catch_up(path)
    state = store.load(path)
    for line in log.lines((state.dmeventd or {}).get("journal", []), state.host):
        out.write(line + "\n")
