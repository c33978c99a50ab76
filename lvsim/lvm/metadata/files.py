"""The simulated LVM system directory's metadata files: backup/VG and archive/VG_NNNNN-R.vg.

Real LVM archives a VG's metadata before each metadata commit ("Created *before* executing 'CMD'")
and backs it up after the command ("Created *after* ..."); vgremove drops the backup. The simulator
keeps these files in the state (`State.lvm_files`, by path), never on the host: the directory is
$LVM_SYSTEM_DIR of the command (as LVM reads it), else /etc/lvm. Paths under its backup/ and
archive/ directories name these files for every emulated command (vgcfgrestore -f, cat).

A file keeps its header's fields and its VG section (compressed), so that an archive shares the
section of the backup it is made from. The section is kept for the newest `KEEP_TEXT` archives of a
VG (LVM's archive/retain_min) and for the first commit of a command (the VG as the command found it);
the others stay listed (name, description, time) and are refused as restore sources.
"""

from __future__ import annotations

import base64
import dataclasses
import zlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from lvsim.core.context import Ctx
from lvsim.core.model import PV, VG, MetadataFile, State
from lvsim.lvm.metadata import CHECKERS, WRITERS, writer

DEFAULT_SYSTEM_DIR = "/etc/lvm"
KEEP_TEXT = 10


def system_dir(env: Mapping[str, str] | None) -> str:
    return (env or {}).get("LVM_SYSTEM_DIR") or DEFAULT_SYSTEM_DIR


def backup_path(sysdir: str, vg_name: str) -> str:
    return f"{sysdir}/backup/{vg_name}"


def archive_dir(sysdir: str) -> str:
    return f"{sysdir}/archive"


def pack(text: str) -> str:
    return base64.b64encode(zlib.compress(text.encode("utf-8", "surrogateescape"), 6)).decode("ascii")


def unpack(packed: str) -> str:
    return zlib.decompress(base64.b64decode(packed)).decode("utf-8", "surrogateescape")


def new_file(state: State, vg: VG, description: str, vg_body: str) -> MetadataFile:
    """A file the simulated host writes now (its header names this host and time)."""
    return MetadataFile(vg.name, vg.uuid, vg.seqno, description, int(state.clock), state.host, pack(vg_body))


def text_of(state: State, path: str) -> str | None:
    """The text of a simulated metadata file; None if there is no such file (or its text is gone)."""
    found = state.lvm_files.get(path)
    if found is None or not found.body:
        return None
    head = writer.Header(found.description, found.time, found.host, writer.sim_uname(found.host))
    return writer.header_text(head) + unpack(found.body)


def command_line(name: str, args: Sequence[str]) -> str:
    """LVM's cmd_line: the words joined by spaces, a word holding a space in single quotes."""
    return " ".join(f"'{w}'" if " " in w else w for w in [name, *args])


def vg_section(state: State, vg: VG) -> str:
    """The VG section of the text (what follows the header)."""
    return writer.vg_body(state, vg)


def write_backup(state: State, sysdir: str, vg: VG, description: str) -> None:
    state.lvm_files[backup_path(sysdir, vg.name)] = new_file(state, vg, description, vg_section(state, vg))


def remove_backup(state: State, sysdir: str, vg_name: str) -> None:
    state.lvm_files.pop(backup_path(sysdir, vg_name), None)


def _archive_index(path: str, prefix: str) -> int | None:
    if not (path.startswith(prefix) and path.endswith(".vg")):
        return None
    number = path[len(prefix) :].split("-", 1)[0]
    return int(number) if number.isdigit() else None


def archives(state: State, sysdir: str, vg_name: str) -> list[tuple[str, int]]:
    """(path, index) of a VG's archives, oldest first (index order, as LVM sorts them)."""
    prefix = f"{archive_dir(sysdir)}/{vg_name}_"
    found = [(path, _archive_index(path, prefix)) for path in state.lvm_files]
    return sorted(((p, n) for p, n in found if n is not None), key=lambda item: item[1])


def _random(state: State) -> int:
    """rand_r's next number for an archive name (deterministic per state)."""
    import hashlib

    state.counter += 1
    return int.from_bytes(hashlib.sha256(f"lvsim-archive-{state.counter}".encode()).digest()[:4], "big") >> 1


def add_archive(
    state: State, sysdir: str, name: str, uuid: str, seqno: int, packed: str, description: str
) -> None:
    """Archive a VG's metadata (its packed VG section as of seqno; "" when not kept) under the next
    free index, and drop the sections of its archives beyond the newest KEEP_TEXT (archives are
    added in index order, so the newest are found from the end)."""
    prefix = f"{archive_dir(sysdir)}/{name}_"
    index, kept = -1, 0
    for path in reversed(state.lvm_files):
        number = _archive_index(path, prefix)
        if number is None:
            continue
        index = max(index, number)
        if not packed:  # nothing to prune: the newest archive gives the index
            break
        found = state.lvm_files[path]
        if found.body:
            kept += 1
            if kept >= KEEP_TEXT:  # at most one beyond (sections are only ever added at the new end)
                found.body = ""
                break
    path = f"{prefix}{index + 1:05d}-{_random(state)}.vg"
    state.lvm_files[path] = MetadataFile(name, uuid, seqno, description, int(state.clock), state.host, packed)


@dataclass(frozen=True)
class Before:
    """A VG as a command found it: enough to archive it if the command changes it, and the VG with
    its PVs but without LVs (what vgremove leaves in its backup)."""

    uuid: str
    seqno: int
    packed: str  # its packed VG section
    has_lvs: bool  # visible ones
    emptied: VG
    pvs: dict[str, PV]


def before_command(state: State, sysdir: str) -> dict[str, Before]:
    """Note every VG before a command runs (its section is the up-to-date backup's, else made)."""
    noted = {}
    for name, vg in state.vgs.items():
        backup = state.lvm_files.get(backup_path(sysdir, name))
        if backup is not None and backup.body and backup.seqno == vg.seqno and backup.vg_uuid == vg.uuid:
            packed = backup.body
        else:
            packed = pack(vg_section(state, vg))
        emptied = dataclasses.replace(vg, pvs=list(vg.pvs), lvs={})
        pvs = {d: dataclasses.replace(state.pvs[d]) for d in vg.pvs if d in state.pvs}
        noted[name] = Before(
            vg.uuid, vg.seqno, packed, any(lv.visible for lv in vg.lvs.values()), emptied, pvs
        )
    return noted


class Archiver:
    """Archives and backups around one command that may write metadata, or that checks the backups
    (vgs, vgdisplay, vgscan, vgchange -ay: LVM's check_current_backup)."""

    def __init__(self, state: State, command: str, sysdir: str) -> None:
        self.sysdir = sysdir
        self.before = before_command(state, sysdir) if command in WRITERS else {}

    @classmethod
    def start(cls, state: State, command: str, env: Mapping[str, str] | None) -> Archiver | None:
        if command not in WRITERS and command not in CHECKERS:
            return None
        return cls(state, command, system_dir(env))

    def finish(self, ctx: Ctx) -> None:
        """After the command: archives and a backup as -A and lvm.conf's backup/backup and
        backup/archive allow; a change without a backup is said so."""
        no_autobackup = ctx.args.get("autobackup") is False  # -A n: neither archives nor a backup (recorded)
        autobackup = not no_autobackup and ctx.config.int("backup/backup") != 0
        archive = not no_autobackup and ctx.config.int("backup/archive") != 0
        cmd_line = command_line(ctx.command, ctx.words)
        if ctx.command in WRITERS:
            changed = after_command(ctx.state, self.sysdir, cmd_line, self.before, autobackup, archive)
            if changed and not autobackup:
                ctx.console.warn("This metadata update is NOT backed up.")
        checks = ctx.command in CHECKERS and (ctx.command != "vgchange" or ctx.args.get("activate") == "y")
        if checks and autobackup:
            names = [n[5:] if n.startswith("/dev/") else n for n in ctx.args.pos] or list(ctx.state.vgs)
            for name in names:
                if name in ctx.state.vgs:
                    check_current_backup(ctx.state, self.sysdir, ctx.state.vgs[name], cmd_line)


def after_command(
    state: State,
    sysdir: str,
    cmd_line: str,
    before: Mapping[str, Before],
    autobackup: bool = True,
    archive: bool = True,
) -> bool:
    """Archive every VG the command changed once per metadata commit it made (its seqno steps: the
    first archive holds the VG as the command found it, the ones between its commits are listed but
    their section is not kept), then back it up; archive a removed VG and drop its backup.  Returns
    whether any VG changed."""
    changed = False
    by_uuid = {b.uuid: name for name, b in before.items()}
    for name, vg in state.vgs.items():
        old_name = by_uuid.get(vg.uuid)
        old = before.get(old_name) if old_name is not None else None
        if old is not None and old.seqno == vg.seqno:
            continue
        vg.metadata_size = 0  # the simulator wrote it
        vg.metadata_description = writer.write_description(cmd_line, vg.seqno - old.seqno if old else 1)
        changed = True
        if old is not None and old_name is not None:
            if archive:
                _archive_before(state, sysdir, old_name, old, cmd_line, vg.seqno - old.seqno)
            if old_name != name:
                remove_backup(state, sysdir, old_name)
        if autobackup:
            write_backup(state, sysdir, vg, f"Created *after* executing '{cmd_line}'")
    gone = {b.uuid for b in before.values()} - {vg.uuid for vg in state.vgs.values()}
    for name, old in before.items():
        if old.uuid in gone:
            _removed(state, sysdir, name, old, cmd_line, autobackup, archive)
            changed = True
    return changed


def _removed(
    state: State, sysdir: str, name: str, old: Before, cmd_line: str, autobackup: bool, archive: bool
) -> None:
    """vgremove: LVM archives the VG as found; with LVs in it, it archives once more after removing
    them and the backup of the emptied VG stays (all as recorded); an empty VG's backup goes."""
    if archive:
        _archive_before(state, sysdir, name, old, cmd_line, 2 if old.has_lvs else 1)
    if not old.has_lvs or not autobackup:
        remove_backup(state, sysdir, name)
        return
    left = State(disks=state.disks, pvs={**state.pvs, **old.pvs}, clock=state.clock, host=state.host)
    emptied = dataclasses.replace(old.emptied, seqno=old.seqno + 2)
    write_backup(left, sysdir, emptied, f"Created *after* executing '{cmd_line}'")
    state.lvm_files[backup_path(sysdir, name)] = left.lvm_files[backup_path(sysdir, name)]


def _archive_before(state: State, sysdir: str, name: str, old: Before, cmd_line: str, commits: int) -> None:
    description = f"Created *before* executing '{cmd_line}'"
    add_archive(state, sysdir, name, old.uuid, old.seqno, old.packed, description)
    for step in range(1, commits):
        add_archive(state, sysdir, name, old.uuid, old.seqno + step, "", description)


def check_current_backup(state: State, sysdir: str, vg: VG, cmd_line: str) -> None:
    """LVM's check_current_backup: a VG whose backup is missing or stale has that backup's VG and
    itself archived, then a new backup."""
    backup = state.lvm_files.get(backup_path(sysdir, vg.name))
    if backup is not None and backup.seqno == vg.seqno and backup.vg_uuid == vg.uuid:
        return
    description = f"Created *before* executing '{cmd_line}'"
    if backup is not None and backup.body:
        add_archive(state, sysdir, vg.name, backup.vg_uuid, backup.seqno, backup.body, description)
    add_archive(state, sysdir, vg.name, vg.uuid, vg.seqno, pack(vg_section(state, vg)), description)
    write_backup(state, sysdir, vg, f"Created *after* executing '{cmd_line}'")
