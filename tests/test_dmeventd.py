"""The simulated dmeventd: monitoring, autoextend of thin pools and COW snapshots on the simulated clock."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.lvm import dmeventd

AUTOEXTEND = """\
activation {
\tthin_pool_autoextend_threshold = 70
\tthin_pool_autoextend_percent = 20
\tsnapshot_autoextend_threshold = 70
\tsnapshot_autoextend_percent = 20
}
"""


@pytest.fixture
def sim() -> Iterator[SimBackend]:
    with SimBackend() as backend:
        backend.add_disk(400 << 20)
        yield backend


def ok(backend: SimBackend, cmd: str) -> str:
    result = backend.run(cmd.split())
    assert result.rc == 0, result.stderr
    return result.stdout


def value(backend: SimBackend, lv: str, field: str) -> str:
    return backend.report("lv", "-o", field, lv)[0][field].strip()


def messages(backend: SimBackend) -> list[str]:
    return [e["msg"] for e in dmeventd.journal(backend.state)]


# What dmeventd logged in the VM (dmeventd -f -l) as a pool and then its first thin volume were made.
STARTED = [
    "dmeventd ready for processing.",
    "Monitoring thin pool vg-pool.",
    "No longer monitoring thin pool vg-pool.",
    "Monitoring thin pool vg-pool-tpool.",
]


def after_start(backend: SimBackend) -> list[str]:
    got = messages(backend)
    assert got[: len(STARTED)] == STARTED
    return got[len(STARTED) :]


def pool(backend: SimBackend, conf: str | None = AUTOEXTEND, size: str = "100M") -> None:
    if conf is not None:
        backend.set_lvm_conf(conf)
    ok(backend, "vgcreate vg /dev/loop0")
    ok(backend, f"lvcreate -L {size} -T vg/pool")
    ok(backend, "lvcreate -V 200M -T vg/pool -n t")


def test_pools_and_snapshots_are_monitored_once_active(sim: SimBackend) -> None:
    pool(sim, conf=None)
    ok(sim, "lvcreate -L 20M -n lin vg")
    ok(sim, "lvcreate -s -L 8M -n snap vg/lin")
    assert value(sim, "vg/pool", "seg_monitor") == "monitored"
    assert value(sim, "vg/snap", "seg_monitor") == "monitored"
    assert value(sim, "vg/lin", "seg_monitor") == ""
    assert messages(sim) == [*STARTED, "Monitoring snapshot vg-snap."]
    ok(sim, "lvremove -f vg/snap")
    assert messages(sim)[-1] == "No longer monitoring snapshot vg-snap."


def test_monitoring_off_in_lvm_conf_registers_nothing(sim: SimBackend) -> None:
    pool(sim, conf="activation { monitoring = 0 }\n")
    assert messages(sim) == []
    assert value(sim, "vg/pool", "seg_monitor") == ""  # LVM's monitoring mode is off: nothing to say
    sim.set_lvm_conf("")
    assert value(sim, "vg/pool", "seg_monitor") == "not monitored"


def test_a_pool_made_with_a_threshold_extends_right_after_the_write(sim: SimBackend) -> None:
    """The low-water mark of a pool activated with threshold 70: the kernel signals at once."""
    pool(sim)
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=80 oflag=direct status=none")
    assert value(sim, "vg/pool", "lv_size") == "120.00m"
    assert value(sim, "vg/pool", "data_percent") == "66.67"
    assert after_start(sim) == [
        "Size of logical volume vg/pool_tdata changed from 100.00 MiB (25 extents) to 120.00 MiB (30 extents).",
        "Logical volume vg/pool successfully resized.",
    ]


def test_lvm_conf_edited_after_activation_acts_on_the_next_ten_second_look(sim: SimBackend) -> None:
    pool(sim, conf="")
    sim.set_lvm_conf(AUTOEXTEND)
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=80 oflag=direct status=none")
    assert value(sim, "vg/pool", "lv_size") == "100.00m"  # no low-water mark: the pool was made at 100
    sim.wait(9)
    assert value(sim, "vg/pool", "lv_size") == "100.00m"
    sim.wait(1)
    assert value(sim, "vg/pool", "lv_size") == "120.00m"


def test_a_big_jump_extends_by_more_than_the_percent(sim: SimBackend) -> None:
    """lvextend --use-policies: max(percent, enough to get back under the threshold) (§4.9)."""
    pool(sim)
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=80 oflag=direct status=none")
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=38 seek=80 oflag=direct status=none")
    assert value(sim, "vg/pool", "lv_size") == "172.00m"
    assert "WARNING: Thin pool vg-pool-tpool data is now 98.33% full." in messages(sim)


def test_the_default_threshold_never_extends_but_dmeventd_warns(sim: SimBackend) -> None:
    pool(sim, conf=None)
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=85 oflag=direct status=none")
    sim.wait(60)
    assert value(sim, "vg/pool", "lv_size") == "100.00m"
    assert after_start(sim) == ["WARNING: Thin pool vg-pool-tpool data is now 85.00% full."]


def test_no_room_in_the_vg_fails_and_is_retried_less_and_less_often(sim: SimBackend) -> None:
    pool(sim)
    ok(sim, "lvcreate -l 100%FREE -n filler vg")
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=80 oflag=direct status=none")
    failures = [m for m in messages(sim) if m == "Failed command for vg-pool-tpool."]
    assert len(failures) == 1
    sim.wait(600)
    retried = [m for m in messages(sim) if m == "Failed command for vg-pool-tpool."]
    assert 2 < len(retried) < 60 // 2  # fewer than one retry per look
    ok(sim, "lvremove -f vg/filler")
    sim.wait(600)
    assert value(sim, "vg/pool", "lv_size") == "120.00m"


def test_a_cow_snapshot_is_extended_on_a_ten_second_look(sim: SimBackend) -> None:
    sim.set_lvm_conf(AUTOEXTEND)
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate -L 40M -n lin vg")
    ok(sim, "lvcreate -s -L 8M -n snap vg/lin")
    ok(sim, "dd if=/dev/urandom of=/dev/vg/lin bs=1M count=6 oflag=direct status=none")
    assert value(sim, "vg/snap", "lv_size") == "8.00m"
    sim.wait(10)
    assert value(sim, "vg/snap", "lv_size") == "12.00m"
    assert (
        "Size of logical volume vg/snap changed from 8.00 MiB (2 extents) to 12.00 MiB (3 extents)."
        in messages(sim)
    )


def test_an_overflowed_snapshot_is_reported_once(sim: SimBackend) -> None:
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate -L 40M -n lin vg")
    ok(sim, "lvcreate -s -L 4M -n snap vg/lin")
    ok(sim, "dd if=/dev/urandom of=/dev/vg/lin bs=1M count=20 oflag=direct status=none")
    sim.wait(30)
    assert (
        messages(sim).count("WARNING: Snapshot vg-snap changed state to: Invalid and should be removed.") == 1
    )


def test_a_pool_unmonitored_by_hand_is_watched_again_once_it_has_a_thin_volume(sim: SimBackend) -> None:
    """Recorded in the VM: lvchange --monitor n, then the first thin volume: its -tpool layer is a new
    device, registered as lvcreate says; and dmeventd rereads lvm.conf (percent 50: 40M -> 60M)."""
    sim.set_lvm_conf(
        AUTOEXTEND.replace("thin_pool_autoextend_percent = 20", "thin_pool_autoextend_percent = 50")
    )
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate -L 40M -T vg/p2")
    ok(sim, "lvchange --monitor n vg/p2")
    assert value(sim, "vg/p2", "seg_monitor") == "not monitored"
    ok(sim, "lvcreate -V 80M -T vg/p2 -n u")
    ok(sim, "dd if=/dev/urandom of=/dev/vg/u bs=1M count=36 oflag=direct status=none")
    sim.wait(10)
    assert value(sim, "vg/p2", "lv_size") == "60.00m"


def test_lvchange_monitor_of_an_inactive_lv_fails(sim: SimBackend) -> None:
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate -an -L 8M -n lin vg")
    result = sim.run(["lvchange", "--monitor", "y", "vg/lin"])
    assert (result.rc, result.stderr) == (5, "  Logical volume vg/lin is not active.\n")


def test_vgchange_monitor_counts_every_active_lv(sim: SimBackend) -> None:
    """Recorded in the VM: a pool (with its _tdata and _tmeta), a thin volume, an origin and two
    snapshots (one as large as its origin, monitored too): 7 LVs, the spare being inactive."""
    for cmd in (
        "vgcreate vg /dev/loop0",
        "lvcreate -L 40M -T vg/p2",
        "lvcreate -V 80M -T vg/p2 -n u",
        "lvcreate -L 20M -n lin2 vg",
        "lvcreate -s -L 8M -n snap2 vg/lin2",
        "lvcreate -s -L 20M -n full2 vg/lin2",
    ):
        ok(sim, cmd)
    assert value(sim, "vg/full2", "seg_monitor") == "monitored"
    assert ok(sim, "vgchange --monitor n vg") == '  7 logical volume(s) in volume group "vg" unmonitored\n'
    assert {value(sim, f"vg/{lv}", "seg_monitor") for lv in ("p2", "snap2", "full2")} == {"not monitored"}
    assert ok(sim, "vgchange --monitor y vg") == '  7 logical volume(s) in volume group "vg" monitored\n'
    assert value(sim, "vg/p2", "seg_monitor") == "monitored"


def test_a_write_finding_the_pool_full_lets_dmeventd_act_at_once(sim: SimBackend) -> None:
    """A pool made with threshold 100 has no low-water mark, but running out of data space is an
    event of its own: dmeventd extends the pool before the queued write has to wait."""
    sim.set_lvm_conf(AUTOEXTEND)
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate --config activation/thin_pool_autoextend_threshold=100 -L 40M -T vg/pool")
    ok(sim, "lvcreate -V 100M -T vg/pool -n t")
    start = sim.state.clock
    ok(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=44 oflag=direct status=none")
    assert sim.state.clock == start
    # full: +43% (to get back under 70%: 60 MiB); the pool's new low-water mark then fires as the
    # write goes on (44 of 60 MiB): +20% more
    assert value(sim, "vg/pool", "lv_size") == "72.00m"


def test_a_write_the_pool_grows_under_lands_where_it_reads_back(sim: SimBackend, tmp_path: Path) -> None:
    """One write that waits while dmeventd extends the pool (its _tdata gets a second segment) puts
    every block where the pool maps it: it reads back whole, and the LV next to _tdata is untouched."""
    sim.set_lvm_conf(AUTOEXTEND)
    ok(sim, "vgcreate vg /dev/loop0")
    ok(sim, "lvcreate -L 16M -T vg/pool")
    ok(sim, "lvcreate -V 320M -T vg/pool -n t")
    ok(sim, "lvcreate -L 100M -n other vg")
    ok(sim, "dd if=/dev/zero of=/dev/vg/other bs=1M count=100 oflag=direct status=none")
    data = os.urandom(40 << 20)
    (tmp_path / "src").write_bytes(data)
    ok(sim, f"dd if={tmp_path / 'src'} of=/dev/vg/t bs=40M count=1 oflag=direct status=none")
    assert len(sim.state.vgs["vg"].lvs["pool_tdata"].segments) == 2
    assert sim.read("/dev/vg/t", 0, 40 << 20) == data
    assert sim.read("/dev/vg/other", 0, 100 << 20) == bytes(100 << 20)


def test_a_write_queued_on_a_full_pool_fails_after_the_timeout(sim: SimBackend) -> None:
    pool(sim, conf=None, size="40M")
    start = sim.state.clock
    result = sim.run(
        ["dd", "if=/dev/urandom", "of=/dev/vg/t", "bs=1M", "count=44", "oflag=direct", "status=none"]
    )
    assert result.rc == 1 and "No space left on device" in result.stderr
    assert sim.state.clock - start == 60
