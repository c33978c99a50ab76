"""A full pool comes back to write mode when removing a thin volume frees blocks (seen on real LVM)."""

from __future__ import annotations

import shlex

from backends.sim import SimBackend


def test_removing_a_thin_volume_ends_out_of_data() -> None:
    b = SimBackend()
    disk = b.add_disk(256 * 2**20)
    for cmd in (
        f"vgcreate vg {disk}",
        "lvcreate -L 64M -T vg/pool --errorwhenfull y",
        "lvcreate -V 64M -T vg/pool -n a",
        "lvcreate -V 64M -T vg/pool -n b",
        "dd if=/dev/zero of=/dev/vg/a bs=1M count=48 oflag=direct status=none",
    ):
        assert b.run(shlex.split(cmd)).rc == 0, cmd
    full = b.run(shlex.split("dd if=/dev/zero of=/dev/vg/b bs=1M count=32 oflag=direct status=none"))
    assert full.rc == 1 and "No space left on device" in full.stderr
    assert b.report("lv", "-o", "lv_health_status,data_percent", "vg/pool")[0] == {
        "lv_health_status": "out_of_data",
        "data_percent": "100.00",
    }
    assert b.run(["lvremove", "-f", "vg/b"]).rc == 0
    assert b.report("lv", "-o", "lv_health_status,data_percent", "vg/pool")[0] == {
        "lv_health_status": "",
        "data_percent": "75.00",
    }
