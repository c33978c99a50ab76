"""`make bench`: how fast the simulator is where users feel it, against the project's goals.

Parts (each runs in its own interpreter, so peak memory is its own):
  shim   `lvs` through a command shim on a VG with 50 LVs, its command server running, against
         `python3 -S -c pass` (the same interpreter without site; goal <= 2x), and the same call
         without the server (LVSIM_SERVER=0: the shim imports lvsim and runs it); the runs
         alternate, median of 20 each
  scale  a 1 PiB thin volume (64 KiB chunks), 1,000,000 random 64 KiB writes of generated data
         through lvsim.core.datapath, 1,000 thin snapshots, then `lvs` (goal < 20 s and < 1 GiB)
  thins  10,000 thin volumes in one pool: `lvs` of the VG through a shim (goal < 2 s)

Prints a table and writes bench/results/latest.json (merged with the parts not run this time;
each part gets at most TIMEOUT seconds).  A part that cannot run yet (a missing
command or module) is reported as "not measurable yet" with the reason.

    python bench/run.py [--quick] [PART...]     # --quick: 1/100 of the scale writes and snapshots
"""

from __future__ import annotations

import json
import os
import random
import resource
import shlex
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from lvsim import dispatch  # noqa: E402
from lvsim.core import store  # noqa: E402
from lvsim.core.model import GiB, MiB, State, TiB, reset_runtime  # noqa: E402

Result = dict[str, Any]
TIMEOUT = 1800  # seconds per part


class NotYet(Exception):
    """The part depends on something that has not landed."""


def _run(state: State, cmd: str) -> dispatch.Outcome:
    out = dispatch.run(state, shlex.split(cmd))
    if out.rc == 2 and "No such command" in out.stderr:
        raise NotYet(f"`{cmd.split()[0]}` is not emulated yet")
    if out.rc != 0:
        raise RuntimeError(f"{cmd}: rc={out.rc}: {out.stderr.strip()}")
    return out


def _new_state(disk_size: int) -> State:
    state = State()
    from lvsim.core.model import Disk

    state.disks["/dev/vdb"] = Disk("/dev/vdb", disk_size)
    _run(state, "pvcreate /dev/vdb")
    _run(state, "vgcreate vg /dev/vdb")
    return state


def _save(state: State, path: Path) -> None:
    with store.transaction(path) as saved:
        saved.__dict__.update(state.__dict__)


def _write_shims(state_path: Path) -> Path:
    """Shims for the state at state_path (written by `lvsim shims`, as a user does); their directory."""
    shims = state_path.parent / "shims"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "from lvsim.cli import main; main()",
            "shims",
            str(shims),
            "--state",
            str(state_path),
        ],
        check=True,
        capture_output=True,
        cwd=ROOT,
    )
    return shims


def _shim_times(state_path: Path, argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a command through `lvsim shims`."""
    shims = _write_shims(state_path)
    return _median_run([str(shims / argv[0]), *argv[1:]], runs)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _timed_run(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """Wall and CPU seconds of one run of a command (CPU is what a busy machine inflates least)."""
    start, cpu = time.perf_counter(), _children_cpu()
    proc = subprocess.run(argv, capture_output=True, env=env)
    wall, used = time.perf_counter() - start, _children_cpu() - cpu
    if proc.returncode != 0:
        raise RuntimeError(f"{argv}: rc={proc.returncode}: {proc.stderr.decode().strip()}")
    return wall, used


def _median_run(argv: list[str], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a command."""
    times = [_timed_run(argv) for _ in range(runs)]
    return statistics.median(t[0] for t in times), statistics.median(t[1] for t in times)


def _medians_side_by_side(
    commands: list[list[str]], runs: int, envs: list[dict[str, str] | None] | None = None, pause: float = 0.0
) -> list[tuple[float, float]]:
    """Median wall and CPU seconds of each command (with its environment, default this one's), their
    runs alternating so that a change in the machine's load weighs on all of them alike; `pause`
    seconds before each run let what a run left going in the background (a server's next spare
    worker warming up) end before the next is timed."""
    times: list[list[tuple[float, float]]] = [[] for _ in commands]
    for _ in range(runs):
        for argv, env, mine in zip(commands, envs or [None] * len(commands), times, strict=True):
            time.sleep(pause)
            mine.append(_timed_run(argv, env))
    return [(statistics.median(t[0] for t in ts), statistics.median(t[1] for t in ts)) for ts in times]


def _served(shim: Path, argv: list[str]) -> bool:
    """Whether the command server took a call of the shim (it then does not import lvsim.shim)."""
    proc = subprocess.run([sys.executable, "-X", "importtime", "-IS", str(shim), *argv], capture_output=True)
    imported = [line.rsplit(b"|", 1)[-1].strip() for line in proc.stderr.splitlines()]
    return proc.returncode == 0 and b"lvsim.shim" not in imported


def _server_cpu() -> float:
    """CPU seconds the command servers of this lvsim have had their ended supervisors and workers
    use (they are the servers' children, collected as they end)."""
    total = 0.0
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            args = Path(f"/proc/{entry}/cmdline").read_bytes().split(b"\0")
            stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if any(b"lvsim.shimserver" in a for a in args) and str(ROOT).encode() in args and stat[1] == "1":
            total += (int(stat[13]) + int(stat[14])) / os.sysconf("SC_CLK_TCK")  # cutime, cstime
    return total


def part_shim(quick: bool) -> Result:
    """`lvs vg` through a shim whose command server runs (warm), against the floor, with the same
    call run in the shim itself (cold: no server, LVSIM_SERVER=0) alongside."""
    runs = 7 if quick else 20
    state = _new_state(64 * GiB)
    for i in range(50):
        _run(state, f"lvcreate -L 8M -n lv{i} vg")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state"
        _save(state, path)
        shims = _write_shims(path)
        lvs = [str(shims / "lvs"), "vg"]
        deadline = time.monotonic() + 60
        while not _served(shims / "lvs", ["vg"]):  # the first call starts the server
            if time.monotonic() > deadline:
                raise RuntimeError("no command server answered within 60 s")
            time.sleep(0.2)
        floor_argv = [sys.executable, "-S", "-c", "pass"]
        server_cpu = _server_cpu()
        (warm, warm_cpu), (base, base_cpu), (cold, cold_cpu) = _medians_side_by_side(
            [lvs, floor_argv, lvs], runs, [None, None, {**os.environ, "LVSIM_SERVER": "0"}], pause=0.1
        )
        server_cpu = (_server_cpu() - server_cpu) / runs
    ratio, cold_ratio = warm / base, cold / base
    return {
        "measured": (
            f"lvs {warm * 1000:.0f} ms, python -S -c pass {base * 1000:.0f} ms: {ratio:.2f}x"
            f" (cpu {warm_cpu * 1000:.0f} in the shim + {server_cpu * 1000:.0f} in the server"
            f" / {base_cpu * 1000:.0f} ms); without the server {cold * 1000:.0f} ms: {cold_ratio:.2f}x"
            f" (cpu {cold_cpu * 1000:.0f} ms)"
        ),
        "goal": "<= 2x",
        "pass": ratio <= 2.0,
        "lvs_s": warm,
        "python_s": base,
        "ratio": ratio,
        "lvs_cpu_s": warm_cpu,
        "lvs_server_cpu_s": server_cpu,
        "python_cpu_s": base_cpu,
        "cold_lvs_s": cold,
        "cold_ratio": cold_ratio,
        "cold_lvs_cpu_s": cold_cpu,
        "load_average": os.getloadavg()[0],
    }


def _timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def part_scale(quick: bool) -> Result:
    from lvsim.core import content, datapath

    writes, snapshots = (10_000, 10) if quick else (1_000_000, 1_000)
    chunk = 64 * 1024
    start = time.perf_counter()
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu_start = usage.ru_utime + usage.ru_stime
    state = _new_state(128 * GiB)
    _run(state, "lvcreate -L 100G -T vg/pool --chunksize 64k")
    _run(state, "lvcreate -V 1P -T vg/pool -n big")
    dev = datapath.open_device(state, "/dev/vg/big", write=True)
    rng = random.Random(1)
    chunks = dev.size // chunk
    for _ in range(writes):
        dev.write(rng.randrange(chunks) * chunk, content.urandom(state, chunk))
    t_writes = time.perf_counter() - start
    for i in range(snapshots):
        _run(state, f"lvcreate -s vg/big -n s{i}")
    t_snaps = time.perf_counter() - start - t_writes
    out = _run(state, "lvs vg")
    total = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu_start
    peak = usage.ru_maxrss * 1024
    stored = len(content.store_of(state).contents["/dev/vdb"])
    lines = out.stdout.count("\n")
    return {
        "measured": (
            f"{total:.1f} s (writes {t_writes:.1f}, snapshots {t_snaps:.1f}, lvs {total - t_writes - t_snaps:.1f}),"
            f" cpu {cpu:.1f} s, peak {peak / MiB:.0f} MiB"
        ),
        "goal": "< 20 s and < 1 GiB",
        "pass": total < 20 and peak < GiB,
        "writes": writes,
        "snapshots": snapshots,
        "wall_s": total,
        "cpu_s": cpu,
        "load_average": os.getloadavg()[0],
        "writes_s": t_writes,
        "snapshots_s": t_snaps,
        "peak_bytes": peak,
        "stored_extents": stored,
        "lvs_lines": lines,
    }


def part_thins(quick: bool) -> Result:
    """lvs over many thins; they are cloned from one lvcreate'd thin (10,000 lvcreates take too long)."""
    import dataclasses

    from lvsim.core import mapping

    count = 1_000 if quick else 10_000
    state = _new_state(4 * TiB)
    _run(state, "lvcreate -L 1T -T vg/pool")
    _run(state, "lvcreate -V 1G -T vg/pool -n t0")
    vg = state.vgs["vg"]
    pool, first = vg.lvs["pool"], vg.lvs["t0"]
    for i in range(1, count - 1):
        lv = dataclasses.replace(
            first,
            name=f"t{i}",
            uuid=state.new_uuid(),
            thin_id=i + 1,
            transaction_id=pool.transaction_id,
        )
        reset_runtime(lv)
        pool.transaction_id += 1
        vg.lvs[lv.name] = lv
        mapping.attach_thin(pool, lv)
    create = _timed(lambda: _run(state, f"lvcreate -V 1G -T vg/pool -n t{count - 1}"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "state"
        _save(state, path)
        lvs, lvs_cpu = _shim_times(path, ["lvs", "vg"], 3)
    return {
        "measured": (
            f"lvs of {count} thins {lvs:.2f} s, cpu {lvs_cpu:.2f} s (lvcreate of the last one {create:.2f} s)"
        ),
        "goal": "< 2 s",
        "pass": lvs < 2.0,
        "thins": count,
        "lvs_s": lvs,
        "lvs_cpu_s": lvs_cpu,
        "last_lvcreate_s": create,
        "load_average": os.getloadavg()[0],
    }


PARTS: dict[str, Callable[[bool], Result]] = {"shim": part_shim, "scale": part_scale, "thins": part_thins}


def _child(name: str, quick: bool) -> None:
    try:
        result = PARTS[name](quick)
    except NotYet as exc:
        result = {"measured": "not measurable yet", "note": str(exc), "pass": None}
    except (ImportError, AttributeError) as exc:
        result = {"measured": "not measurable yet", "note": f"{exc.__class__.__name__}: {exc}", "pass": None}
    print(json.dumps(result))


def main() -> int:
    args = sys.argv[1:]
    if args[:1] == ["--child"]:
        _child(args[1], "--quick" in args)
        return 0
    quick = "--quick" in args
    names = [a for a in args if a in PARTS] or list(PARTS)
    results: dict[str, Result] = {}
    for name in names:
        cmd = [sys.executable, __file__, "--child", name] + (["--quick"] if quick else [])
        env = {**os.environ, "LC_ALL": "C"}
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, env=env, timeout=TIMEOUT)
            results[name] = json.loads(proc.stdout.strip().splitlines()[-1])
        except subprocess.TimeoutExpired:
            results[name] = {"measured": f"over {TIMEOUT} s", "note": "timed out", "pass": False}
        except (IndexError, ValueError):
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            results[name] = {"measured": "failed", "note": tail, "pass": False}
    width = max(len(r["measured"]) for r in results.values())
    print(f"{'part':<6} {'measured':<{width}}  {'goal':<20} result")
    for name, r in results.items():
        verdict = {True: "pass", False: "FAIL", None: "n/a"}[r["pass"]]
        print(f"{name:<6} {r['measured']:<{width}}  {r.get('goal', ''):<20} {verdict}")
        if r.get("note"):
            print(f"{'':<6} ({r['note']})")
    out = ROOT / "bench" / "results" / "latest.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    saved = json.loads(out.read_text()) if out.exists() else {}
    merged = {k: v for k, v in saved.get("results", {}).items() if saved.get("quick") == quick}
    merged.update(results)
    out.write_text(json.dumps({"time": time.time(), "quick": quick, "results": merged}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
