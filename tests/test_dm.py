"""Partitions and device-mapper: sfdisk, kpartx, dmsetup, and the origin's VM-disk backup."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from simhost import SimHost

from lvsim.core.model import GiB

BUSY = "device-mapper: remove ioctl on {}  failed: Device or resource busy\nCommand failed.\n"


@pytest.fixture
def sim(sim: type[SimHost]) -> SimHost:
    """A VG on one 4 GiB disk and a 1 GiB LV `vm-disk` (the tests partition it)."""
    host = sim(4 * GiB).with_vg()
    host.ok("lvcreate -L 1G -n vm-disk vg")
    return host


def test_sfdisk_writes_a_dos_label(sim: SimHost) -> None:
    out = sim("sfdisk", "/dev/vg/vm-disk", stdin="label: dos\n,,L\n")
    lines = out.stdout.splitlines()
    assert lines[:7] == [
        "Checking that no-one is using this disk right now ... OK",
        "",
        "Disk /dev/vg/vm-disk: 1 GiB, 1073741824 bytes, 2097152 sectors",
        "Units: sectors of 1 * 512 = 512 bytes",
        "Sector size (logical/physical): 512 bytes / 512 bytes",
        "I/O size (minimum/optimal): 512 bytes / 512 bytes",
        "",
    ]
    assert "/dev/vg/vm-disk1: Created a new partition 1 of type 'Linux' and of size 1023 MiB." in lines
    assert "Device           Boot Start     End Sectors  Size Id Type" in lines
    assert "/dev/vg/vm-disk1       2048 2097151 2095104 1023M 83 Linux" in lines
    assert out.stderr == "Re-reading the partition table failed.: Invalid argument\n"
    label_id = next(x for x in lines if x.startswith("Disk identifier: "))[len("Disk identifier: 0x") :]
    assert sim("blkid", "/dev/vg/vm-disk").stdout == f'/dev/vg/vm-disk: PTUUID="{label_id}" PTTYPE="dos"\n'
    assert sim("sfdisk", "-d", "/dev/vg/vm-disk").stdout.endswith(
        "/dev/vg/vm-disk1 : start=        2048, size=     2095104, type=83\n"
    )


def test_kpartx_names_and_dmsetup(sim: SimHost) -> None:
    sim("sfdisk", "/dev/vg/vm-disk", stdin="label: dos\nstart=2048, size=100M, type=83\n,,8e\n")
    assert sim("kpartx", "-l", "/dev/vg/vm-disk").stdout == (
        "vg-vm--disk1 : 0 204800 /dev/vg/vm-disk 2048\nvg-vm--disk2 : 0 1890304 /dev/vg/vm-disk 206848\n"
    )
    assert sim("kpartx", "-a", "-v", "/dev/mapper/vg-vm--disk").stdout == (
        "add map vg-vm--disk1 (254:1): 0 204800 linear 254:0 2048\n"
        "add map vg-vm--disk2 (254:2): 0 1890304 linear 254:0 206848\n"
    )
    assert (
        sim("dmsetup", "ls").stdout == "vg-vm--disk\t(254:0)\nvg-vm--disk1\t(254:1)\nvg-vm--disk2\t(254:2)\n"
    )
    info = sim("dmsetup", "info", "vg-vm--disk").stdout
    assert "Open count:        2\n" in info and "Major, minor:      254, 0\n" in info
    assert info.startswith("Name:              vg-vm--disk\nState:             ACTIVE\n")
    assert (
        sim("lvremove", "-f", "vg/vm-disk", rc=5).stderr
        == "  Logical volume vg/vm-disk is used by another device.\n"
    )
    assert sim("dmsetup", "remove", "vg-vm--disk", rc=1).stderr == BUSY.format("vg-vm--disk")
    assert sim("kpartx", "-d", "-v", "/dev/vg/vm-disk").stdout == (
        "del devmap : vg-vm--disk1\ndel devmap : vg-vm--disk2\n"
    )
    assert sim.state.vgs["vg"].lvs["vm-disk"].open_count == 0
    assert sim("dmsetup", "info", "-c", "-o", "name,open", "--sort", "name", "vg-vm--disk").stdout == (
        "Name        Open\nvg-vm--disk    0\n"
    )
    assert sim("dmsetup", "info", "-c", "--noheadings", "-o", "name").stdout == "vg-vm--disk\n"
    assert sim("dmsetup", "info", "nope", rc=1).stderr == "Device does not exist.\nCommand failed.\n"
    assert sim("dmsetup", "remove", "nope", rc=1).stderr == (
        "device-mapper: remove ioctl on nope  failed: No such device or address\nCommand failed.\n"
    )


def test_workflow2_vm_disk_backup(sim: SimHost, tmp_path: Path) -> None:
    """The origin's VM-disk backup: bc-sized snapshot, kpartx -s -a, mount -t auto -o ro, rsync, dmsetup remove x3."""
    sim("sfdisk", "/dev/vg/vm-disk", stdin="label: dos\n,,L\n")
    sim("kpartx", "-a", "/dev/vg/vm-disk")
    sim("mkfs.ext4", "-q", "/dev/mapper/vg-vm--disk1")
    live, snapdir, backup = tmp_path / "live", tmp_path / "snap", tmp_path / "backup"
    for d in (live, snapdir, backup):
        d.mkdir()
    sim("mount", "/dev/mapper/vg-vm--disk1", str(live))
    (live / "etc").mkdir()
    (live / "etc" / "hostname").write_text("vm1\n")
    (live / "disk.img").write_bytes(os.urandom(200_000))
    (backup / "stale").write_text("deleted by rsync --delete\n")
    size = sim("lvs", "--noheadings", "--units", "m", "-o", "lv_size", "vg/vm-disk").stdout.strip()
    assert size == "1024.00m"
    snap_mb = int(float(size[:-1]) * 20 / 100)
    sim("lvcreate", "-s", "-n", "vm-snap0", "-L", f"{snap_mb}m", "vg/vm-disk")
    (live / "etc" / "hostname").write_text("changed after the snapshot\n")
    sim("kpartx", "-s", "-a", "/dev/mapper/vg-vm--snap0")
    sim("mount", "-t", "auto", "-o", "ro", "/dev/mapper/vg-vm--snap0p1", str(snapdir))
    subprocess.run(["rsync", "-aq", "--delete", f"{snapdir}/", f"{backup}/"], check=True)
    assert sorted(os.listdir(backup)) == ["disk.img", "etc", "lost+found"]
    assert (backup / "etc" / "hostname").read_text() == "vm1\n"
    assert (backup / "disk.img").read_bytes() == (live / "disk.img").read_bytes()
    assert sim("dmsetup", "remove", "vg-vm--snap0p1", rc=1).stderr == BUSY.format("vg-vm--snap0p1")
    sim("umount", str(snapdir))
    assert sim("dmsetup", "remove", "vg-vm--snap0", rc=1).stderr == BUSY.format("vg-vm--snap0")
    for name in ("vg-vm--snap0p1", "vg-vm--snap0"):
        sim("dmsetup", "remove", name)
    assert sim("dmsetup", "ls").stdout == (
        "vg-vm--disk\t(254:0)\nvg-vm--disk-real\t(254:2)\nvg-vm--disk1\t(254:1)\nvg-vm--snap0-cow\t(254:3)\n"
    )
    sim("dmsetup", "remove", "vg-vm--snap0-cow")
    assert (
        sim("lvremove", "-f", "vg/vm-snap0").stdout == '  Logical volume "vm-snap0" successfully removed.\n'
    )
    assert sim("dmsetup", "ls").stdout == "vg-vm--disk\t(254:0)\nvg-vm--disk1\t(254:1)\n"
    sim("umount", str(live))
    sim("kpartx", "-d", "/dev/vg/vm-disk")
    assert sim("lvremove", "-f", "vg/vm-disk").rc == 0
