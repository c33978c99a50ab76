"""dmeventd as LVM 2.03.16 uses it for thin pools and COW snapshots, on the simulated clock.

What real LVM does, and lvsim with it (lvm2's daemons/dmeventd/plugins/{thin,snapshot}):

* An LVM command that activates a thin pool or a COW snapshot while `activation/monitoring` is 1
  registers it with dmeventd, starting the daemon if it is not running; the daemon keeps the
  environment (so the LVM_SYSTEM_DIR) of the command that started it and reads that lvm.conf when it
  acts. Deactivation or removal unregisters; `lvchange/vgchange --monitor y|n` do it by hand.
* Each registered device is looked at every 10 s (dmeventd's timeout for them). A thin pool is also
  looked at at once when the kernel signals it: when its free data blocks fall to the low-water mark
  (set when the pool's table was loaded, from that command's autoextend threshold) and when it runs
  out of data space.
* Thin pool: above 80% data or metadata use "WARNING: Thin pool ... is now N% full." (again each time
  it rose by 5%); above 50% and each further 5% it runs `lvextend --use-policies` (which extends only
  past activation/thin_pool_autoextend_threshold); a failing command is retried less and less often.
* COW snapshot: from 50% full and each further 5% it runs `lvextend --use-policies`, warning from 80%;
  an invalid (overflowed) snapshot is reported once and no longer looked at.

The simulated clock (`state.clock`) only moves when told (`lvsim clock advance`, the pytest
plugin's `lvm.clock`) or when a write waits on a full pool; `catch_up` runs the looks that fell due
since, in time order. What dmeventd logs goes to a journal in the state (`lvsim log` shows it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from lvsim.core import config as lvmconfig
from lvsim.core import datapath, mapping, usage
from lvsim.core.console import Console
from lvsim.core.context import Args, Ctx
from lvsim.core.errors import LvmError
from lvsim.core.model import LV, VG, LVKind, State
from lvsim.core.names import dm_name
from lvsim.core.units import percent_text, percent_value

POLL_INTERVAL = 10.0  # seconds: LVM registers thin pools and snapshots with this dmeventd timeout
PERCENT_1 = 1_000_000  # dm_percent_t units
WARNING_THRESH = 80 * PERCENT_1
CHECK_STEP = 5 * PERCENT_1
CHECK_MINIMUM = 50 * PERCENT_1
FULL = 100 * PERCENT_1
MAX_FAILS = 256
JOURNAL_MAX = 2000  # entries kept


def daemon(state: State) -> dict[str, Any]:
    """dmeventd's record in the state, created (not running) on first use."""
    if state.dmeventd is None:
        state.dmeventd = {"running": False, "system_dir": None, "devices": {}, "journal": [], "seq": 0}
    return state.dmeventd


def log(state: State, message: str) -> None:
    """A line in the journal, at the simulated time."""
    d = daemon(state)
    d["journal"].append({"t": state.clock, "msg": message})
    del d["journal"][:-JOURNAL_MAX]


def journal(state: State) -> list[dict[str, Any]]:
    return list(daemon(state)["journal"])


# ---------------------------------------------------------------------------------------------
# What is monitored


def _key(vg: VG, lv: LV) -> str:
    return f"{vg.name}/{lv.name}"


def _device(vg: VG, lv: LV) -> str:
    """The dm device dmeventd watches: a snapshot's own device; a pool's own while it has no thin
    volume, then its -tpool layer (recorded: "No longer monitoring thin pool vg-pool." as the first
    thin volume is made, then "Monitoring thin pool vg-pool-tpool.")."""
    if lv.kind == LVKind.THIN_POOL and any(
        t.kind == LVKind.THIN and t.pool == lv.name for t in vg.lvs.values()
    ):
        return dm_name(vg.name, lv.name, "tpool")
    return dm_name(vg.name, lv.name)


def monitorable(vg: VG, lv: LV) -> bool:
    """A thin pool whose -tpool layer is up (the pool or one of its thin volumes is active), or an
    active COW snapshot (one as large as its origin too: recorded "monitored")."""
    if lv.kind == LVKind.THIN_POOL:
        return lv.active or any(
            t.active and t.pool == lv.name for t in vg.lvs.values() if t.kind == LVKind.THIN
        )
    return lv.kind == LVKind.COW and lv.active and not lv.merging


def status(state: State, vg: VG, lv: LV, monitoring: int = 1) -> str:
    """seg_monitor: "monitored", "not monitored", or "" (inactive, not monitorable, monitoring off)."""
    if monitoring != 1 or not monitorable(vg, lv):
        return ""
    entry = daemon(state)["devices"].get(_key(vg, lv))
    return "monitored" if entry and entry["monitored"] and daemon(state)["running"] else "not monitored"


def _register(state: State, vg: VG, lv: LV, env: Mapping[str, str]) -> None:
    d = daemon(state)
    if not d["running"]:
        d["running"] = True
        d["system_dir"] = env.get(lvmconfig.SYSTEM_DIR_VAR) or None
        log(state, "dmeventd ready for processing.")
    entry = d["devices"].get(_key(vg, lv))
    if entry is None:
        entry = d["devices"][_key(vg, lv)] = {"uuid": lv.uuid, "kind": lv.kind}
    entry.update(
        monitored=True,
        next=state.clock + POLL_INTERVAL,
        check=CHECK_MINIMUM,
        meta_check=CHECK_MINIMUM,
        known=None,
        known_meta=None,
        fails=0,
        max_fails=1,
    )
    entry["device"] = _device(vg, lv)
    what = "thin pool" if lv.kind == LVKind.THIN_POOL else "snapshot"
    log(state, f"Monitoring {what} {entry['device']}.")


def _unregister(state: State, entry: dict[str, Any]) -> None:
    if entry.get("monitored"):
        what = "thin pool" if entry["kind"] == LVKind.THIN_POOL else "snapshot"
        log(state, f"No longer monitoring {what} {entry['device']}.")
    entry["monitored"] = False


def change_monitoring(ctx: Ctx, vg: VG, lv: LV, on: bool) -> None:
    """lvchange --monitor y|n: silent; an inactive LV is an error, one with nothing to watch is left be."""
    active = monitorable(vg, lv) if lv.kind == LVKind.THIN_POOL else lv.active
    if not active:
        raise LvmError(f"Logical volume {vg.name}/{lv.name} is not active.")
    for target in _watched_through(vg, lv):
        set_monitoring(ctx, vg, target, on)


def _watched_through(vg: VG, lv: LV) -> list[LV]:
    """What lvchange --monitor of an LV (un)registers (recorded in the VM): a thin volume's pool, an
    origin's COW snapshots, else the LV itself."""
    if lv.kind == LVKind.THIN and lv.pool in vg.lvs:
        return [vg.lvs[lv.pool]]
    snapshots = mapping.cow_snapshots_of(vg, lv)
    return [lv, *snapshots] if snapshots else [lv]


def _in_kernel(vg: VG, lv: LV) -> bool:
    """The LV's device is up: a pool's -tpool layer, a pool's _tdata and _tmeta with it (they stay
    marked active while their pool is down), any other LV when active."""
    if lv.kind == LVKind.THIN_POOL:
        return monitorable(vg, lv)
    if lv.role in ("tdata", "tmeta") and lv.parent in vg.lvs:
        return mapping.tpool_active(vg, vg.lvs[lv.parent])
    return lv.active


def vg_monitoring(ctx: Ctx, vg: VG, on: bool) -> None:
    """vgchange --monitor y|n: every active LV of the VG (hidden ones too) is counted, the pools and
    snapshots among them (un)registered (recorded: "7 logical volume(s) in volume group "vg" unmonitored")."""
    active = [lv for lv in vg.lvs.values() if _in_kernel(vg, lv)]
    if not active:
        return
    for lv in active:
        set_monitoring(ctx, vg, lv, on)
    ctx.console.print(
        f'{len(active)} logical volume(s) in volume group "{vg.name}" {"" if on else "un"}monitored'
    )


def set_monitoring(ctx: Ctx, vg: VG, lv: LV, on: bool) -> None:
    """Start or stop dmeventd's monitoring of one LV (a pool or snapshot; nothing for others)."""
    if not monitorable(vg, lv):
        return
    entry = daemon(ctx.state)["devices"].get(_key(vg, lv))
    if on and not (entry and entry["monitored"]):
        _register(ctx.state, vg, lv, ctx.env)
    elif not on and entry:
        _unregister(ctx.state, entry)


def after_command(ctx: Ctx) -> None:
    """Bring the registrations up to date after an LVM command: what it activated is registered (when
    its activation/monitoring is 1 and it was not given --monitor n), what it deactivated or removed is
    unregistered; a pool whose table it loaded gets a low-water mark from its autoextend threshold."""
    state = ctx.state
    d = daemon(state)
    seen: set[str] = set()
    monitoring = _monitoring(ctx)
    for vg in state.vgs.values():
        for lv in vg.lvs.values():
            if not monitorable(vg, lv):
                continue
            key = _key(vg, lv)
            seen.add(key)
            entry = d["devices"].get(key)
            if entry is not None and entry.get("uuid") != lv.uuid:
                entry = None  # another LV of that name
            if entry is None:
                if monitoring:
                    _register(state, vg, lv, ctx.env)
                else:
                    d["devices"][key] = {
                        "uuid": lv.uuid,
                        "kind": lv.kind,
                        "monitored": False,
                        "device": _device(vg, lv),
                    }
            elif lv.kind == LVKind.THIN_POOL and entry.get("device") != _device(vg, lv):
                _unregister(state, entry)  # the pool's table moved to its -tpool layer: a new device,
                if monitoring:  # registered as the command that made it says (recorded in the VM)
                    _register(state, vg, lv, ctx.env)
                else:
                    entry["device"] = _device(vg, lv)
            if lv.kind == LVKind.THIN_POOL:
                _table_loaded(ctx, vg, lv)
    for key in [k for k in d["devices"] if k not in seen]:
        _unregister(state, d["devices"].pop(key))


def _monitoring(ctx: Ctx) -> bool:
    if ctx.args.has("monitor") and not ctx.args.get("monitor"):
        return False
    if ctx.args.has("ignoremonitoring"):
        return False
    return ctx.config.int("activation/monitoring") == 1


def _table_loaded(ctx: Ctx, vg: VG, pool: LV) -> None:
    """A pool's table is (re)loaded when it is activated or resized: the low-water mark comes from
    the autoextend threshold of the command that loads it (thin.c: free blocks below 100-threshold%)."""
    ps = mapping.pool_state(pool)
    total = mapping.pool_total_blocks(vg, pool)
    if ps.get("lwm_size") == total:
        return
    threshold = max(50, ctx.config.int("activation/thin_pool_autoextend_threshold"))
    ps["lwm_size"] = total
    ps["lwm"] = total * (100 - threshold) // 100 if threshold < 100 else 0
    ps["lwm_hit"] = False


# ---------------------------------------------------------------------------------------------
# Acting


class _Log(Console):
    """What an LVM command run inside dmeventd says, in the order it says it (one stream: its log)."""

    def __init__(self) -> None:
        super().__init__()
        self._err = self._out


def _lvm_ctx(state: State, vg: VG, lv: LV) -> Ctx:
    """The context of `lvextend --use-policies VG/LV` run inside dmeventd (its own LVM_SYSTEM_DIR)."""
    system_dir = daemon(state)["system_dir"]
    env = {lvmconfig.SYSTEM_DIR_VAR: system_dir} if system_dir else {}
    args = Args({"usepolicies": [None]}, [f"{vg.name}/{lv.name}"], ["usepolicies"])
    return Ctx(state, _Log(), args, "lvextend", env)


def _run_policy(state: State, vg: VG, lv: LV) -> bool:
    """lvextend --use-policies VG/LV as dmeventd runs it; its messages go to the journal."""
    from lvsim.lvm.lvresize import use_policies
    from lvsim.lvm.missing_pvs import read_vg_to_change

    ctx = _lvm_ctx(state, vg, lv)
    try:
        read_vg_to_change(ctx, vg.name)  # a VG with missing PVs: LVM's lvextend refuses to change it
        rc = use_policies(ctx, vg, lv)
        if lv.kind == LVKind.THIN_POOL:
            _table_loaded(ctx, vg, lv)  # a resize reloads the pool's table
    except lvmconfig.ConfigError as exc:
        for line in exc.lines:
            log(state, line)
        rc = 5
    except LvmError as exc:
        for line in exc.lines:
            ctx.console.error(line)
        rc = exc.rc
    for line in ctx.console.stdout.splitlines():
        log(state, line.strip())
    return rc == 0


def _thin_look(state: State, vg: VG, pool: LV, entry: dict[str, Any]) -> None:
    """The thin plugin's process_event."""
    device = _device(vg, pool)
    used, total = usage.pool_data_usage(state, vg, pool)
    meta_used, meta_total = usage.pool_metadata_usage(state, vg, pool)
    if entry["known_meta"] != meta_total:
        entry.update(meta_check=CHECK_MINIMUM, known_meta=meta_total, fails=0)
    if entry["known"] != total:
        entry.update(check=CHECK_MINIMUM, known=total, fails=0)
    needs = False
    for what, pct, check in (
        ("metadata", percent_value(meta_used, meta_total), "meta_check"),
        ("data", percent_value(used, total), "check"),
    ):
        if pct > WARNING_THRESH and pct > entry[check]:
            log(state, f"WARNING: Thin pool {device} {what} is now {percent_text(pct)}% full.")
        if pct > CHECK_MINIMUM:
            needs = needs or pct > entry[check]
            entry[check] = (pct // CHECK_STEP + 1) * CHECK_STEP
            if entry[check] == FULL:
                entry[check] -= 1
        else:
            entry[check] = CHECK_MINIMUM
    if entry["fails"]:
        entry["fails"] += 1
        if entry["fails"] - 1 <= entry["max_fails"]:
            return  # postponing a frequently failing policy
        entry["max_fails"] = min(entry["max_fails"] * 2, MAX_FAILS)
        entry["fails"] = 1
        needs = True
    else:
        entry["max_fails"] = 1
    if needs:
        if _run_policy(state, vg, pool):
            entry["fails"] = 0
        else:
            log(state, f"Failed command for {device}.")
            entry["fails"] = 1


def _snapshot_look(state: State, vg: VG, snap: LV, entry: dict[str, Any]) -> None:
    """The snapshot plugin's process_event."""
    device = _device(vg, snap)
    if not entry["check"]:
        return
    used, total, invalid = usage.cow_usage(state, vg, snap)
    if invalid:
        log(state, f"WARNING: Snapshot {device} changed state to: Invalid and should be removed.")
        entry["check"] = 0
        _unregister(state, entry)  # the plugin stops its thread: the VM logged it at once
        return
    if entry["known"] != total:
        entry.update(check=CHECK_MINIMUM, known=total)
    pct = percent_value(used, total)
    if pct >= entry["check"]:
        entry["check"] = (pct // CHECK_STEP) * CHECK_STEP + CHECK_STEP
        if pct >= WARNING_THRESH:
            log(state, f"WARNING: Snapshot {device} is now {percent_text(pct)}% full.")
        if not _run_policy(state, vg, snap):
            log(state, f"Failed to extend snapshot {device}.")


def _look(state: State, key: str) -> None:
    entry = daemon(state)["devices"].get(key)
    vg_name, _, lv_name = key.partition("/")
    vg = state.vgs.get(vg_name)
    lv = vg.lvs.get(lv_name) if vg else None
    if entry is None or not entry.get("monitored") or vg is None or lv is None or not monitorable(vg, lv):
        return
    if lv.kind == LVKind.THIN_POOL:
        _thin_look(state, vg, lv, entry)
    else:
        _snapshot_look(state, vg, lv, entry)


def _kernel_events(state: State) -> list[str]:
    """Pools the kernel has signalled since dmeventd last looked: free blocks down to the low-water
    mark (once per table load), or out of data space."""
    out = []
    for key, entry in daemon(state)["devices"].items():
        vg_name, _, lv_name = key.partition("/")
        vg = state.vgs.get(vg_name)
        pool = vg.lvs.get(lv_name) if vg else None
        if (
            not entry.get("monitored")
            or pool is None
            or pool.kind != LVKind.THIN_POOL
            or not monitorable(vg, pool)
        ):
            continue
        ps = mapping.pool_state(pool)
        used, total = usage.pool_data_usage(state, vg, pool)
        signalled = False
        if ps.get("lwm") and total - used <= ps["lwm"] and not ps.get("lwm_hit"):
            ps["lwm_hit"] = signalled = True
        mode = mapping.pool_mode(pool)
        if mode != entry.get("mode"):
            entry["mode"] = mode
            signalled = signalled or mode == "out_of_data"
        if signalled:
            out.append(key)
    return out


def catch_up(state: State) -> None:
    """Everything dmeventd does up to the simulated time now: the kernel's events first, then the
    10-second looks that fell due, in time order (time stands still while it acts)."""
    d = daemon(state)
    if not d["running"]:
        return
    for key in _kernel_events(state):
        _look(state, key)
    now = state.clock
    while True:
        due = [(e["next"], k) for k, e in d["devices"].items() if e.get("monitored") and e["next"] <= now]
        if not due:
            return
        when, key = min(due)
        saved, state.clock = state.clock, when
        before = _fingerprint(state, key)
        _look(state, key)
        for k in _kernel_events(state):
            _look(state, k)
        state.clock = saved
        entry = d["devices"].get(key)
        if entry is None:
            continue
        if _fingerprint(state, key) == before and not entry.get("fails"):
            # nothing changed and nothing will until a command runs: skip the idle looks
            entry["next"] = when + POLL_INTERVAL * (1 + (now - when) // POLL_INTERVAL)
        else:
            entry["next"] = when + POLL_INTERVAL


def _fingerprint(state: State, key: str) -> tuple[Any, ...]:
    entry = daemon(state)["devices"].get(key, {})
    return (len(daemon(state)["journal"]), entry.get("check"), entry.get("meta_check"), entry.get("known"))


def pool_full(state: State, vg: VG, pool: LV) -> None:
    """A write found the pool out of data space: the kernel signals dmeventd, which acts at once."""
    catch_up(state)


datapath.FULL_POOL_HANDLERS.append(pool_full)
