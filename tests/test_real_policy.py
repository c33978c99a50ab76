"""What RealBackend lets a command line touch: the rules, on a made-up host (no root).

The same rules on real devices: tests/test_real_backend.py::test_refuses_what_is_not_its_own (VM)."""

from __future__ import annotations

import pytest

from backends.real_policy import Owned, refusal

BLOCKS = {"/dev/loop3": "loop3", "/dev/loop3p1": "loop3p1", "/dev/vg/a": "dm-1", "/dev/mapper/vg-a": "dm-1",
          "/dev/loop0": "loop0", "/dev/sda": "sda", "/dev/mapper/host-root": "dm-0", "/dev/zero": "",
          "/dev/vg": ""}  # fmt: skip
OWNED = Owned(
    blocks={"loop3", "dm-1"},
    dm_names={"vg-a"},
    vgs={"vg"},
    workdir="/tmp/lvsim-real-x",
    block_of=lambda path: BLOCKS.get(path, ""),
    devnum_of_block={"loop3": "7:3", "dm-1": "253:1"}.get,  # type: ignore[arg-type]
    host_dm_names=lambda: {"vg-a", "host-root"},
)


def _refusal(cmdline: str, stdin: str = "", host_vgs: tuple[str, ...] = ("hostvg",)) -> str:
    import shlex

    return refusal(shlex.split(cmdline), OWNED, lambda: host_vgs, stdin)


@pytest.mark.parametrize(
    "cmdline",
    [
        "pvcreate /dev/loop3",
        "pvcreate /dev/sda",  # LVM's own filter rejects it: LVM's words, not lvsim's
        "vgcreate vg2 /dev/nonexist",
        "lvcreate -L 4M -n b vg",
        "dd if=/dev/zero of=/dev/vg/a bs=4k count=1 oflag=direct",
        "dd if=/dev/zero of=/dev/vg/new bs=4k count=1",  # a tmpfs file in the VG's directory, as on LVM
        "mkfs.ext4 -q /dev/mapper/vg-a",
        "blkid -s TYPE /dev/vg/a",
        "kpartx -a /dev/loop3",
        "blkid /dev/loop3p1",
        "dmsetup remove vg-a",
        "dmsetup remove vg-gone",  # no such device: dmsetup itself says so, as on any host
        "dmsetup remove /dev/mapper/vg-gone",
        "dmsetup ls",
        "dmsetup info -c -o name --noheadings",
        "dmsetup create extra --table '0 8 linear /dev/loop3 0'",
        "dmsetup create extra --table '0 8 linear 7:3 0'",
        "lvs --config 'activation { thin_pool_autoextend_threshold = 70 }'",
        # OpenStack's lvremove (golden case client-openstack): a devices setting that widens nothing
        "lvremove --config 'activation { retry_deactivation = 1} devices { ignore_suspended_devices = 1}' -f vg/a",
        "cat vg.cfg",  # the golden meta-backup cases print LVM's backup files
        "mountpoint -q /tmp",
        "findmnt -n /dev/vg/a",
        "losetup -f --show /tmp/lvsim-real-x/disks/d.img",
        "losetup -d /dev/loop3",
        "vgcreate vg3 /dev/loop3",
        "vgcreate . /dev/loop3",
    ],
)
def test_allowed(cmdline: str) -> None:
    assert _refusal(cmdline) == ""


@pytest.mark.parametrize(
    ("cmdline", "message"),
    [
        ("rm -rf /", "the real backend runs only LVM and the tools lvsim simulates, not rm"),
        ("dd if=/dev/zero of=/dev/sda bs=1M", "/dev/sda is not a device of this real backend"),
        ("dd if=/dev/loop0 of=/dev/null", "/dev/loop0 is not a device of this real backend"),
        ("blkdiscard /dev/mapper/host-root", "/dev/mapper/host-root is not a device of this real backend"),
        ("mkfs.xfs -f /dev/sda", "/dev/sda is not a device of this real backend"),
        ("dd if=/dev/zero of=/dev/sdz", "/dev/sdz is not a device of this real backend"),
        ("dmsetup remove host-root", "dmsetup remove host-root: not a device-mapper device of this real backend"),
        ("dmsetup remove_all", "dmsetup remove_all would touch every device-mapper device of the host"),
        ("dmsetup create x --table '0 8 linear /dev/sda 0'", "the table names /dev/sda, not a device of this real backend"),
        ("dmsetup create x --table '0 8 linear 8:0 0'", "the table names device 8:0, not one of this real backend"),
        ("lvs --config 'devices { filter = [ \"a|.*|\" ] }'", "--config may not change which devices LVM sees on the real backend"),
        ("lvs --config=devices/global_filter=[]", "--config may not change which devices LVM sees on the real backend"),
        ("pvs --config 'devices { scan = [ \"/\" ] }'", "--config may not change which devices LVM sees on the real backend"),
        ("pvs --config devices/dir=/tmp/x", "--config may not change which devices LVM sees on the real backend"),
        ("vgs --config 'devices/use_devicesfile=1'", "--config may not change which devices LVM sees on the real backend"),
        ("lvm pvscan --config devices/filter=[]", "--config may not change which devices LVM sees on the real backend"),
        ("pvs --devices /dev/sda", "--devices would widen the real backend's device filter"),
        ("vgs --devicesfile other", "--devicesfile would widen the real backend's device filter"),
        ("losetup -f /etc/shadow", "losetup: /etc/shadow is not a file of this real backend's work directory"),
        ("losetup -d /dev/loop0", "/dev/loop0 is not a device of this real backend"),
        ("umount -a", "umount -a would unmount the host's filesystems"),
        ("blkid", "blkid without a device would probe every device of the host"),
        ("rsync -a -e ssh /tmp/a/ host:/b", "rsync option -e is not emulated (lvsim runs local copies only)"),
        ("rsync -a /tmp/a/ host:/b", "rsync to or from another host (host:/b) is not emulated (lvsim runs local copies only)"),
        ("vgcreate hostvg /dev/loop3", "VG name hostvg is taken on this host: a real-backend VG must not share it"),
        ("lvm vgrename vg hostvg", "VG name hostvg is taken on this host: a real-backend VG must not share it"),
    ],
)  # fmt: skip
def test_refused(cmdline: str, message: str) -> None:
    assert _refusal(cmdline) == message


def test_stdin_table_is_checked() -> None:
    assert _refusal("dmsetup create x", stdin="0 8 linear /dev/sda 0\n") == (
        "the table names /dev/sda, not a device of this real backend"
    )
    assert _refusal("dmsetup create x", stdin="0 8 linear /dev/loop3 0\n") == ""


def test_umount_of_a_host_filesystem_is_refused() -> None:
    assert _refusal("umount /") == "/ is not a filesystem on a device of this real backend"


def test_the_tools_are_those_lvsim_simulates() -> None:
    """A tool the simulator runs is one the real backend runs too (a golden case replays it on both)."""
    from backends.real_policy import TOOLS
    from lvsim.dispatch import COMMAND_HOMES

    assert {name for name, home in COMMAND_HOMES.items() if home.startswith("tools.")} == TOOLS


@pytest.mark.parametrize(
    ("name", "vg"),
    [("vg-data", "vg"), ("vg-pool-tpool", "vg"), ("my--vg-lv", "my-vg"), ("vg-a--b", "vg"), ("vg---a", "vg-"),
     ("cryptroot", ""), ("-x", "")],
)  # fmt: skip
def test_the_vg_of_a_device_mapper_name(name: str, vg: str) -> None:
    """The VG names active device-mapper devices hold (a new real-backend VG may not take them)."""
    from backends.real import dm_vg

    assert dm_vg(name) == vg
