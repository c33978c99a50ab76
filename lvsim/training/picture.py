"""`lvsim show`: a picture of the VGs, thin pools, thin volumes and snapshots, read from `lvs`/`vgs`.

The picture is built from LVM's own reports (JSON, bytes), so it shows what `lvs` would say and works
the same on any backend. Colour marks how full things are: green, yellow from the pool's autoextend
threshold (or 80%, where dmeventd starts warning), red from 95% and for anything full or invalid.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from rich.console import Console
from rich.text import Text

from lvsim.core.units import format_size

BAR = 30
LV_FIELDS = (
    "vg_name,lv_name,lv_attr,pool_lv,origin,lv_size,data_percent,metadata_percent,snap_percent,"
    "seg_monitor,lv_when_full,chunk_size"
)
VG_FIELDS = "vg_name,vg_size,vg_free"

Report = Callable[..., list[dict[str, str]]]  # report("lv" | "vg", *args) -> rows, as Backend.report


@dataclass
class Volume:
    """One visible LV, as the reports describe it (sizes in bytes, percentages as LVM prints them)."""

    name: str
    attr: str
    size: int
    pool: str = ""
    origin: str = ""
    data: str = ""
    meta: str = ""
    snap: str = ""
    monitor: str = ""
    when_full: str = ""
    chunk: int = 0

    @property
    def kind(self) -> str:
        """thin-pool, thin, thin-snapshot, cow (a classic snapshot), or plain."""
        letter = self.attr[:1]
        if letter == "t":
            return "thin-pool"
        if letter == "V":
            return "thin-snapshot" if self.origin else "thin"
        if letter in "sS":
            return "cow"
        return "plain"

    @property
    def active(self) -> bool:
        return self.attr[4:5] == "a"


@dataclass
class Group:
    """One VG and its visible LVs in report order."""

    name: str
    size: int
    free: int
    volumes: list[Volume] = field(default_factory=list)

    def children(self, pool: str) -> list[Volume]:
        return [v for v in self.volumes if v.pool == pool and v.kind in ("thin", "thin-snapshot")]

    def cow_snapshots(self, origin: str) -> list[Volume]:
        return [v for v in self.volumes if v.kind == "cow" and v.origin == origin]


def collect(report: Report) -> list[Group]:
    """The VGs and their visible LVs, from `vgs` and `lvs` reports."""
    units = ("--units", "b", "--nosuffix")
    groups = {
        r["vg_name"]: Group(r["vg_name"], int(r["vg_size"]), int(r["vg_free"]))
        for r in report("vg", "-o", VG_FIELDS, *units)
    }
    for r in report("lv", "-o", LV_FIELDS, *units):
        group = groups.get(r["vg_name"])
        if group is None:
            continue
        group.volumes.append(
            Volume(
                r["lv_name"],
                r["lv_attr"],
                int(r["lv_size"] or 0),
                r["pool_lv"],
                r["origin"],
                r["data_percent"],
                r["metadata_percent"],
                r["snap_percent"],
                r["seg_monitor"],
                r["lv_when_full"],
                int(r["chunk_size"] or 0),
            )
        )
    return list(groups.values())


def _size(nbytes: int) -> str:
    return format_size(nbytes, long_form=True).strip()


def _pct(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        return 0.0


def _style(percent: float, warn_at: float, bad: bool = False) -> str:
    if bad or percent >= 95:
        return "bold red"
    if percent >= warn_at:
        return "yellow"
    return "green"


def _bar(percent: float, style: str, width: int = BAR) -> Text:
    filled = min(width, round(width * percent / 100))
    bar = Text("▕")
    bar.append("█" * filled, style=style)
    bar.append("░" * (width - filled), style="dim")
    bar.append("▏")
    return bar


@dataclass(frozen=True)
class Policy:
    """What the picture says about autoextend: the thresholds and percents in force (100 = off)."""

    thin_threshold: int = 100
    thin_percent: int = 20
    snapshot_threshold: int = 100
    snapshot_percent: int = 20

    def warn_at(self, threshold: int) -> float:
        return float(threshold) if threshold < 100 else 80.0


def _pool_lines(group: Group, pool: Volume, policy: Policy) -> list[Text]:
    data, meta = _pct(pool.data), _pct(pool.meta)
    full = pool.attr[8:9] == "D" or data >= 100
    warn = policy.warn_at(policy.thin_threshold)
    head = Text("  thin pool ", style="bold")
    head.append(pool.name, style="bold cyan")
    head.append(f"  {_size(pool.size)}")
    notes = []
    if pool.monitor:
        notes.append(pool.monitor)
    if pool.monitor == "monitored" and policy.thin_threshold < 100:
        notes.append(f"autoextend at {policy.thin_threshold}% by {policy.thin_percent}%")
    elif pool.attr[:1] == "t":
        notes.append("no autoextend")
    if pool.when_full:
        notes.append(f"{pool.when_full} when full")
    if full:
        notes.append("OUT OF DATA SPACE")
    head.append("  (" + ", ".join(notes) + ")", style="red" if full else "dim")
    lines = [head]
    if not pool.active:
        lines.append(Text("    inactive", style="dim"))
        return lines
    for label, percent, bad in (("data", data, full), ("meta", meta, meta >= 100)):
        line = Text(f"    {label} ")
        line.append_text(_bar(percent, _style(percent, warn, bad)))
        line.append(f" {percent:6.2f}%", style=_style(percent, warn, bad))
        if label == "data":
            chunk = pool.chunk or 1
            used = round(pool.size * percent / 100 / chunk) * chunk  # Data% counts whole chunks
            line.append(f"  used {_size(used)}, free {_size(pool.size - used)}")
        lines.append(line)
    thins = group.children(pool.name)
    promised = sum(t.size for t in thins)
    if thins and pool.size:
        ratio = 100 * promised / pool.size
        line = Text(
            f"    promised {_size(promised)} to {len(thins)} thin volume(s): {ratio:.0f}% of the pool"
        )
        if promised > pool.size:
            line.append(f", over-committed by {_size(promised - pool.size)}", style="bold yellow")
        lines.append(line)
    for thin in thins:
        lines.append(_thin_line(thin))
        lines.extend(_cow_line(s, policy) for s in group.cow_snapshots(thin.name))
    return lines


def _thin_line(thin: Volume) -> Text:
    what = f"thin snapshot of {thin.origin}" if thin.kind == "thin-snapshot" else "thin"
    line = Text(f"      {thin.name:<14}", style="cyan")
    line.append(f" {_size(thin.size):>12}  ")
    if thin.active and thin.data:
        percent = _pct(thin.data)
        line.append_text(_bar(percent, "blue", 20))
        line.append(f" {percent:6.2f}% mapped  ")
    else:
        line.append("inactive" + " " * 22, style="dim")
    line.append(what, style="dim")
    return line


def _cow_line(snap: Volume, policy: Policy) -> Text:
    percent = _pct(snap.snap)
    invalid = snap.attr[:1] == "S" or snap.attr[4:5] == "I"
    line = Text(f"      {snap.name:<14}", style="magenta")
    line.append(f" {_size(snap.size):>12}  ")
    if invalid:
        line.append("INVALID: the snapshot overflowed and is lost", style="bold red")
        return line
    style = _style(percent, policy.warn_at(policy.snapshot_threshold))
    line.append_text(_bar(percent, style, 20))
    line.append(f" {percent:6.2f}% full  ", style=style)
    line.append("COW snapshot", style="dim")
    if snap.monitor == "monitored" and policy.snapshot_threshold < 100:
        line.append(
            f", autoextend at {policy.snapshot_threshold}% by {policy.snapshot_percent}%", style="dim"
        )
    return line


def render(groups: list[Group], policy: Policy | None = None) -> list[Text]:
    """The picture, as lines of rich Text."""
    policy = policy or Policy()
    if not groups:
        return [Text("No volume groups. Start with pvcreate and vgcreate (or `lvsim lesson list`).")]
    lines: list[Text] = []
    for group in groups:
        used = group.size - group.free
        percent = 100 * used / group.size if group.size else 0.0
        head = Text("VG ", style="bold")
        head.append(group.name, style="bold cyan")
        head.append(f"  {_size(group.size)}, {_size(group.free)} free  ")
        head.append_text(_bar(percent, "blue", 20))
        head.append(f" {percent:.0f}% allocated")
        lines.append(head)
        for lv in group.volumes:
            if lv.kind == "thin-pool":
                lines.extend(_pool_lines(group, lv, policy))
            elif lv.kind == "plain":
                line = Text("  volume ", style="bold")
                line.append(lv.name, style="bold cyan")
                line.append(f"  {_size(lv.size)}" + ("" if lv.active else "  (inactive)"))
                lines.append(line)
                lines.extend(_cow_line(s, policy) for s in group.cow_snapshots(lv.name))
        lines.append(Text(""))
    return lines


def show(report: Report, console: Console, policy: Policy | None = None) -> None:
    """Print the picture of what the reports say."""
    for line in render(collect(report), policy):
        console.print(line, overflow="ellipsis", no_wrap=True)
