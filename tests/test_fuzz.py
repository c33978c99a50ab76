"""Malformed command lines never crash the emulator: every outcome is an exit code and LVM-style text."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lvsim import dispatch
from lvsim.core.model import Disk, State

WORDS = [
    "vg", "vg/lv", "vg/pool", "/dev/loop0", "/dev/loop1", "/dev/vg/lv", "lv", "pool", "-L", "-l", "-n",
    "-V", "-T", "-s", "-a", "-o", "-O", "-S", "-f", "-y", "-ff", "-an", "-ay", "-Zn", "--size", "--extents",
    "--thinpool", "--type", "thin-pool", "--units", "--select", "--reportformat", "json", "10M", "+4M",
    "-4M", "0", "1", "50%FREE", "80%VG", "100%ORIGIN", "%", "4.5m", "1e3", "abc", "", "--", "-", "--=",
    "--size=", "-L10X", "lv_size>1m", "lv_name", "+lv_attr", "-c", "64k", "--poolmetadatasize", "y", "n",
]  # fmt: skip


def _state() -> State:
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 300 * 2**20)
    state.disks["/dev/loop1"] = Disk("/dev/loop1", 100 * 2**20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 20M -n lv vg"):
        dispatch.run(state, cmd.split())
    return state


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
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
    elif name != "blkid":  # blkid says nothing when it finds nothing (exit 2)
        assert outcome.stderr or outcome.stdout
