"""`lvsim shell`: an interactive bash on a simulated machine of its own.

A session is a directory (default ~/.lvsim/shell, or --dir) that lvsim makes and owns::

    state, state.blobs/   the simulated machine (LVSIM_STATE)
    saves/                save points (`lvsim save/restore`; `.start` is what `lvsim reset` goes back to)
    bin/                  the command shims, `lvsim` itself and the prompt helper, first on PATH
    etc/lvm.conf          LVM_SYSTEM_DIR: LVM reads it as it would /etc/lvm/lvm.conf (made once, then yours;
                          a lesson or drill starts from the template again)
    work/                 where the shell starts: mount points, backups
    bashrc                the shell's start-up file (rewritten at each start)
    progress.json         lessons done, the lesson or drill in progress

The prompt shows each thin pool's Data% and Meta% (coloured as `lvsim show` colours them).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lvsim.core import store
from lvsim.core.model import Disk

DEFAULT_DISKS = (("/dev/vdb", 1 << 30), ("/dev/vdc", 1 << 30))

LVM_CONF = """\
# lvm.conf of this lvsim shell: LVM_SYSTEM_DIR points here, so every LVM command of the shell (and
# dmeventd, once an LVM command has started it) reads this file as it would /etc/lvm/lvm.conf.
# Check what LVM makes of it with `lvmconfig` (`lvmconfig --type diff`, `lvmconfig --type full
# activation/thin_pool_autoextend_threshold`).
#
# The settings lvsim honours: activation/thin_pool_autoextend_threshold and _percent,
# activation/snapshot_autoextend_threshold and _percent, activation/monitoring, allocation/thin_pool_*,
# report/* (columns, sort, separator, ...) and a few more (lvsim refuses, loudly, any other setting
# that would change what LVM does).

activation {
\t# thin_pool_autoextend_threshold = 100
\t# thin_pool_autoextend_percent = 20
\t# snapshot_autoextend_threshold = 100
\t# snapshot_autoextend_percent = 20
\t# monitoring = 1
}
"""

BASHRC = """\
# Written by `lvsim shell` at each start; changes here are lost.
export LVSIM_STATE={state} LVM_SYSTEM_DIR={etc} LVSIM_SHELL={dir}
export PATH={bin}:"$PATH"
__lvsim_prompt() {{ PS1="$({bin}/lvsim-prompt)\\w\\$ "; }}
PROMPT_COMMAND=__lvsim_prompt
cd {work}
{banner}
"""

BANNER = """\
cat <<'LVSIM_EOF'
lvsim shell: LVM commands here run on a simulated machine ({disks}).
  lvsim show | watch      a picture of the VGs and pools (watch: in a second terminal)
  lvsim clock advance 10  let 10 simulated seconds pass (dmeventd acts every 10 s)
  lvsim log               what dmeventd did          lvmconfig    what LVM reads from lvm.conf
  lvsim save NAME | restore NAME | reset             lvsim lesson list
  lvm.conf is $LVM_SYSTEM_DIR/lvm.conf. Leave with exit.
LVSIM_EOF
"""

PROMPT_SCRIPT = """\
import sys
sys.path.insert(0, {home!r})
from lvsim.training.prompt import main
sys.exit(main())
"""

LVSIM_SCRIPT = """\
import sys
sys.path.insert(0, {home!r})
from lvsim.cli import main
main()
"""


def default_dir() -> Path:
    return Path.home() / ".lvsim" / "shell"


@dataclass(frozen=True)
class Session:
    """The paths of one session directory."""

    dir: Path

    @property
    def state(self) -> Path:
        return self.dir / "state"

    @property
    def bin(self) -> Path:
        return self.dir / "bin"

    @property
    def etc(self) -> Path:
        return self.dir / "etc"

    @property
    def work(self) -> Path:
        return self.dir / "work"

    @property
    def progress_file(self) -> Path:
        return self.dir / "progress.json"

    def env(self) -> dict[str, str]:
        """What a command of the session has in its environment (beyond the caller's)."""
        return {
            "LVSIM_STATE": str(self.state),
            "LVM_SYSTEM_DIR": str(self.etc),
            "LVSIM_SHELL": str(self.dir),
            "PATH": f"{self.bin}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}",
        }

    def progress(self) -> dict[str, Any]:
        try:
            return json.loads(self.progress_file.read_text())
        except (FileNotFoundError, ValueError):
            return {"done": [], "current": None, "kind": None}

    def set_progress(self, progress: dict[str, Any]) -> None:
        tmp = self.progress_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(progress, indent=1) + "\n")
        tmp.replace(self.progress_file)


def _script(path: Path, body: str, flags: str) -> None:
    """A Python script run by this very interpreter (through sh when its path cannot go on a #! line)."""
    interpreter = sys.executable
    if len(interpreter) <= 200 and not any(c.isspace() for c in interpreter):
        text = f"#!{interpreter} {flags}\n{body}"
    else:  # for Python, the sh lines are a string literal
        quote = "'" * 3
        text = f'#!/bin/sh\n{quote}:\'\nexec {shlex.quote(interpreter)} {flags} "$0" "$@"\n{quote}\n{body}'
    path.write_text(text)
    path.chmod(0o755)


def prepare(directory: Path) -> Session:
    """Make (or bring up to date) a session directory; a new one gets two empty 1 GiB disks."""
    from lvsim.shim import write_shims
    from lvsim.training import machine

    session = Session(directory.absolute())
    fresh = not session.state.exists()
    for sub in (session.dir, session.bin, session.etc, session.work):
        sub.mkdir(parents=True, exist_ok=True, mode=0o700)
    write_shims(session.bin, session.state)
    home = str(Path(__file__).resolve().parent.parent.parent)
    _script(session.bin / "lvsim", LVSIM_SCRIPT.format(home=home), "-I")  # typer, rich: site-packages
    _script(session.bin / "lvsim-prompt", PROMPT_SCRIPT.format(home=home), "-IS")
    conf = session.etc / "lvm.conf"
    if not conf.exists():
        conf.write_text(LVM_CONF)
    if fresh:
        with store.transaction(session.state) as state:
            for path, size in DEFAULT_DISKS:
                state.disks[path] = Disk(path, size)
        machine.save(session.state, machine.START)
    return session


def bashrc(session: Session) -> Path:
    state = store.load(session.state)
    disks = ", ".join(f"{d.path} {d.size >> 20} MiB" for d in state.disks.values()) or "no disks"
    rc = session.dir / "bashrc"
    rc.write_text(
        BASHRC.format(
            state=shlex.quote(str(session.state)),
            etc=shlex.quote(str(session.etc)),
            dir=shlex.quote(str(session.dir)),
            bin=shlex.quote(str(session.bin)),
            work=shlex.quote(str(session.work)),
            banner=BANNER.format(disks=disks),
        )
    )
    return rc


def launch(session: Session) -> int:
    """Run the interactive shell; its exit status."""
    rc = bashrc(session)
    env = {**os.environ, **session.env()}
    return subprocess.call(["bash", "--rcfile", str(rc), "-i"], env=env)
