"""dd and blkdiscard: coreutils' and util-linux's messages, as real runs in the VM printed them."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.backend import Result
from lvsim.core.model import MiB
from lvsim.tools.dd import human_int, parse_dd_number, transfer_line

TIMING = re.compile(r", [0-9.e-]+ s, [0-9.]+ [kMG]?B/s$", re.M)


@pytest.fixture()
def sim(monkeypatch: pytest.MonkeyPatch) -> SimBackend:
    monkeypatch.setenv("LC_ALL", "C")
    b = SimBackend()
    disk = b.add_disk(300 * MiB)
    for cmd in [
        f"pvcreate {disk}",
        f"vgcreate vg {disk}",
        "lvcreate -L 20M --thinpool pool vg --errorwhenfull y",
        "lvcreate -V 40M -T vg/pool -n t",
        "lvcreate -L 8M -n lin vg",
    ]:
        assert b.run(shlex.split(cmd)).rc == 0, cmd
    return b


def run(b: SimBackend, cmd: str) -> Result:
    res = b.run(shlex.split(cmd))
    return Result(res.argv, res.rc, res.stdout, TIMING.sub(", T", res.stderr))


@pytest.mark.parametrize(
    ("text", "value"),
    [("1", 1), ("1w", 2), ("1b", 512), ("1kB", 1000), ("1K", 1024), ("1KiB", 1024), ("1xM", MiB), ("2x3", 6)],
)
def test_dd_numbers(text: str, value: int) -> None:
    assert parse_dd_number(text) == value


@pytest.mark.parametrize(
    ("n", "line"),
    [
        (1, "1 byte copied"),
        (512, "512 bytes copied"),
        (1000, "1000 bytes (1.0 kB) copied"),
        (1024, "1024 bytes (1.0 kB, 1.0 KiB) copied"),
        (31457280, "31457280 bytes (31 MB, 30 MiB) copied"),
        (1048576000, "1048576000 bytes (1.0 GB, 1000 MiB) copied"),
        (2147483648, "2147483648 bytes (2.1 GB, 2.0 GiB) copied"),
    ],
)
def test_transfer_line_sizes(n: int, line: str) -> None:
    assert transfer_line(n, 0.5).startswith(line + ", 0.5 s, ")
    assert human_int(0, 1000) == "0 B"


def test_full_pool_with_direct_io(sim: SimBackend) -> None:
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=30 oflag=direct")
    assert (res.rc, res.stdout) == (1, "")
    assert res.stderr == (
        "dd: error writing '/dev/vg/t': No space left on device\n"
        "21+0 records in\n20+0 records out\n20971520 bytes (21 MB, 20 MiB) copied, T\n"
    )
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=64K count=3 seek=500 oflag=direct status=noxfer")
    assert (
        res.stderr
        == "dd: error writing '/dev/vg/t': No space left on device\n1+0 records in\n0+0 records out\n"
    )
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=3 seek=25 oflag=direct status=none")
    assert (res.rc, res.stderr) == (1, "dd: error writing '/dev/vg/t': No space left on device\n")


def test_full_pool_buffered_fails_only_on_fsync(sim: SimBackend) -> None:
    run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=20 oflag=direct")
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=3 seek=25")
    assert (res.rc, res.stderr) == (
        0,
        "3+0 records in\n3+0 records out\n3145728 bytes (3.1 MB, 3.0 MiB) copied, T\n",
    )
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=3 seek=25 conv=fsync")
    assert res.rc == 1
    assert res.stderr.startswith("dd: fsync failed for '/dev/vg/t': Input/output error\n3+0 records in\n")


def test_queue_mode_waits_sixty_simulated_seconds(sim: SimBackend) -> None:
    assert sim.run(shlex.split("lvcreate -L 20M --thinpool pq vg")).rc == 0
    assert sim.run(shlex.split("lvcreate -V 40M -T vg/pq -n q")).rc == 0
    clock = sim.state.clock
    res = sim.run(shlex.split("dd if=/dev/urandom of=/dev/vg/q bs=1M count=30 oflag=direct"))
    assert res.rc == 1 and sim.state.clock == clock + 60
    assert re.search(r"20971520 bytes \(21 MB, 20 MiB\) copied, 60\.\d+ s, 3\d\d kB/s\n$", res.stderr)


def test_linear_device_end_seek_and_skip(sim: SimBackend) -> None:
    res = run(sim, "dd if=/dev/zero of=/dev/vg/lin bs=1M count=100")
    assert res.stderr.startswith(
        "dd: error writing '/dev/vg/lin': No space left on device\n9+0 records in\n8+0"
    )
    res = run(sim, "dd if=/dev/zero of=/dev/vg/lin bs=1M count=2 seek=9 oflag=direct")
    assert res.stderr == (
        "dd: /dev/vg/lin: cannot seek: Invalid argument\n0+0 records in\n0+0 records out\n0 bytes copied, T\n"
    )
    res = run(sim, "dd if=/dev/vg/lin of=/dev/null bs=1M skip=10")
    assert res.stderr.startswith("dd: /dev/vg/lin: cannot skip: Invalid argument\n0+0 records in\n")
    res = run(sim, "dd if=/dev/vg/lin of=/dev/null bs=3M")
    assert res.stderr.startswith("2+1 records in\n2+1 records out\n8388608 bytes (8.4 MB, 8.0 MiB) copied")
    res = run(sim, "dd if=/dev/zero of=/dev/vg/lin bs=100 count=1 oflag=direct")
    assert res.stderr.startswith("dd: error writing '/dev/vg/lin': Invalid argument\n1+0 records in\n0+0")


def test_open_failures(sim: SimBackend) -> None:
    res = run(sim, "dd if=/dev/zero of=/dev/vg/nonexist bs=4096 count=1 oflag=direct")
    assert (res.rc, res.stderr) == (1, "dd: failed to open '/dev/vg/nonexist': Invalid argument\n")
    res = run(sim, "dd if=/dev/zero of=/dev/other/x bs=4096 count=1")
    assert (res.rc, res.stderr) == (1, "dd: failed to open '/dev/other/x': No such file or directory\n")
    assert sim.run(shlex.split("lvchange -pr vg/lin")).rc == 0
    res = run(sim, "dd if=/dev/zero of=/dev/vg/lin bs=4096 count=1 oflag=direct")
    assert res.stderr.startswith("dd: error writing '/dev/vg/lin': Operation not permitted\n1+0 records in\n")


def test_operand_errors(sim: SimBackend) -> None:
    assert run(sim, "dd bs=0").stderr == "dd: invalid number: '0'\n"
    assert (
        run(sim, "dd xyz=1").stderr
        == "dd: unrecognized operand 'xyz=1'\nTry 'dd --help' for more information.\n"
    )
    assert run(sim, "dd oflag=foo").stderr.startswith("dd: invalid output flag: 'foo'\n")


def test_copy_device_to_device_and_file(sim: SimBackend, tmp_path: Path) -> None:
    src = tmp_path / "in.bin"
    src.write_bytes(b"0123456789" * 1000)
    res = run(sim, f"dd if={src} of=/dev/vg/lin bs=4096 conv=notrunc")
    assert res.stderr.startswith("2+1 records in\n2+1 records out\n10000 bytes (10 kB, 9.8 KiB) copied")
    assert run(sim, "dd if=/dev/vg/lin of=/dev/vg/t bs=1M count=1 oflag=direct").rc == 0
    out = tmp_path / "out.bin"
    assert run(sim, f"dd if=/dev/vg/t of={out} bs=10000 count=1").rc == 0
    assert out.read_bytes() == src.read_bytes()


def test_blkdiscard_messages(sim: SimBackend) -> None:
    cases = {
        "blkdiscard -o 100 /dev/vg/lin": "blkdiscard: /dev/vg/lin: offset 100 is not aligned to sector size 512\n",
        "blkdiscard -l 100 /dev/vg/lin": "blkdiscard: /dev/vg/lin: length 100 is not aligned to sector size 512\n",
        "blkdiscard -p 100 /dev/vg/lin": "blkdiscard: /dev/vg/lin: length 100 is not aligned to sector size 512\n",
        "blkdiscard -o 9M /dev/vg/lin": "blkdiscard: /dev/vg/lin: offset is greater than device size\n",
        "blkdiscard -o abc /dev/vg/lin": "blkdiscard: failed to parse offset: 'abc': Invalid argument\n",
        "blkdiscard /dev/vg/nonexist": "blkdiscard: cannot open /dev/vg/nonexist: No such file or directory\n",
        "blkdiscard": "blkdiscard: no device specified\n",
        "blkdiscard -q /dev/vg/t": "blkdiscard: invalid option -- 'q'\nTry 'blkdiscard --help' for more information.\n",
        "blkdiscard -s /dev/vg/t": "blkdiscard: /dev/vg/t: BLKSECDISCARD ioctl failed: Operation not supported\n",
        "blkdiscard /dev/loop0": "blkdiscard: cannot open /dev/loop0: Device or resource busy\n",
    }
    for cmd, err in cases.items():
        assert (run(sim, cmd).rc, run(sim, cmd).stderr) == (1, err), cmd
    res = run(sim, "blkdiscard -v -o 1M -l 2M /dev/vg/t")
    assert (res.rc, res.stdout) == (0, "/dev/vg/t: Discarded 2097152 bytes from the offset 1048576\n")
    assert run(sim, "blkdiscard -o 8M -v /dev/vg/lin").stdout == ""


def test_blkdiscard_frees_thin_chunks(sim: SimBackend) -> None:
    from lvsim.core import usage

    vg = sim.state.vgs["vg"]
    run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=4 oflag=direct")
    assert usage.pool_data_usage(sim.state, vg, vg.lvs["pool"])[0] == 64
    assert run(sim, "blkdiscard -o 0 -l 65536 /dev/vg/t").rc == 0
    assert usage.pool_data_usage(sim.state, vg, vg.lvs["pool"])[0] == 63
    assert run(sim, "blkdiscard /dev/vg/t").rc == 0
    assert usage.pool_data_usage(sim.state, vg, vg.lvs["pool"])[0] == 0


def test_invalid_snapshot_gives_io_errors(sim: SimBackend) -> None:
    assert sim.run(shlex.split("lvcreate -s -L 8M -n snap vg/lin")).rc == 0
    assert run(sim, "dd if=/dev/urandom of=/dev/vg/lin bs=1M count=8 oflag=direct").rc == 0
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/snap bs=1M count=1 oflag=direct")
    assert res.stderr == (
        "dd: error writing '/dev/vg/snap': Input/output error\n1+0 records in\n0+0 records out\n0 bytes copied, T\n"
    )
    res = run(sim, "dd if=/dev/vg/snap of=/dev/null bs=1M")
    assert res.stderr == (
        "dd: error reading '/dev/vg/snap': Input/output error\n0+0 records in\n0+0 records out\n0 bytes copied, T\n"
    )


def test_vm_checked_corner_cases(sim: SimBackend) -> None:
    """Seen in the VM: sync writes to a full pool, the pool's device, short writes, busy layers."""
    run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=20 oflag=direct status=none")
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=3 seek=25 oflag=dsync")
    assert res.stderr.startswith("dd: error writing '/dev/vg/t': Input/output error\n1+0 records in\n0+0")
    res = run(sim, "dd if=/dev/urandom of=/dev/vg/t bs=1M count=3 seek=25 conv=fdatasync")
    assert res.stderr.startswith("dd: fdatasync failed for '/dev/vg/t': Input/output error\n3+0 records in\n")
    res = run(sim, "dd if=/dev/zero of=/dev/mapper/vg-pool bs=4096 count=1 oflag=direct")
    assert res.stderr.startswith("dd: error writing '/dev/mapper/vg-pool': Operation not permitted\n")
    res = run(sim, "dd if=/dev/zero of=/dev/vg/lin bs=3M count=3")
    assert res.stderr.startswith(
        "dd: error writing '/dev/vg/lin': No space left on device\n3+0 records in\n2+0 records out\n8388608 bytes"
    )
    assert run(sim, "dd if=/dev/vg/lin of=/dev/null bs=1M skip=8").stderr.startswith("0+0 records in\n")
    res = run(sim, "dd if=/dev/vg/lin of=/dev/null bs=1000 count=1 iflag=direct")
    assert res.stderr.startswith("dd: error reading '/dev/vg/lin': Invalid argument\n0+0 records in\n")
    assert run(sim, "dd if=/dev/zero of=/dev/vg/newfile bs=1M count=1").rc == 0  # a file in /dev/vg
    assert sim.run(shlex.split("lvcreate -s -L 8M -n cs vg/lin")).rc == 0
    res = run(sim, "blkdiscard -v /dev/mapper/vg-lin-real")
    assert res.stderr == "blkdiscard: cannot open /dev/mapper/vg-lin-real: Device or resource busy\n"
    res = run(sim, "blkdiscard -v /dev/vg/cs")
    assert res.stderr == "blkdiscard: /dev/vg/cs: BLKDISCARD ioctl failed: Operation not supported\n"


def test_blkdiscard_warns_about_a_filesystem_and_goes_on(sim: SimBackend) -> None:
    assert sim.run(shlex.split("mkfs.ext4 -q /dev/vg/lin")).rc == 0
    res = run(sim, "blkdiscard -v /dev/vg/lin")
    assert (res.rc, res.stdout) == (0, "/dev/vg/lin: Discarded 8388608 bytes from the offset 0\n")
    assert res.stderr == "blkdiscard: /dev/vg/lin contains existing file system (ext4).\n"
    assert run(sim, "blkdiscard /dev/vg/lin").stderr == ""  # the discard wiped it
