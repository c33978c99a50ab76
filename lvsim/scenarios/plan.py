"""`lvsim plan`: run a scenario on the simulator and predict, command by command, what it does.

`simulate()` runs a scenario on a fresh simulator backend and records the state before and after every
command; the renderer uses the same record to learn what each command creates and removes.
`make_plan()` turns the record into predicted states and warnings: thin-pool overcommit, pool data
and metadata fill, COW snapshots that overflow, %FREE allocations that leave no room for a snapshot,
and thin pools with no autoextend headroom.
"""

from __future__ import annotations

import copy
import io
import json
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

from lvsim.backend import Backend, Result, open_backend
from lvsim.core import usage
from lvsim.core.model import LV, VG, LVKind, State
from lvsim.core.pool_sizing import AUTOEXTEND_PERCENT, AUTOEXTEND_THRESHOLD
from lvsim.core.units import format_size
from lvsim.scenarios.loader import Scenario, Step
from lvsim.scenarios.runner import Runner, StepFailed
from lvsim.scenarios.steps import Command

# LVM 2.03.16 defaults (lvm.conf activation section): 100 disables thin-pool autoextension.  A
# scenario cannot change lvm.conf, so every pool it makes runs with these.
FILL_WARNING = 80.0  # dmeventd starts warning about a pool at 80% full
SNAPSHOT_ROOM = 0.10  # a backup snapshot needs room for about a tenth of its origin


@dataclass
class Executed:
    """One command the scenario ran on the simulator, with the state around it."""

    step: Step
    command: Command
    result: Result
    before: State
    after: State


@dataclass
class Simulation:
    """A scenario run on the simulator: every command, and how the run ended."""

    scenario: Scenario
    records: list[Executed]
    disks: dict[str, str]  # disk name -> simulated device
    start: State
    final: State
    failure: str = ""
    # Commands of steps whose `when:` did not hold (or loops over no LV), run aside on a copy of the
    # host so that the renderer knows what they would change; what-if failures per step index.
    aside: list[Executed] = field(default_factory=list)
    aside_failures: dict[int, str] = field(default_factory=dict)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (step index, why), in run order


class _Recorder(Runner):
    """A Runner that keeps a copy of the simulator's state around every command."""

    def __init__(self, scenario: Scenario, backend: Backend, setup: bool = True) -> None:
        super().__init__(scenario, backend, io.StringIO(), private_root=True)  # nothing on the host changes
        self.sim = backend
        self.setup = setup
        self.records: list[Executed] = []
        self.aside: list[Executed] = []
        self.aside_failures: dict[int, str] = {}
        self.skipped: list[tuple[int, str]] = []
        self.start: State | None = None
        self._aside_depth = 0

    def _check_existing(self) -> None:
        super()._check_existing()
        self.start = copy.deepcopy(_state_of(self.sim))

    def _exec(self, step: Step, cmd: Command) -> Result:
        if self.in_setup:
            return super()._exec(step, cmd)
        before = copy.deepcopy(_state_of(self.sim))
        result = super()._exec(step, cmd)
        record = Executed(step, cmd, result, before, copy.deepcopy(_state_of(self.sim)))
        (self.aside if self._aside_depth else self.records).append(record)
        return result

    def _skipped(self, step: Step, why: str) -> None:
        """Run the step anyway on a copy of the host, to learn what it would change."""
        if not self._aside_depth:
            self.skipped.append((step.index, why))
        state = copy.deepcopy(_state_of(self.sim))
        values = dict(self.values)
        self._aside_depth += 1
        try:
            if step.kind == "foreach":
                self._foreach(step)
            else:
                self._step_body(step)
        except StepFailed as exc:
            self.aside_failures.setdefault(step.index, str(exc))
        finally:
            self._aside_depth -= 1
            self.sim.state = state  # type: ignore[attr-defined]
            self.values = values

    def foreach_items(self, step: Step, vg: str, tag: str) -> list[str]:
        items = super().foreach_items(step, vg, tag)
        if not items and not self._aside_depth:
            self.aside_failures.setdefault(step.index, f"no LV of {vg} is tagged {tag} on the simulated host")
        return items


def _state_of(backend: Backend) -> State:
    """The simulator's state (a simulator backend keeps it in `.state`)."""
    state = getattr(backend, "state", None)
    if not isinstance(state, State):
        raise TypeError(f"a plan needs a simulator backend, not {type(backend).__name__}")
    return state


def simulate(scenario: Scenario, backend: Backend | None = None, setup: bool = True) -> Simulation:
    """Run the scenario on a fresh simulator (by default the "sim" backend; its mktemp directories
    are removed afterwards).  Without `setup` the backend's host (an imported one) is the storage
    the scenario expects."""
    backend = backend or open_backend("sim")
    runner = _Recorder(scenario, backend, setup)
    try:
        runner.run()
    finally:
        runner.remove_tempdirs()
    disks = dict(runner.disks)
    start = runner.start or (
        runner.records[0].before if runner.records else copy.deepcopy(_state_of(backend))
    )
    return Simulation(
        scenario,
        runner.records,
        disks,
        start,
        copy.deepcopy(_state_of(backend)),
        runner.failure,
        runner.aside,
        runner.aside_failures,
        runner.skipped,
    )


# -- the predicted state --------------------------------------------------------------------------


def vg_free_extents(vg: VG, state: State) -> int:
    """Extents of the VG's PVs not allocated to any LV."""
    total = sum(state.pvs[p].pe_count for p in vg.pvs if p in state.pvs)
    return total - sum(s.extents for lv in vg.lvs.values() for s in lv.segments)


def _pct(used: int, total: int) -> float:
    return round(100.0 * used / total, 2) if total else 0.0


@dataclass
class PoolState:
    """A thin pool's predicted size and fill."""

    name: str
    size: int
    data_percent: float
    metadata_percent: float
    virtual: int  # sum of its thin volumes' sizes

    @property
    def overcommit(self) -> float:
        return self.virtual / self.size if self.size else 0.0


@dataclass
class VGState:
    """A VG's predicted free space, pools, LV sizes and snapshot fill."""

    name: str
    extent_size: int
    size: int
    free: int
    free_extents: int
    lvs: dict[str, int] = field(default_factory=dict)  # visible LV -> size in bytes
    pools: list[PoolState] = field(default_factory=list)
    snapshots: dict[str, float] = field(default_factory=dict)  # COW snapshot -> Snap%
    invalid: list[str] = field(default_factory=list)  # COW snapshots that overflowed


def _thin_virtual(vg: VG, pool: LV) -> int:
    return sum(lv.le_count for lv in vg.lvs.values() if lv.kind == LVKind.THIN and lv.pool == pool.name)


def vg_states(state: State) -> list[VGState]:
    """The predicted state of every VG."""
    out = []
    for vg in state.vgs.values():
        free = vg_free_extents(vg, state)
        total = sum(state.pvs[p].pe_count for p in vg.pvs if p in state.pvs)
        view = VGState(vg.name, vg.extent_size, total * vg.extent_size, free * vg.extent_size, free)
        for lv in vg.lvs.values():
            if not lv.visible:
                continue
            view.lvs[lv.name] = lv.le_count * vg.extent_size
            if lv.kind == LVKind.THIN_POOL:
                used, chunks = usage.pool_data_usage(state, vg, lv)
                mused, mtotal = usage.pool_metadata_usage(state, vg, lv)
                view.pools.append(
                    PoolState(
                        lv.name,
                        lv.le_count * vg.extent_size,
                        _pct(used, chunks),
                        _pct(mused, mtotal),
                        _thin_virtual(vg, lv) * vg.extent_size,
                    )
                )
            elif lv.kind == LVKind.COW:
                used, total, invalid = usage.cow_usage(state, vg, lv)
                view.snapshots[lv.name] = 100.0 if invalid else _pct(used, total)
                if invalid:
                    view.invalid.append(lv.name)
        out.append(view)
    return out


# -- warnings --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PlanWarning:
    """Something the scenario will run into; `command` is the 1-based index of the command that causes it."""

    kind: str
    message: str
    command: int


def _size(nbytes: int) -> str:
    return format_size(nbytes, "h").strip()


def _percent_allocation(argv: tuple[str, ...]) -> bool:
    """Whether an lvcreate/lvextend/lvresize sizes with a %FREE/%VG/%PVS extent count."""
    if not argv or argv[0].rsplit("/", 1)[-1] not in ("lvcreate", "lvextend", "lvresize"):
        return False
    words = list(argv[1:])
    for i, word in enumerate(words):
        value = None
        if word in ("-l", "--extents") and i + 1 < len(words):
            value = words[i + 1]
        elif word.startswith("--extents="):
            value = word.split("=", 1)[1]
        elif word.startswith("-l") and len(word) > 2:
            value = word[2:]
        if value and any(value.upper().endswith(s) for s in ("%FREE", "%VG", "%PVS")):
            return True
    return False


def warnings(sim: Simulation) -> list[PlanWarning]:
    """Every warning the simulation supports, in the order of the commands that cause them."""
    found: list[PlanWarning] = []
    seen: set[tuple[str, str]] = set()

    def once(kind: str, key: str, message: str, n: int) -> None:
        if (kind, key) not in seen:
            seen.add((kind, key))
            found.append(PlanWarning(kind, message, n))

    created: dict[tuple[str, str], int] = {}
    for n, rec in enumerate(sim.records, 1):
        for vg in vg_states(rec.after):
            for pool in vg.pools:
                where = f"{vg.name}/{pool.name}"
                created.setdefault((vg.name, pool.name), n)
                if pool.overcommit > 1:
                    once(
                        "overcommit",
                        f"{where}:{pool.virtual}:{pool.size}",
                        f"thin pool {where} is overcommitted {pool.overcommit:.2f}:1 "
                        f"({_size(pool.virtual)} of thin volumes on a {_size(pool.size)} pool)",
                        n,
                    )
                for what, pct in (("data", pool.data_percent), ("metadata", pool.metadata_percent)):
                    if pct >= 100:
                        once(f"pool-{what}-full", where, f"thin pool {where} {what} will be 100% full", n)
                    elif pct >= FILL_WARNING:
                        once(
                            f"pool-{what}-fill",
                            where,
                            f"thin pool {where} {what} will reach {pct:.2f}% (warnings start at "
                            f"{FILL_WARNING:.0f}%)",
                            n,
                        )
            for snap in vg.invalid:
                once(
                    "snapshot-overflow",
                    f"{vg.name}/{snap}",
                    f"COW snapshot {vg.name}/{snap} will overflow and be invalidated: the scenario "
                    "writes more to its origin than its exception store holds",
                    n,
                )
            for snap, pct in vg.snapshots.items():
                if snap not in vg.invalid and pct >= FILL_WARNING:
                    once(
                        "snapshot-fill",
                        f"{vg.name}/{snap}",
                        f"COW snapshot {vg.name}/{snap} reaches {pct}%",
                        n,
                    )
        if rec.result.rc == 0 and _percent_allocation(rec.command.argv):
            found.extend(_no_snapshot_room(rec, n))
    for vg in vg_states(sim.final):
        for pool in vg.pools:
            found.extend(_autoextend(vg, pool, created.get((vg.name, pool.name), len(sim.records))))
    return sorted(found, key=lambda w: w.command)


def _no_snapshot_room(rec: Executed, n: int) -> Iterator[PlanWarning]:
    """A %FREE-style allocation that leaves too little free space for a COW snapshot of it."""
    before = {v.name: v for v in vg_states(rec.before)}
    for vg in vg_states(rec.after):
        old = before.get(vg.name)
        if old is None or old.free_extents <= vg.free_extents:
            continue
        grown = {name: size - old.lvs.get(name, 0) for name, size in vg.lvs.items()}
        name = max(grown, key=lambda k: grown[k])
        if any(pool.name == name for pool in vg.pools):
            continue  # a thin pool's snapshots are thin: its headroom is the autoextend warning's
        need = max(vg.extent_size, int(vg.lvs[name] * SNAPSHOT_ROOM))
        if vg.free < need:
            yield PlanWarning(
                "no-snapshot-room",
                f"after this allocation VG {vg.name} has {_size(vg.free)} free: no room for a COW "
                f"snapshot of {vg.name}/{name} ({_size(need)}, {SNAPSHOT_ROOM:.0%} of it, would be needed)",
                n,
            )


def _autoextend(vg: VGState, pool: PoolState, n: int) -> Iterator[PlanWarning]:
    step = max(vg.extent_size, pool.size * AUTOEXTEND_PERCENT // 100)
    where = f"{vg.name}/{pool.name}"
    yield PlanWarning(
        "no-autoextend",
        f"thin pool {where} will not autoextend: activation/thin_pool_autoextend_threshold is "
        f"{AUTOEXTEND_THRESHOLD} (disabled, the LVM 2.03.16 default); set it below 100",
        n,
    )
    if vg.free < step:
        yield PlanWarning(
            "no-autoextend-headroom",
            f"VG {vg.name} has {_size(vg.free)} free, less than one autoextend step of {where} "
            f"({AUTOEXTEND_PERCENT}% = {_size(step)})",
            n,
        )


# -- the plan --------------------------------------------------------------------------------------


def make_plan(sim: Simulation) -> dict[str, Any]:
    """The plan as plain data (what --format json prints)."""
    sc = sim.scenario
    return {
        "scenario": sc.name,
        "vars": sc.vars,
        "disks": {name: {"device": dev, "size": sc.disks[name]} for name, dev in sim.disks.items()},
        "start": [asdict(v) for v in vg_states(sim.start)],
        "commands": [
            {
                "index": n,
                "step": rec.step.index + 1,
                "command": rec.command.cmdline,
                "rc": rec.result.rc,
                "state": [asdict(v) for v in vg_states(rec.after)],
            }
            for n, rec in enumerate(sim.records, 1)
        ],
        "skipped": [{"step": index + 1, "why": why} for index, why in sim.skipped],
        "peaks": peaks(sim),
        "warnings": [asdict(w) for w in warnings(sim)],
        "failure": sim.failure,
    }


def peaks(sim: Simulation) -> dict[str, dict[str, float]]:
    """Per pool (vg/pool): the highest data%, metadata% and overcommit ratio over the run;
    per VG: the least free space (bytes)."""
    out: dict[str, dict[str, float]] = {}
    for rec in sim.records:
        for vg in vg_states(rec.after):
            low = out.setdefault(vg.name, {"min_free": vg.free})
            low["min_free"] = min(low["min_free"], vg.free)
            for pool in vg.pools:
                high = out.setdefault(f"{vg.name}/{pool.name}", {"data": 0, "metadata": 0, "overcommit": 0})
                high["data"] = max(high["data"], pool.data_percent)
                high["metadata"] = max(high["metadata"], pool.metadata_percent)
                high["overcommit"] = max(high["overcommit"], round(pool.overcommit, 2))
    return out


def format_json(plan: dict[str, Any]) -> str:
    return json.dumps(plan, indent=2) + "\n"


def _vg_lines(states: list[dict[str, Any]]) -> list[str]:
    """A state's VGs, pools, LVs and snapshots, one line each."""
    lines = []
    for vg in states:
        lines.append(
            f"       VG {vg['name']}: {_size(vg['free'])} free of {_size(vg['size'])} ({vg['free_extents']} extents)"
        )
        for pool in vg["pools"]:
            lines.append(
                f"       pool {pool['name']}: {_size(pool['size'])}, data {pool['data_percent']:.2f}%, "
                f"metadata {pool['metadata_percent']:.2f}%, thin volumes {_size(pool['virtual'])}"
            )
        if vg["lvs"]:
            lines.append("       LVs: " + ", ".join(f"{k} {_size(v)}" for k, v in sorted(vg["lvs"].items())))
        for snap, pct in vg["snapshots"].items():
            lines.append(f"       snapshot {snap}: {pct:.2f}% used")
    return lines


def format_text(plan: dict[str, Any]) -> str:
    """The plan for a person: each command, the state after it, its warnings."""
    by_command: dict[int, list[str]] = {}
    for w in plan["warnings"]:
        by_command.setdefault(w["command"], []).append(w["message"])
    lines = [f"plan for scenario {plan['scenario']} (simulated, no device is touched)"]
    for name, disk in plan["disks"].items():
        lines.append(f"  disk {name}: {disk['size']} (simulated as {disk['device']})")
    if plan["start"]:
        lines.append("\n  0. the host before the first command:")
        lines += _vg_lines(plan["start"])
        lines.extend(f"       WARNING: {m}" for m in by_command.get(0, []))
    for skipped in plan.get("skipped", []):
        lines.append(f"\n     step {skipped['step']}: skipped, {skipped['why']}")
    for cmd in plan["commands"]:
        rc = "" if cmd["rc"] == 0 else f"   [exit {cmd['rc']}]"
        lines.append(f"\n{cmd['index']:>3}. step {cmd['step']}: $ {cmd['command']}{rc}")
        lines += _vg_lines(cmd["state"])
        lines.extend(f"       WARNING: {m}" for m in by_command.get(cmd["index"], []))
    lines.append("\npeaks over the run:")
    for name, peak in plan["peaks"].items():
        if "min_free" in peak:
            lines.append(f"  VG {name}: least free {_size(int(peak['min_free']))}")
        else:
            lines.append(
                f"  pool {name}: data {peak['data']:.2f}%, metadata {peak['metadata']:.2f}%, "
                f"overcommit {peak['overcommit']:.2f}:1"
            )
    if plan["failure"]:
        lines.append(f"\nthe scenario FAILS on the simulator: {plan['failure']}")
    total = len(plan["warnings"])
    lines.append(f"\n{total} warning{'s' if total != 1 else ''}")
    return "\n".join(lines) + "\n"
