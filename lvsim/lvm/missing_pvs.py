"""A VG with missing PVs: `pvremove -ff` wiped the label of a PV no active LV held open, and the VG,
whose metadata still lists it, goes on without it (recorded on LVM 2.03.16: golden cases
boundary-missing-pv-wiped, -thin and -activation).

The PV stays in the VG under its uuid (`lvsim.core.model.missing_key`), shown as [unknown]; every
command that reads the VG warns about it; LVs with extents on it are partial. What LVM was seen to do
with such a VG is emulated here; any other command line is refused (`check_command`).
"""

from __future__ import annotations

from lvsim.core.console import Console
from lvsim.core.context import Ctx
from lvsim.core.errors import LvmError
from lvsim.core.model import LV, UNKNOWN_DEVICE, VG, State, missing_key
from lvsim.core.names import find_vg
from lvsim.core.partial import missing_pvs
from lvsim.lvm.refusal import refuse

# Options that change nothing LVM does with a VG (what it prints aside)
QUIET_OPTIONS = frozenset({"yes", "force", "verbose", "quiet", "debug", "config", "autobackup"})


def vgs_missing_pvs(state: State) -> list[VG]:
    return [vg for vg in state.vgs.values() if missing_pvs(state, vg)]


def lose_pv(state: State, vg: VG, device: str) -> None:
    """The label on `device`, a PV of `vg`, is gone: the VG keeps the PV as missing, last written to
    `device`, and the device is a plain disk again."""
    pv = state.pvs.pop(device)
    key = missing_key(pv.uuid)
    pv.size = pv.size or state.disks[device].size
    pv.device, pv.missing_hint = key, device
    state.pvs[key] = pv
    vg.pvs[vg.pvs.index(device)] = key
    for lv in vg.lvs.values():
        for seg in lv.segments:
            if seg.pv == device:
                seg.pv = key


def warn_missing(console: Console, state: State, vg: VG) -> None:
    """What a command says as it reads the VG."""
    missing = missing_pvs(state, vg)
    for pv in missing:
        console.warn(f"Couldn't find device with uuid {pv.uuid}.")
    for pv in missing:
        console.warn(f"VG {vg.name} is missing PV {pv.uuid} (last written to {pv.missing_hint}).")


def warn_again(console: Console, state: State, vg: VG) -> None:
    """What a command says as it reads the VG again to change it, and after each write of it."""
    for pv in missing_pvs(state, vg):
        console.warn(f"Couldn't find device with uuid {pv.uuid}.")


def written(ctx: Ctx, vg: VG) -> None:
    """The VG's metadata was written: with PVs still missing LVM warns of them again, and the metadata
    names their devices [unknown] from now on."""
    missing = missing_pvs(ctx.state, vg)
    for pv in missing:
        pv.missing_hint = UNKNOWN_DEVICE
    warn_again(ctx.console, ctx.state, vg)


def refuse_change(vg: VG) -> LvmError:
    """LVM's answer to a command that would change a VG with missing PVs."""
    return LvmError(
        f"Cannot change VG {vg.name} while PVs are missing.",
        "See vgreduce --removemissing and vgextend --restoremissing.",
        f"Cannot process volume group {vg.name}",
    )


def refuse_activation(vg: VG, lv: LV) -> str:
    return (
        f"Refusing activation of partial LV {vg.name}/{lv.name}.  Use '--activationmode partial' to override."
    )


def only_options(ctx: Ctx, vg: VG, recorded: tuple[str, ...]) -> None:
    """Refuse a command line on a VG with missing PVs that gives options beyond those recorded."""
    for option in ctx.args.given:
        if option not in recorded and option not in QUIET_OPTIONS:
            refuse(f"{ctx.command} --{option} on VG {vg.name} with missing PVs")


def read_vg(ctx: Ctx, name: str) -> VG:
    """find_vg for a command that only reads the VG (or activates its LVs): it warns of missing PVs."""
    vg = find_vg(ctx.state, name)
    if missing_pvs(ctx.state, vg):
        warn_missing(ctx.console, ctx.state, vg)
    return vg


def update_vg(ctx: Ctx, name: str) -> VG:
    """find_vg for a command LVM lets change a VG with missing PVs (lvremove, vgextend, vgremove,
    vgreduce --removemissing): it reads the VG again to change it, and warns each time."""
    vg = read_vg(ctx, name)
    warn_again(ctx.console, ctx.state, vg)
    return vg


def read_vg_to_change(ctx: Ctx, name: str) -> VG:
    """find_vg for a command LVM refuses on a VG with missing PVs (lvcreate, lvextend, lvrename)."""
    vg = read_vg(ctx, name)
    if missing_pvs(ctx.state, vg):
        raise refuse_change(vg)
    return vg


# The commands seen on LVM 2.03.16 while a VG had missing PVs (each handles such a VG itself, or does
# not read VGs at all); any other LVM command is refused while one has.
HANDLED = frozenset(
    {
        "lvs", "vgs", "pvs", "lvcreate", "lvextend", "lvreduce", "lvresize", "lvrename", "lvremove",
        "lvchange", "vgchange", "vgextend", "vgreduce", "vgremove", "pvremove", "vgcfgbackup",
        "help", "lvmconfig", "config", "dumpconfig",
    }
)  # fmt: skip


def check_command(ctx: Ctx) -> None:
    """Refuse, while a VG has missing PVs, the LVM commands lvsim has not seen LVM run then."""
    vgs = vgs_missing_pvs(ctx.state)
    if not vgs:
        return
    names = ", ".join(vg.name for vg in vgs)
    selects = ctx.args.has("select") or any(a.startswith("@") for a in ctx.args.pos)
    if ctx.command not in HANDLED or (selects and ctx.command not in ("lvs", "vgs", "pvs")):
        refuse(f"{ctx.command} while VG {names} has missing PVs")


# The report fields recorded of a VG with missing PVs (the reports' default columns among them)
REPORT_FIELDS = frozenset(
    {
        "pv_name", "vg_name", "pv_fmt", "pv_attr", "pv_size", "pv_free", "pv_missing", "pv_used",
        "pv_pe_count", "pv_pe_alloc_count", "dev_size", "vg_attr", "pv_count", "lv_count", "snap_count",
        "vg_size", "vg_free", "vg_missing_pv_count", "lv_name", "lv_attr", "lv_size", "devices",
        "lv_health_status", "lv_active", "pool_lv", "origin", "data_percent", "metadata_percent", "move_pv",
        "mirror_log", "copy_percent", "convert_lv", "selected",
    }
)  # fmt: skip


def check_report_fields(command: str, fields: list[str]) -> None:
    for name in fields:
        if name not in REPORT_FIELDS:
            refuse(f"{command} field {name} of a VG with missing PVs")
