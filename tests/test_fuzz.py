"""Malformed command lines never crash the emulator (every outcome is an exit code and LVM-style text),
and random command sequences keep the model whole."""

from __future__ import annotations

import itertools
import json
import shlex
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsim import dispatch
from lvsim.core.model import Disk, LVKind, State
from lvsim.testing import difftest

pytestmark = pytest.mark.fuzz  # run by make test-fuzz, apart from make test-sim

WORDS = [
    "vg", "vg/lv", "vg/pool", "/dev/loop0", "/dev/loop1", "/dev/vg/lv", "lv", "pool", "-L", "-l", "-n",
    "-V", "-T", "-s", "-a", "-o", "-O", "-S", "-f", "-y", "-ff", "-an", "-ay", "-Zn", "--size", "--extents",
    "--thinpool", "--type", "thin-pool", "--units", "--select", "--reportformat", "json", "10M", "+4M",
    "-4M", "0", "1", "50%FREE", "80%VG", "100%ORIGIN", "%", "4.5m", "1e3", "abc", "", "--", "-", "--=",
    "--size=", "-L10X", "lv_size>1m", "lv_name", "+lv_attr", "-c", "64k", "--poolmetadatasize", "y", "n",
]  # fmt: skip


# blkid (exit 2) and findmnt (exit 1) say nothing when they find nothing, as util-linux's do
SILENT_MISSES = {"blkid", "findmnt"}


def _state() -> State:
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 300 * 2**20)
    state.disks["/dev/loop1"] = Disk("/dev/loop1", 100 * 2**20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 20M -n lv vg"):
        dispatch.run(state, cmd.split())
    return state


@settings(
    max_examples=400,
    deadline=None,
    database=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    st.sampled_from(sorted(set(dispatch.command_names()))),
    st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), max_size=7),
    st.sampled_from(["", "y\n", "n\n"]),
)
def test_no_traceback(name: str, args: list[str], stdin: str) -> None:
    outcome = dispatch.run(_state(), [name, *args], stdin)
    assert isinstance(outcome.rc, int) and 0 <= outcome.rc < 256
    if outcome.rc == 0:
        assert "Traceback" not in outcome.stderr
    elif name not in SILENT_MISSES:
        assert outcome.stderr or outcome.stdout


# -- model invariants under random sequences ------------------------------------------------------
#
# The differential generator's sequences (lvsim.testing.difftest.cases) with hostile commands mixed in:
# internal LVs (_tdata, _tmeta, _pmspare) renamed, removed, resized, converted; the same LV as pool data
# and metadata; pvremove -ff of PVs in use; pvchange -x n.  After every command: no internal error,
# the reports work, the saved form round-trips, and the model holds together.


HOSTILE = [
    "lvrename vg/pool_tdata x", "lvrename vg/pool_tmeta x", "lvrename vg/lvol0_pmspare x",
    "lvremove -f vg/pool_tmeta", "lvremove -f vg/pool_tdata", "lvremove -f vg/lvol0_pmspare",
    "lvchange -an vg/pool_tmeta", "lvchange -ay vg/pool_tdata", "lvextend -L +4M vg/pool_tdata",
    "lvextend -L +4M vg/pool_tmeta", "lvreduce -f -L -4M vg/pool_tdata", "lvresize -L 16M vg/lvol0_pmspare",
    "lvconvert -y --thinpool vg/lv --poolmetadata vg/lv", "lvconvert -y --thinpool vg/lv --poolmetadata vg/lv2",
    "lvconvert -y --thinpool vg/lv2 --poolmetadata vg/snap", "lvconvert -y --thinpool vg/pool_tmeta",
    "lvconvert -y --thinpool vg/lv --poolmetadata vg/pool_tmeta", "lvcreate -s -L 4M -n s1 vg/pool_tdata",
    "lvcreate -V 4M -T vg/pool_tdata -n t1", "pvremove -ff -y /dev/loop1", "pvremove -ff -y /dev/loop0",
    "pvchange -x n /dev/loop0", "pvchange -x n /dev/loop1", "pvchange -x y /dev/loop0",
    "vgreduce --removemissing vg", "vgreduce --removemissing --force vg", "vgextend vg /dev/loop1",
    "lvcreate -L 8M -n lv3 vg", "lvcreate -l 100%FREE -n lv4 vg", "lvextend -l +100%FREE vg/lv",
    "lvcreate -L 8M -T vg/pool2", "lvcreate -s -L 4M -n s2 vg/lv",
]  # fmt: skip
REPORTS = ("lvs -a -o +devices", "vgs", "pvs -a")
FUZZ_SECONDS = 50.0  # the whole fuzz run stays near a minute
_deadline: list[float] = []


def _check_model(state: State) -> None:
    """The model holds together: segments on the VG's own PVs, inside them, never overlapping; internal
    LVs point at pools that point back; the saved form round-trips."""
    for vg in state.vgs.values():
        used: dict[str, list[tuple[int, int]]] = {}
        for lv in vg.lvs.values():
            for seg in lv.segments:
                if seg.pv == "[unknown]" or seg.pv not in state.pvs:
                    continue
                assert seg.pv in vg.pvs, (vg.name, lv.name, seg.pv)
                pv = state.pvs[seg.pv]
                assert seg.pe_start >= 0 and seg.pe_start + seg.extents <= pv.pe_count, (lv.name, seg)
                used.setdefault(seg.pv, []).append((seg.pe_start, seg.pe_start + seg.extents))
            if lv.role in ("tdata", "tmeta"):
                pool = vg.lvs.get(lv.parent)
                assert pool is not None and lv.name in (pool.data_lv, pool.metadata_lv), (vg.name, lv.name)
            if lv.kind == LVKind.THIN_POOL:
                assert lv.data_lv in vg.lvs and lv.metadata_lv in vg.lvs, (vg.name, lv.name)
                assert lv.data_lv != lv.metadata_lv
            if lv.pool:
                assert lv.pool in vg.lvs and vg.lvs[lv.pool].kind == LVKind.THIN_POOL, (vg.name, lv.name)
        for pv_name, spans in used.items():
            spans.sort()
            for (_, end), (start, _) in itertools.pairwise(spans):
                assert end <= start, (vg.name, pv_name, spans)
    saved = json.loads(json.dumps(state.to_json()))
    assert State.from_json(saved).to_json() == saved


def _run_checked(state: State, cmdline: str) -> None:
    outcome = dispatch.run(state, shlex.split(cmdline), "")
    assert "Internal error" not in outcome.stderr, (cmdline, outcome.stderr)
    for report in REPORTS:
        out = dispatch.run(state, shlex.split(report))
        assert out.rc == 0 and "Internal error" not in out.stderr, (cmdline, report, out)
    _check_model(state)


@settings(
    max_examples=1500, deadline=None, database=None, derandomize=True, suppress_health_check=list(HealthCheck)
)
@given(
    difftest.cases(min_steps=3, max_steps=10),
    st.lists(st.tuples(st.integers(0, 12), st.sampled_from(HOSTILE)), max_size=6),
)
def test_model_invariants_under_random_sequences(
    case: difftest.DiffCase, hostile: list[tuple[int, str]]
) -> None:
    if not _deadline:
        _deadline.append(time.monotonic() + FUZZ_SECONDS)
    if time.monotonic() > _deadline[0]:
        return  # the time budget is spent: the remaining examples pass at once
    state = State()
    for path, size in zip(difftest.DISK_PATHS, case.disks, strict=True):
        state.disks[path] = Disk(path, size)
    steps = list(case.steps[: -len(difftest.FINAL_REPORTS)])
    for at, cmdline in sorted(hostile, reverse=True):
        steps.insert(min(at, len(steps)), cmdline)
    from lvsim import guard

    for cmdline in steps:
        _rc, _, err, internal = guard.run_command(state, shlex.split(cmdline), "")
        assert not internal, "\n".join([*steps, "", f"failed at: {cmdline}", err])
        _run_checked(state, "lvs")
