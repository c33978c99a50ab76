"""The entry point of the command shims that `lvsim shims DIR` writes.

Kept free of heavy imports: a shim call is one interpreter start, one locked
read of the state, one emulated command and (if the state changed) one write.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path


def main(state_path: str | None = None) -> int:
    from lvsim import dispatch
    from lvsim.core import store

    path = Path(state_path) if state_path else store.default_path()
    name = os.path.basename(sys.argv[0])
    stdin = sys.stdin if sys.stdin is not None else ""
    try:
        with store.transaction(path) as state:
            outcome = dispatch.run(state, [name, *sys.argv[1:]], stdin)
    except store.StateError as exc:
        sys.stderr.write(f"lvsim: {exc}\n")
        return 5
    sys.stdout.write(outcome.stdout)
    sys.stderr.write(outcome.stderr)
    return outcome.rc
