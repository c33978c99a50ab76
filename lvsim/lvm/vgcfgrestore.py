"""vgcfgrestore: write a VG's metadata back from its backup, an archive or a file; --list them.

The file is one of the simulated LVM system directory's (backup/VG, archive/*.vg, see
`metadata.files`) or a real file. The restore replaces the VG's metadata on its PVs, found by their
uuids; what the kernel holds (active LVs, thin mappings, COW exceptions) stays (`metadata.install`).
"""

from __future__ import annotations

import os
import time

from lvsim.core import devmap
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, EINVALID_CMD_LINE, NOT_EMULATED, LvmError
from lvsim.core.model import LVKind, State
from lvsim.core.names import name_problem
from lvsim.lvm.common import run_help
from lvsim.lvm.metadata import files, install, reader, writer
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse
from lvsim.tools.toolkit import host_file


def _absolute(path: str) -> str:
    return os.path.normpath(os.path.join(os.getcwd(), path))


def read_text(state: State, path: str) -> str:
    """A metadata file's text: the simulated directory's, else the host's; LvmError with LVM's
    lines (and the warning that follows them) when it cannot be read."""
    simulated = state.lvm_files.get(_absolute(path))
    if simulated is not None:
        text = files.text_of(state, _absolute(path))
        if text is None:
            refuse(f"reading {path} (the simulator does not keep this archive's text)")
        return text
    try:
        with open(host_file("vgcfgrestore", path), encoding="utf-8", errors="surrogateescape") as f:
            return f.read()
    except OSError as exc:
        raise LvmError(
            f"{path}: stat failed: {exc.strerror}", "WARNING: couldn't read volume group metadata from file."
        ) from None


def read_metadata(state: State, path: str) -> reader.Metadata:
    text = read_text(state, path)
    try:
        return reader.read(text)
    except reader.MetadataError as exc:
        raise LvmError(*exc.lines) from None
    except reader.Unsupported as exc:
        refuse(f"{path}: {exc}")


# -- --list -----------------------------------------------------------------------------------


def _display(ctx: Ctx, directory: str, name: str) -> None:
    """One file of a listing (LVM prints the directory-and-name path, then the name again)."""
    path = f"{directory}/{name}"
    ctx.console.print(" ")
    ctx.console.print(f"File:\t\t{path}/{name}")
    simulated = ctx.state.lvm_files.get(_absolute(path))
    if simulated is not None:
        vg_name, description, when = simulated.vg, simulated.description, simulated.time
    else:
        try:
            md = read_metadata(ctx.state, path)
        except LvmError as exc:
            for line in exc.lines:
                ctx.console.error(line)
            ctx.console.error("Unable to read archive file.")
            return
        vg_name, description, when = md.vg.name, md.description, md.creation_time
    ctx.console.print(f"VG name:    \t{vg_name}")
    ctx.console.print(f"Description:\t{description or '<No description>'}")
    ctx.console.print(f"Backup Time:\t{time.ctime(when)}\n")


def _list_vg(ctx: Ctx, vg_name: str) -> None:
    sysdir = files.system_dir(ctx.env)
    found = files.archives(ctx.state, sysdir, vg_name)
    directory = files.archive_dir(sysdir)
    if not found:
        ctx.console.print(f"No archives found in {directory}.")
    for path, _ in found:
        _display(ctx, directory, path.rsplit("/", 1)[1])
    if files.backup_path(sysdir, vg_name) in ctx.state.lvm_files:
        _display(ctx, f"{sysdir}/backup", vg_name)


def _list_file(ctx: Ctx, path: str) -> None:
    if _absolute(path) not in ctx.state.lvm_files and not os.path.exists(host_file("vgcfgrestore", path)):
        raise LvmError(f"Archive file {path} not found.")
    directory, _, name = path.rpartition("/")
    _display(ctx, directory, name)


# -- restore ----------------------------------------------------------------------------------


def _active_volumes(ctx: Ctx, vg_name: str) -> int:
    """Volume group VG has active volume: LV. for every dm device of the VG (layers included)."""
    found = 0
    for dev in sorted(devmap.devices(ctx.state), key=lambda d: d.name):
        vg, lv = _split_lvm_name(dev.name)
        if vg == vg_name:
            ctx.console.print(f"Volume group {vg} has active volume: {lv}.")
            found += 1
    return found


def _split_lvm_name(name: str) -> tuple[str, str]:
    """dm_split_lvm_name: VG, then the LV name without a -layer suffix (doubled dashes are literal)."""
    parts, word, i = [], "", 0
    while i < len(name):
        if name[i] == "-":
            if name[i + 1 : i + 2] == "-":
                word += "-"
                i += 2
                continue
            parts.append(word)
            word = ""
        else:
            word += name[i]
        i += 1
    parts.append(word)
    return parts[0], parts[1] if len(parts) > 1 else ""


def restore(ctx: Ctx, vg_name: str, path: str, force: bool) -> None:
    """backup_restore_from_file: read, refuse thin pools without --force, find the PVs, write."""
    try:
        md = read_metadata(ctx.state, path)
    except LvmError as exc:
        if exc.rc == NOT_EMULATED:
            raise
        raise LvmError(*exc.lines, f"Failed to read VG {vg_name} from {path}") from None
    if md.vg.name != vg_name:
        raise LvmError(f"'{path}' does not contain volume group '{vg_name}'.")
    if any(
        lv.kind in (LVKind.THIN, LVKind.THIN_POOL) or lv.role in ("tdata", "tmeta")
        for lv in md.vg.lvs.values()
    ):
        if not force:
            raise LvmError(
                f"Consider using option --force to restore Volume Group {vg_name} with thin volumes."
            )
        ctx.console.warn(f"Forced restore of Volume Group {vg_name} with thin volumes.")
    by_uuid = {pv.uuid: device for device, pv in ctx.state.pvs.items()}
    missing = [pv for pv in md.pvs if pv.uuid not in by_uuid]
    for pv in missing:
        ctx.console.warn(f"Couldn't find device with uuid {pv.uuid}.")
    if missing:
        raise LvmError(f"Cannot restore Volume Group {vg_name} with {len(missing)} PVs marked as missing.")
    for pv in md.pvs:
        owner = ctx.state.pvs[by_uuid[pv.uuid]].vg
        if owner not in (None, vg_name):
            refuse(f"vgcfgrestore onto {by_uuid[pv.uuid]}, a PV of VG {owner}")
    md.vg.seqno += 1
    md.vg.metadata_description = writer.write_description(files.command_line(ctx.command, ctx.words), 1)
    install.install_vg(ctx.state, md, {pv.uuid: by_uuid[pv.uuid] for pv in md.pvs})


@command(LvmSpec("vgcfgrestore"))
def vgcfgrestore(ctx: Ctx) -> int:
    args = ctx.args
    vg_name = ""
    if len(args.pos) == 1:
        vg_name = args.pos[0][5:] if args.pos[0].startswith("/dev/") else args.pos[0]
        if name_problem(vg_name):
            raise LvmError(
                f'Volume group name "{vg_name}" is invalid.', run_help(ctx.command), rc=EINVALID_CMD_LINE
            )
    elif not (args.has("list") and args.has("file")):
        raise LvmError("Please specify a *single* volume group to restore.", rc=EINVALID_CMD_LINE)
    if args.has("list"):
        if args.has("file"):
            _list_file(ctx, args.str("file"))
        else:
            _list_vg(ctx, vg_name)
        return 0
    found = _active_volumes(ctx, vg_name)
    if found:
        ctx.console.warn(f'Found {found} active volume(s) in volume group "{vg_name}".')
        ctx.console.print("Restoring VG with active LVs, may cause mismatch with its metadata.")
        question = (
            f'Do you really want to proceed with restore of volume group "{vg_name}", '
            f"while {found} volume(s) are active? [y/n]: "
        )
        if not args.has("yes") and not ctx.console.prompt(question):
            raise LvmError("Restore aborted.")
    path = args.str("file") or files.backup_path(files.system_dir(ctx.env), vg_name)
    try:
        restore(ctx, vg_name, path, args.has("force"))
    except LvmError as exc:
        if exc.rc == NOT_EMULATED:
            raise
        raise LvmError(*exc.lines, "Restore failed.", rc=ECMD_FAILED) from None
    ctx.console.print(f"Restored volume group {vg_name}.")
    return 0
