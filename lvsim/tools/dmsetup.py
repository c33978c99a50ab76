"""dmsetup ls, info (-c) and remove, on the simulated device-mapper table (device-mapper 1.02.185)."""

from __future__ import annotations

from lvsim.core import devmap
from lvsim.core.context import Ctx, RawSpec, command
from lvsim.core.devmap import DM_MAJOR
from lvsim.core.errors import LvmError
from lvsim.core.model import State
from lvsim.tools.toolkit import c_argv, fail


def _busy(name: str, reason: str) -> LvmError:
    return fail(f"device-mapper: remove ioctl on {name}  failed: {reason}\nCommand failed.", 1)


def remove_device(state: State, name: str) -> None:
    """dmsetup remove: drop a kpartx map or an LVM device (which LVM's metadata still lists)."""
    dm = devmap.dm_state(state)
    present = {d.name: d for d in devmap.devices(state)}
    if name not in present:
        raise _busy(name, "No such device or address")
    if devmap.open_count(state, name):
        raise _busy(name, "Device or resource busy")
    part = dm["parts"].pop(name, None)
    if part is not None:
        parent = devmap.resolve(state, part["parent"])
        lv = devmap.lv_of(state, parent) if parent else None
        if lv is not None and parent is not None and parent.lv:
            lv.open_count = max(0, lv.open_count - 1)
    else:
        dm["removed"].append(name)
    dm["minor"].pop(name, None)


def _info(state: State, dev: devmap.DmDev) -> str:
    minor = devmap.dm_state(state)["minor"].get(dev.name, 0)
    ro = " (READ-ONLY)" if dev.lv and not state.vgs[dev.lv[0]].lvs[dev.lv[1]].writable else ""
    return (
        f"Name:              {dev.name}\n"
        f"State:             ACTIVE{ro}\n"
        "Read Ahead:        256\n"
        "Tables present:    LIVE\n"
        f"Open count:        {devmap.open_count(state, dev.name)}\n"
        "Event number:      0\n"
        f"Major, minor:      {DM_MAJOR}, {minor}\n"
        f"Number of targets: {dev.targets}\n"
        f"UUID: {dev.uuid}\n\n"
    )


COLUMNS = {  # dmsetup info -c fields: heading, and whether the value is numeric (right-aligned)
    "name": ("Name", False),
    "major": ("Maj", True),
    "minor": ("Min", True),
    "attr": ("Stat", False),
    "open": ("Open", True),
    "segments": ("Targ", True),
    "events": ("Event", True),
    "uuid": ("UUID", False),
}


DMSETUP_VALUED = {
    "-o",
    "--options",
    "--sort",
    "-O",
    "--separator",
    "-j",
    "--major",
    "-m",
    "--minor",
    "-u",
    "--uuid",
}


def _parse_dmsetup(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    """dmsetup's switches (long ones also as --name=value) and its command words."""
    opts: dict[str, str] = {}
    words: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        i += 1
        if not arg.startswith("-") or arg == "-":
            words.append(arg)
            continue
        key, eq, value = arg.partition("=")
        if key in DMSETUP_VALUED and not eq:
            value = argv[i] if i < len(argv) else ""
            i += 1
        opts[{"-o": "--options", "-O": "--sort", "-C": "-c", "--columns": "-c"}.get(key, key)] = value
    return opts, words


def _columns(state: State, devs: list[devmap.DmDev], opts: dict[str, str]) -> str:
    """dmsetup info -c: a libdm report of the chosen fields."""
    fields = [
        f.strip() for f in opts.get("--options", "name,major,minor,attr,open,segments,events,uuid").split(",")
    ]
    unknown = [f for f in fields if f not in COLUMNS]
    if unknown:
        raise fail(f"Unrecognised field: {unknown[0]}\nCommand failed.", 1)
    minors = devmap.dm_state(state)["minor"]
    values = {
        "name": lambda d: d.name,
        "major": lambda d: str(DM_MAJOR),
        "minor": lambda d: str(minors.get(d.name, 0)),
        "attr": lambda d: "L--w",
        "open": lambda d: str(devmap.open_count(state, d.name)),
        "segments": lambda d: str(d.targets),
        "events": lambda d: "0",
        "uuid": lambda d: d.uuid,
    }
    sort = opts.get("--sort", "")
    if sort:
        key = sort.lstrip("+-")
        devs = sorted(
            devs, key=lambda d: values[key](d) if key in values else "", reverse=sort.startswith("-")
        )
    rows = [[values[f](d) for f in fields] for d in devs]
    heads = [] if "--noheadings" in opts else [[COLUMNS[f][0] for f in fields]]
    sep = opts.get("--separator")
    if sep is not None:
        return "".join(sep.join(row) + "\n" for row in heads + rows)
    widths = [max(len(r[c]) for r in heads + rows) for c in range(len(fields))]
    lines = []
    for row in heads + rows:
        cells = []
        for c, f in enumerate(fields):
            last = c == len(fields) - 1
            cells.append(
                row[c].rjust(widths[c]) if COLUMNS[f][1] else row[c] if last else row[c].ljust(widths[c])
            )
        lines.append(" ".join(cells))
    return "".join(line + "\n" for line in lines)


@command(RawSpec("dmsetup"))
def dmsetup(ctx: Ctx) -> int:
    state, out = ctx.state, ctx.console.raw_out
    opts, args = _parse_dmsetup(c_argv(ctx))
    if not args:
        raise fail(
            "dmsetup: Please specify a command.\nUsage:\n\ndmsetup\n"
            "        [--version] [-h|--help [-c|-C|--columns]]",
            1,
        )
    cmd, names = args[0], args[1:]
    devmap.refresh(state)
    present = {d.name: d for d in devmap.devices(state)}
    if cmd == "ls":
        if not present:
            out("No devices found\n")
        for name in sorted(present):
            out(f"{name}\t({DM_MAJOR}:{devmap.dm_state(state)['minor'][name]})\n")
        return 0
    if cmd == "info":
        missing = next((n for n in names if n not in present), None)
        if missing is not None:
            raise fail("Device does not exist.\nCommand failed.", 1)
        devs = [present[n] for n in names or sorted(present)]
        if "-c" in opts:
            out(_columns(state, devs, opts) if devs else "No devices found\n")
        else:
            out("".join(_info(state, d) for d in devs) if devs or names else "No devices found\n")
        return 0
    if cmd == "remove":
        if not names:
            raise fail("Please specify device.\nCommand failed.", 1)
        for name in names:
            remove_device(state, name)
        return 0
    raise fail(f'dmsetup: Unknown command "{cmd}"\nCommand failed.', 1)
