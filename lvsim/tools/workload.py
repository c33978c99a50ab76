"""Simulated workloads: an application writing to a device at a steady rate as the simulated clock runs.

A drill's "thin volume still being written" (lvsim.training). Each simulated second a workload appends
`rate` bytes of its own recognisable stream at the end of what it wrote. On a thin volume, what the pool
cannot take waits as the kernel makes it wait: at once an error with --errorwhenfull y; queued (the pool
out of data space) for no_space_timeout seconds otherwise, completed when the pool grows in time, failed
(and the pool switched to error mode) when it does not. The workloads live in `state.workloads`;
`catch_up` runs the seconds that passed, with dmeventd acting between them.
"""

from __future__ import annotations

import errno
import os
from typing import Any

from lvsim.core import content, datapath, devmap, mapping, usage
from lvsim.core.model import LV, LVKind, State

TICK = 1.0  # seconds between two writes of a workload


def workloads(state: State) -> list[dict[str, Any]]:
    return state.workloads


def start(state: State, name: str, device: str, rate: int, seconds: float, offset: int = 0) -> dict[str, Any]:
    """Start writing `rate` bytes a second to `device` from `offset` for `seconds` (simulated)."""
    work = {
        "name": name,
        "device": device,
        "rate": rate,
        "start": state.clock,
        "end": state.clock + seconds,
        "next": state.clock + TICK,
        "offset": offset,
        "done": 0,
        "pending": 0,
        "stream": content.store_of(state).new_stream(),
        "queued_since": None,
        "error": "",
        "failed_at": None,
    }
    workloads(state).append(work)
    return work


def find(state: State, name: str) -> dict[str, Any] | None:
    return next((w for w in workloads(state) if w["name"] == name), None)


def running(work: dict[str, Any]) -> bool:
    return not work["error"] and (work["next"] <= work["end"] or work["pending"] > 0)


def _room(state: State, work: dict[str, Any], length: int) -> int:
    """How many of the next `length` bytes the device takes now (a thin pool may lack chunks)."""
    dev = devmap.resolve(state, work["device"])
    if dev is None:
        raise OSError(errno.ENOENT, os.strerror(errno.ENOENT))
    vg, lv = (state.vgs[dev.lv[0]], state.vgs[dev.lv[0]].lvs[dev.lv[1]]) if dev.lv else (None, None)
    if vg is None or lv is None or lv.kind != LVKind.THIN:
        return length
    pool = vg.lvs[lv.pool]
    used, total = usage.pool_data_usage(state, vg, pool)
    at = work["offset"] + work["done"]
    chunk = pool.chunk_size
    need = 0
    fits = 0
    for c in range(at // chunk, (at + length - 1) // chunk + 1):
        if mapping.lookup(state, vg, lv, c) is None:
            need += 1
        if need > total - used:
            break
        fits = min(length, (c + 1) * chunk - at)
    return fits


def _fail(state: State, work: dict[str, Any], code: int) -> None:
    work["error"] = os.strerror(code)
    work["failed_at"] = state.clock
    work["pending"] = 0


def _pool_of(state: State, work: dict[str, Any]) -> LV | None:
    """The thin pool behind the workload's device, if it is a thin volume."""
    dev = devmap.resolve(state, work["device"])
    if dev is None or not dev.lv:
        return None
    vg = state.vgs[dev.lv[0]]
    lv = vg.lvs[dev.lv[1]]
    return vg.lvs[lv.pool] if lv.kind == LVKind.THIN else None


def _tick(state: State, work: dict[str, Any]) -> None:
    """One second of a workload: what was queued, then this second's bytes."""
    if work["next"] <= work["end"]:
        work["pending"] += work["rate"]
        work["next"] += TICK
    if not work["pending"]:
        return
    try:
        fits = _room(state, work, work["pending"])
    except OSError as exc:
        _fail(state, work, exc.errno or errno.EIO)
        return
    if fits:
        at = work["offset"] + work["done"]
        try:
            datapath.write(state, work["device"], at, content.Generated(fits, work["stream"], work["done"]))
        except OSError as exc:
            _fail(state, work, exc.errno or errno.EIO)
            return
        work["done"] += fits
        work["pending"] -= fits
    pool = _pool_of(state, work)
    if not work["pending"]:
        work["queued_since"] = None
        return
    if pool is None:
        return
    ps = mapping.pool_state(pool)
    if pool.error_when_full or ps["error_io"]:
        _fail(state, work, errno.ENOSPC)
        return
    ps["mode"] = "out_of_data"  # the kernel queues what it cannot place
    since = work["queued_since"]
    if since is None:
        work["queued_since"] = ps["queued_since"] = state.clock
    elif state.clock - since >= mapping.NO_SPACE_TIMEOUT:
        ps["error_io"] = True  # no_space_timeout: the pool fails queued and later writes
        _fail(state, work, errno.ENOSPC)


def catch_up(state: State, monitor: Any = None) -> None:
    """Run every workload second that fell due by now, in time order, letting `monitor` (dmeventd's
    catch_up) act up to each of them."""
    now = state.clock
    while True:
        due = [(w["next"], i) for i, w in enumerate(workloads(state)) if running(w) and w["next"] <= now]
        if not due:
            break
        when, i = min(due)
        state.clock = when
        if monitor is not None:
            monitor(state)
        _tick(state, workloads(state)[i])
    for work in workloads(state):  # queued bytes the pool can take now (it grew), or their timeout
        if work["pending"] and not work["error"]:
            state.clock = now
            _tick(state, work)
    state.clock = now
    if monitor is not None:
        monitor(state)


def intact(state: State, work: dict[str, Any]) -> bool:
    """Whether what the workload wrote reads back as written."""
    done = work["done"]
    if not done:
        return True
    got = datapath.read(state, work["device"], work["offset"], done)
    return got == content.pattern_bytes(work["stream"], 0, done)
