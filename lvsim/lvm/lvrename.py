"""lvrename."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.core.errors import EINVALID_CMD_LINE, LvmError
from lvsim.core.lifecycle import rename_lv
from lvsim.core.names import check_new_lv_name, name_problem, split_lv_arg
from lvsim.lvm.common import run_help
from lvsim.lvm.missing_pvs import read_vg_to_change
from lvsim.lvm.parser import LvmSpec


@command(LvmSpec("lvrename"))
def lvrename(ctx: Ctx) -> int:
    pos = ctx.args.pos

    def usage_error(*lines: str) -> LvmError:
        return LvmError(*lines, run_help("lvrename"), rc=EINVALID_CMD_LINE)

    if len(pos) == 3:
        vg_name, old, new = pos
    else:  # the definition with two positionals
        vg_name, old = split_lv_arg(pos[0])
        if not vg_name:
            raise usage_error(
                f'Path required for Logical Volume "{old}".', "Please provide a valid volume group name"
            )
        new_vg, new = split_lv_arg(pos[1])
        if new_vg and new_vg != vg_name:
            raise usage_error(
                f'Logical volume names must have the same volume group ("{vg_name}" or "{new_vg}")'
            )
    if old == new:
        raise usage_error("Old and new logical volume names must differ")
    if name_problem(new):
        raise usage_error(f'New logical volume name "{new}" is invalid')
    check_new_lv_name(vg_name, new, "lvrename")
    vg = read_vg_to_change(ctx, vg_name)
    lv = vg.lvs.get(old)
    if lv is None:
        raise LvmError(f'Existing logical volume "{old}" not found in volume group "{vg_name}"')
    if not lv.visible:  # a pool's _tdata/_tmeta, the spare
        raise LvmError(f'Cannot rename internal LV "{old}".')
    if new in vg.lvs:
        raise LvmError(f'Logical Volume "{new}" already exists in volume group "{vg_name}"')
    rename_lv(vg, lv, new)
    vg.seqno += 1
    ctx.console.print(f'Renamed "{old}" to "{new}" in volume group "{vg_name}"')
    return 0
