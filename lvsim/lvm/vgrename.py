"""vgrename OLD NEW (OLD may be the VG's uuid): a new name for a VG, its PVs and its active devices."""

from __future__ import annotations

from lvsim.core import devmap
from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.names import NAME_LEN, find_vg, name_problem
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("vgrename"))
def vgrename(ctx: Ctx) -> int:
    state = ctx.state
    if len(ctx.args.pos) != 2:
        raise LvmError("Old and new volume group names need specifying", rc=EINVALID_CMD_LINE)
    old, new = (a.removeprefix("/dev/") for a in ctx.args.pos)
    if len(new) > NAME_LEN - len("/dev/") - 2:
        raise LvmError(f"New volume group path exceeds maximum length of {NAME_LEN - len('/dev/') - 2}!")
    problem = name_problem(new)
    if problem:
        raise LvmError(problem, f'New volume group name "{new}" is invalid.')
    if any(lv.active for vg in state.vgs.values() if vg.name == new for lv in vg.lvs.values()):
        raise LvmError(f"/dev/{new}: already exists in filesystem")  # /dev/NEW holds active LVs' nodes
    if old == new:
        raise LvmError("Old and new volume group names must differ")
    by_uuid = next((vg for vg in state.vgs.values() if vg.uuid == old), None)
    vg = by_uuid or find_vg(state, old)
    if vg.name == new:
        raise LvmError("New VG name must differ from the old VG name.")
    if new in state.vgs:
        raise LvmError(f'New VG name "{new}" already exists')
    old_name = vg.name
    state.vgs = {(new if n == old_name else n): v for n, v in state.vgs.items()}
    vg.name = new
    vg.seqno += 1
    for device in vg.pvs:
        state.pvs[device].vg = new
    # The active LVs' device-mapper devices are renamed in place: they keep their minors.
    minors = devmap.dm_state(state)["minor"]
    head = old_name.replace("-", "--") + "-"
    for key in [k for k in minors if k.startswith(head) and not k[len(head) :].startswith("-")]:
        minors[new.replace("-", "--") + "-" + key[len(head) :]] = minors.pop(key)
    ctx.console.print(f'Volume group "{old}" successfully renamed to "{new}"')
    return 0
