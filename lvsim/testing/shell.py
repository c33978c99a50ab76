"""The shell side of lvsim's test support: `lvsim env`, `lvsim fail`, `lvsim clock` and the bats helper.

Everything here works on a state file, as the shims do, and is what the pytest plugin's `lvm` offers
to bash: the same fault records, the same genuine conditions, the same clock.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Sequence
from pathlib import Path

BATS_HELPER = Path(__file__).with_name("lvsim.bash")


def env_text(state: Path, shims: Path, path: str) -> str:
    """Shell lines exporting LVSIM_STATE and a PATH with the shims first (not added twice)."""
    parts = [p for p in path.split(os.pathsep) if p and p != str(shims)]
    return (
        f"export LVSIM_STATE={shlex.quote(str(state))}\n"
        f"export PATH={shlex.quote(os.pathsep.join([str(shims), *parts]))}\n"
    )


def host_for(state: Path):  # type: ignore[no-untyped-def]  # -> LvmHost (imported lazily)
    """An LvmHost on an existing state file (for `lvsim fail` and `lvsim clock`)."""
    from lvsim.backend import open_backend
    from lvsim.testing.host import LvmHost

    return LvmHost(open_backend("sim", state_path=state))


def parse_commands(commands: Sequence[str]) -> list[str]:
    """`--command lvremove --command dmsetup,kpartx` -> ["lvremove", "dmsetup", "kpartx"]."""
    return [name for item in commands for name in item.split(",") if name]
