"""The long listings of pvdisplay, vgdisplay and lvdisplay (lvm2's lib/display/display.c), and the
values they share with the reports (read through the report fields, so both always agree).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from lvsim.core import devmap
from lvsim.core.console import Console
from lvsim.core.context import Args
from lvsim.core.model import LV, PV, LVKind, State
from lvsim.core.names import dm_name
from lvsim.core.units import format_size, percent_text
from lvsim.lvm.report.field_names import find_field
from lvsim.lvm.report.fields import DEVICE_READ_AHEAD, Env, Row
from lvsim.lvm.report.view import VgView

LVDISPLAY_TIME = "%Y-%m-%d %T %z"

# --units and --nosuffix of the command printing (lvm2's current_settings): display_size's units
_UNITS: ContextVar[tuple[str, bool]] = ContextVar("display_units", default=("r", True))


@contextmanager
def units_of(args: Args) -> Iterator[None]:
    """Print the listings' sizes in the command line's --units (and without suffix for --nosuffix)."""
    token = _UNITS.set((args.str("units", "r"), not args.has("nosuffix")))
    try:
        yield
    finally:
        _UNITS.reset(token)


def display_size(nbytes: int) -> str:
    """display_size: `12.00 MiB`, `<15.88 TiB`; `12288.00 KiB` with --units k (the suffix is kept
    for the human-readable units even with --nosuffix)."""
    units, suffix = _UNITS.get()
    return format_size(nbytes, units, suffix, long_form=True)


def field(row: Row, name: str) -> Any:
    """A report field's raw value for a row (the text of a (text, sort value) pair)."""
    f = find_field(name, "")
    assert f is not None, name
    value = f.get(row)
    return value[0] if isinstance(value, tuple) else value


def _percent(value: int | None) -> str:
    return percent_text(value or 0) + "%"


def pv_full(console: Console, state: State, pv: PV, view: VgView | None) -> None:
    """pvdisplay_full: one PV's block."""
    row = Row(Env(state), view, pv=pv, dev=state.disks.get(pv.device))
    extent = view.vg.extent_size if view is not None else 0
    pe_count = pv.pe_count if view is not None else 0
    alloc = int(field(row, "pv_pe_alloc_count") or 0) if view is not None else 0
    device_size = int(field(row, "dev_size") or 0)
    data = pe_count * extent
    if device_size > data + pv.pe_start:
        size, unusable = device_size, device_size - data
    else:
        size, unusable = data + pv.pe_start, data + pv.pe_start - device_size
    p = console.print
    p(f"--- {'' if extent else 'NEW '}Physical volume ---")
    p(f"PV Name               {pv.device}")
    p(f"VG Name               {pv.vg if view is not None else ''}")
    if data:
        p(f"PV Size               {display_size(size)} / not usable {display_size(unusable)}")
    else:
        p(f"PV Size               {display_size(size)}")
    free = pe_count - alloc
    if pe_count and pv.allocatable:
        p(f"Allocatable           yes {'(but full)' if not free else ''}")
    else:
        p("Allocatable           NO")
    p(f"PE Size               {display_size(extent)}")
    p(f"Total PE              {pe_count}")
    p(f"Free PE               {free}")
    p(f"Allocated PE          {alloc}")
    p(f"PV UUID               {pv.uuid}")
    p(" ")


def vg_full(console: Console, state: State, view: VgView) -> None:
    """vgdisplay_full: one VG's block."""
    vg = view.vg
    row = Row(Env(state), view)
    extents, free = view.extent_count, view.free_count
    p = console.print
    p("--- Volume group ---")
    p(f"VG Name               {vg.name}")
    p("System ID             ")
    p("Format                lvm2")
    p(f"Metadata Areas        {field(row, 'vg_mda_count')}")
    p(f"Metadata Sequence No  {vg.seqno}")
    p(f"VG Access             {'read/write' if vg.writable else 'read'}")
    p(f"VG Status             {'' if vg.resizeable else 'NOT '}resizable")
    p("MAX LV                0")
    p(f"Cur LV                {field(row, 'lv_count')}")
    # lvs_in_vg_opened asks for each visible LV's own device: a thin pool's is never open
    opened = sum(
        1 for lv in vg.lvs.values() if lv.visible and lv.kind != LVKind.THIN_POOL and view.info(lv).open
    )
    p(f"Open LV               {opened}")
    p("Max PV                0")
    p(f"Cur PV                {len(vg.pvs)}")
    p(f"Act PV                {len(vg.pvs)}")
    p(f"VG Size               {display_size(extents * vg.extent_size)}")
    p(f"PE Size               {display_size(vg.extent_size)}")
    p(f"Total PE              {extents}")
    p(f"Alloc PE / Size       {extents - free} / {display_size((extents - free) * vg.extent_size)}")
    p(f"Free  PE / Size       {free} / {display_size(free * vg.extent_size)}")
    p(f"VG UUID               {vg.uuid}")
    p(" ")


def vg_short(console: Console, view: VgView) -> None:
    """vgdisplay_short (vgdisplay -s)."""
    vg, size = view.vg, view.vg.extent_size
    total = display_size(view.extent_count * size)
    used = display_size((view.extent_count - view.free_count) * size)
    console.print(f'"{vg.name}" {total:<9} [{used:<9} used / {display_size(view.free_count * size)} free]')


def lv_full(console: Console, state: State, view: VgView, lv: LV) -> None:
    """lvdisplay_full: one LV's block."""
    import time

    vg = view.vg
    row = Row(Env(state), view, lv)
    info = view.info(lv)
    p = console.print
    p("--- Logical volume ---")
    if lv.visible:
        if lv.kind != LVKind.THIN_POOL:
            p(f"LV Path                /dev/{vg.name}/{lv.name}")
        p(f"LV Name                {lv.name}")
    else:
        p(f"Internal LV Name       {lv.name}")
    p(f"VG Name                {vg.name}")
    p(f"LV UUID                {lv.uuid}")
    # a thin pool's own device is a read-only stand-in (the pool is its -tpool layer)
    pool_device = lv.kind == LVKind.THIN_POOL and info.exists
    access = "read/write" if lv.writable else "read only"
    p(f"LV Write Access        {access}{' (activated read only)' if pool_device and lv.writable else ''}")
    created = time.strftime(LVDISPLAY_TIME, time.localtime(lv.creation_time)) if lv.creation_time else ""
    p(f"LV Creation host, time {lv.creation_host}, {created}")
    origin = view.origin(lv) if lv.kind == LVKind.COW else None
    if view.is_cow_origin(lv):
        p("LV snapshot status     source of")
        for snap in view.cows[lv.name]:
            live = view.info(snap).exists and not view.info(snap).invalid
            p(f"                       {snap.name} [{'active' if live else 'INACTIVE'}]")
    elif origin is not None:
        live = info.exists and not info.invalid
        p(f"LV snapshot status     {'active' if live else 'INACTIVE'} destination for {origin.name}")
    if lv.kind == LVKind.THIN:
        p(f"LV Pool name           {lv.pool}")
        thin_origin = view.thin_origin(lv)
        if thin_origin is not None and thin_origin.kind == LVKind.THIN:
            p(f"LV Thin origin name    {thin_origin.name}")
        elif thin_origin is not None:
            p(f"LV External origin name {thin_origin.name}")
    elif lv.kind == LVKind.THIN_POOL:
        p(f"LV Pool metadata       {lv.metadata_lv}")
        p(f"LV Pool data           {lv.data_lv}")
    p(f"LV Status              {'' if info.exists else 'NOT '}available")
    if info.exists:
        p(f"# open                 {int(info.open and not pool_device)}")
    p(f"LV Size                {display_size(view.size(origin if origin is not None else lv))}")
    if lv.kind == LVKind.THIN_POOL and info.status and not info.fail:
        p(f"Allocated pool data    {_percent(info.data)}")
        p(f"Allocated metadata     {_percent(info.meta)}")
    if lv.kind == LVKind.THIN and info.exists and not info.fail:
        p(f"Mapped size            {_percent(info.data)}")
    p(f"Current LE             {view.extents(origin if origin is not None else lv)}")
    if origin is not None:
        p(f"COW-table size         {display_size(view.size(lv))}")
        p(f"COW-table LE           {view.extents(lv)}")
        if info.exists and not info.invalid:
            p(f"Allocated to snapshot  {_percent(info.data)}")
        p(f"Snapshot chunk size    {display_size(lv.chunk_size)}")
    p(f"Segments               {len(view.segments(lv))}")
    p(f"Allocation             {lv.alloc}")
    read_ahead = lv.read_ahead
    p(f"Read ahead sectors     {read_ahead if read_ahead != 'auto' else 'auto'}")
    if info.exists:
        kernel = DEVICE_READ_AHEAD if pool_device else field(row, "lv_kernel_read_ahead")
        kernel_sectors = int(kernel) // 512 if isinstance(kernel, int) else -1
        if read_ahead == "auto" or int(read_ahead) != kernel_sectors:
            p(f"- currently set to     {kernel_sectors}")
    if info.exists:
        minor = field(row, "lv_kernel_minor")
        if pool_device:  # lv_info without the layer: the pool's own device, not the -tpool reports show
            minor = devmap.dm_state(state)["minor"].get(dm_name(view.vg.name, lv.name), minor)
        p(f"Block device           {field(row, 'lv_kernel_major')}:{minor}")
    p(" ")


def lv_segments(console: Console, state: State, view: VgView, lv: LV) -> None:
    """lvdisplay_segments (lvdisplay -m)."""
    p = console.print
    p("--- Segments ---")
    for seg in view.segments(lv):
        p(
            f"{'Virtual' if lv.kind == LVKind.THIN else 'Logical'} extents {seg.le} to {seg.le + seg.length - 1}:"
        )
        p(f"  Type\t\t{seg.segtype}")
        if lv.kind == LVKind.THIN_POOL:
            p(f"  Monitoring\t\t{field(Row(Env(state), view, lv, seg), 'seg_monitor')}")
        if lv.kind == LVKind.THIN_POOL:
            p(f"  Chunk size\t\t{display_size(lv.chunk_size)}")
            p(f"  Discards\t\t{lv.discards}")
            p(f"  Thin count\t\t{len(view.thins.get(lv.name, []))}")
            p(f"  Transaction ID\t{lv.transaction_id}")
            p(f"  Zero new blocks\t{'yes' if lv.zero else 'no'}")
        elif lv.kind == LVKind.THIN:
            p(f"  Device ID\t\t{lv.thin_id}")
        else:
            for kind, name, start in seg.areas:
                if kind == "pv":
                    p(f"  Physical volume\t{name}")
                    p(f"  Physical extents\t{start} to {start + seg.length - 1}")
                else:
                    p(f"  Logical volume\t{name}")
                    p(f"  Logical extents\t{start} to {start + seg.length - 1}")
        p(" ")
    p(" ")
