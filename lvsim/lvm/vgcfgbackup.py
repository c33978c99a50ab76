"""vgcfgbackup: a VG's metadata as LVM's text, into the simulated backup directory or a file.

`-f FILE` writes a real file (the name may hold %s for the VG's name), except under the simulated
LVM system directory's backup/ and archive/, whose files live in the state (`metadata.files`).
"""

from __future__ import annotations

import os
import tempfile

from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED
from lvsim.core.model import VG, State
from lvsim.lvm import missing_pvs
from lvsim.lvm.metadata import files, writer
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse
from lvsim.tools.toolkit import host_file


def expand(template: str, vg_name: str) -> str:
    """The file name for one VG: printf's %s (and %%) in the template."""
    out, i = [], 0
    while i < len(template):
        if template[i] == "%" and template[i + 1 : i + 2] in ("s", "%"):
            out.append(vg_name if template[i + 1] == "s" else "%")
            i += 2
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def simulated(sysdir: str, path: str) -> bool:
    """Whether a path names a file of the simulated system directory's backup/ or archive/."""
    absolute = os.path.normpath(os.path.join(os.getcwd(), path))
    return any(absolute.startswith(f"{sysdir}/{sub}/") for sub in ("backup", "archive"))


def write_file(state: State, sysdir: str, path: str, vg: VG, description: str) -> bool:
    """Write the backup text to path (a temporary file in its directory renamed over it, as LVM
    does); False, with nothing written, if the directory cannot take it."""
    if simulated(sysdir, path):
        absolute = os.path.normpath(os.path.join(os.getcwd(), path))
        state.lvm_files[absolute] = files.new_file(state, vg, description, files.vg_section(state, vg))
        return True
    text = writer.vg_text(state, vg, writer.sim_header(state, description))
    real = host_file("vgcfgbackup", path)
    try:
        fd, tmp = tempfile.mkstemp(prefix=".lvm_", dir=os.path.dirname(real) or ".")
    except OSError:
        return False
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, real)
    except OSError:
        os.unlink(tmp)
        return False
    return True


@command(LvmSpec("vgcfgbackup"))
def vgcfgbackup(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import Walker
    from lvsim.lvm.report.fields import Env
    from lvsim.lvm.vgchange import scan_order

    sysdir = files.system_dir(ctx.env)
    walker = Walker(ctx.state, ctx.console, Env(ctx.state), ctx.args)
    names = walker.vg_names() if ctx.args.pos else scan_order(ctx.state)
    rc = walker.rc
    template = ctx.args.str("file")
    last = ""
    cmd_line = files.command_line(ctx.command, ctx.words)
    partial = [n for n in names if missing_pvs.missing_pvs(ctx.state, ctx.state.vgs[n])]
    if partial and (not template or len(names) > 1):  # recorded: vgcfgbackup -f FILE VG
        refuse(f"vgcfgbackup of VG {partial[0]} with missing PVs but as -f FILE VG")
    for name in names:
        vg = ctx.state.vgs[name]
        if name in partial:
            missing_pvs.warn_missing(ctx.console, ctx.state, vg)
        if template:
            path = expand(template, name)
            if path == last:
                ctx.console.error(
                    "VGs must be backed up into different files. Use %s in filename for VG name."
                )
                rc = ECMD_FAILED
                continue
            last = path
            if not write_file(ctx.state, sysdir, path, vg, cmd_line):
                ctx.console.error("Couldn't create temporary text file name.")
                rc = ECMD_FAILED
                continue
        else:
            files.write_backup(ctx.state, sysdir, vg, f"Created *after* executing '{cmd_line}'")
        ctx.console.print(f'Volume group "{name}" successfully backed up.')
    return rc
