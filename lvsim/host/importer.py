"""`lvsim import`: a simulated host built from a real host's vgcfgbackup files or capture bundle.

For every PV the metadata names, a simulated disk at its device path (or where --map sends it) of
the recorded size (the bundle's dev_size, else the PV's), labelled with the PV's uuid, extents and
tags; then the VG exactly as its metadata says (`lvsim.lvm.metadata.install`). Plain backup files
leave every LV inactive, as vgcfgrestore does; a bundle's LVs are activated as they were on the host
and its pool and snapshot usage replayed (`lvsim.host.replay`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lvsim.core.model import MDA_START, PV, SECTOR, VG, Disk, State
from lvsim.host import bundle as bundles
from lvsim.lvm.metadata import install, reader, writer


class ImportFailure(Exception):
    """The import cannot go on; the message says why (`refused` when lvsim does not emulate it)."""

    def __init__(self, message: str, refused: bool = False) -> None:
        super().__init__(message)
        self.refused = refused


@dataclass
class Source:
    """One VG to import: its metadata, where it came from, and the host's reports if captured."""

    origin: str
    metadata: reader.Metadata
    capture: bundles.Bundle | None = None


@dataclass
class Imported:
    vg: str
    origin: str
    disks: list[tuple[str, int]]
    captured: bool = False  # from a bundle: activation and usage as on the host
    notes: list[str] = field(default_factory=list)


def parse_maps(pairs: Sequence[str]) -> dict[str, str]:
    maps = {}
    for pair in pairs:
        old, eq, new = pair.partition("=")
        if not eq or not old.startswith("/dev/") or not new.startswith("/dev/"):
            raise ImportFailure(f"--map wants OLD=NEW device paths (/dev/...), got {pair!r}")
        maps[old] = new
    return maps


def _read(path: Path, origin: str) -> reader.Metadata:
    try:
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise ImportFailure(f"cannot read {path}: {exc.strerror}") from None
    try:
        return reader.read(text)
    except reader.MetadataError as exc:
        raise ImportFailure(f"{origin}: not LVM metadata LVM could read: {' '.join(exc.lines)}") from None
    except reader.Unsupported as exc:
        raise ImportFailure(f"{origin}: {exc} is not emulated", refused=True) from None


def sources(paths: Sequence[Path]) -> list[Source]:
    """The VGs named by files and bundle directories, in the order given."""
    found = []
    for path in paths:
        if bundles.is_bundle(path):
            try:
                captured = bundles.load(path)
            except bundles.BundleError as exc:
                raise ImportFailure(str(exc)) from None
            for file_name in captured.backups.values():
                origin = str(path / file_name)
                found.append(Source(origin, _read(path / file_name, origin), captured))
        elif path.is_dir():
            raise ImportFailure(f"{path} is a directory without {bundles.MANIFEST} (not a capture bundle)")
        else:
            found.append(Source(str(path), _read(path, str(path))))
    return found


def _device_sizes(source: Source) -> dict[str, int]:
    if source.capture is None:
        return {}
    return {row["pv_name"]: int(row["dev_size"]) for row in source.capture.rows("pv") if row.get("dev_size")}


def _mda(source: Source, device: str) -> tuple[int, int] | None:
    """(mda size, mda count) of a PV from the bundle's pvs report."""
    if source.capture is None:
        return None
    for row in source.capture.rows("pv"):
        if row.get("pv_name") == device and row.get("pv_mda_size"):
            return int(row["pv_mda_size"]), int(row.get("pv_mda_count") or 1)
    return None


def _metadata_size(state: State, vg: VG, md: reader.Metadata, source: Source) -> int:
    """The size of the text in the host's metadata areas: what its vg_mda_free says, when captured;
    else as the backup's host would have written it, but for the description of the command that
    last wrote it (unknown: an estimate, within a sector or so)."""
    mda = min((state.pvs[d].mda_size for d in vg.pvs), default=0)
    room = (mda - writer.MDA_HEADER) // 2 - SECTOR
    for row in source.capture.rows("vg") if source.capture is not None else []:
        if row.get("vg_name") == vg.name and str(row.get("vg_mda_free", "")).isdigit():
            return max(1, room - int(row["vg_mda_free"]))
    head = writer.Header(
        "", md.creation_time, md.creation_host, md.uname or writer.sim_uname(md.creation_host)
    )
    return len(writer.vg_text(state, vg, head, raw=True).encode("utf-8", "surrogateescape")) + 1


def _check(state: State, sources: Sequence[Source], maps: Mapping[str, str]) -> None:
    names: set[str] = set()
    devices: set[str] = set()
    for source in sources:
        md = source.metadata
        if md.vg.name in state.vgs or md.vg.name in names:
            raise ImportFailure(f"{source.origin}: a VG named {md.vg.name} exists already")
        names.add(md.vg.name)
        for pv in md.pvs:
            device = maps.get(pv.device, pv.device)
            if device in state.disks or device in devices:
                raise ImportFailure(
                    f"{source.origin}: {device} exists already in the simulated host "
                    "(send the PV elsewhere with --map OLD=NEW)"
                )
            devices.add(device)


def import_sources(state: State, found: Sequence[Source], maps: Mapping[str, str]) -> list[Imported]:
    """Add every source's disks, PVs and VG to state; nothing is added if any of them cannot be."""
    _check(state, found, maps)
    done = []
    for source in found:
        md = source.metadata
        sizes = _device_sizes(source)
        disks = []
        where = {}
        for record in md.pvs:
            device = maps.get(record.device, record.device)
            size = sizes.get(record.device, record.dev_size)
            state.disks[device] = Disk(device, size)
            pv = PV(device, record.uuid)
            mda = _mda(source, record.device)
            pv.mda_size, pv.mda_count = mda if mda else (record.pe_start - MDA_START, 1)
            state.pvs[device] = pv
            where[record.uuid] = device
            disks.append((device, size))
        vg = install.install_vg(state, md, where)
        vg.metadata_size = _metadata_size(state, vg, md, source)
        imported = Imported(md.vg.name, source.origin, disks, source.capture is not None)
        if source.capture is not None:
            from lvsim.host import replay

            imported.notes = replay.replay(state, md.vg.name, source.capture)
        done.append(imported)
    return done


def running_host(paths: Sequence[Path], maps: Mapping[str, str]) -> tuple[State, list[Imported]]:
    """A fresh simulated host made of the given files and bundles, running: a VG known only from its
    metadata is activated as at boot (vgchange -ay, activation-skip flags honoured)."""
    from lvsim import dispatch

    state = State()
    done = import_sources(state, sources(paths), maps)
    for item in done:
        if not item.captured:
            dispatch.run(state, ["vgchange", "-ay", item.vg])
    return state, done
