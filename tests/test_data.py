"""The content store and the data path: reads return what was written, snapshots are point in time."""

from __future__ import annotations

import json
import random
import shlex
from copy import deepcopy
from pathlib import Path

import pytest

from backends.sim import SimBackend
from lvsim.core import content, datapath, mapping, store, usage
from lvsim.core.content import Content, Generated
from lvsim.core.model import Disk, MiB, State


def setup(cmds: list[str], disk_mib: int = 400) -> tuple[SimBackend, State]:
    b = SimBackend()
    disk = b.add_disk(disk_mib * MiB)
    for cmd in ["pvcreate DISK", "vgcreate vg DISK", *cmds]:
        res = b.run(shlex.split(cmd.replace("DISK", disk)))
        assert res.rc == 0, (cmd, res.stderr)
    return b, b.state


def test_content_matches_a_bytearray_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(content, "_LOAD", 4)  # many small blocks: splits and cross-block writes
    rng = random.Random(7)
    store = content.Store()
    device = Content()
    model = bytearray(1 << 16)
    for _ in range(3000):
        off = rng.randrange(0, 1 << 16)
        n = rng.randrange(0, (1 << 16) - off + 1) if rng.random() < 0.05 else rng.randrange(0, 300)
        n = min(n, (1 << 16) - off)
        if rng.random() < 0.3:
            payload: content.Payload = Generated(n)
            model[off : off + n] = bytes(n)
        else:
            raw = rng.randbytes(n)
            payload = raw
            model[off : off + n] = raw
        rels = store.describe(payload)
        device.put(off, off + n, datapath.clip(rels, 0, n, off))
    got = store.materialise([(s, e, k, a, b) for s, e, k, a, b in device.extents(0, 1 << 16)], 1 << 16)
    assert got == bytes(model)
    again = Content.decode(device.encode())
    assert list(again.extents(0, 1 << 16)) == list(device.extents(0, 1 << 16))


def test_generated_data_costs_one_extent_per_write() -> None:
    b, state = setup(["lvcreate -L 100M -n lin vg"])
    dev = datapath.open_device(state, "/dev/vg/lin", write=True)
    for i in range(100):
        dev.write(i * MiB, content.urandom(state, 4096))
    dev.write(0, content.zeros(100 * MiB))  # zeroes punch holes
    dev.write(0, content.urandom(state, 100 * MiB))
    assert len(content.store_of(state).contents["/dev/loop0"]) == 1
    assert b.read("/dev/vg/lin", 5 * MiB, 4) != bytes(4)


def test_write_then_read_through_linear_and_mapper_names() -> None:
    b, state = setup(["lvcreate -L 8M -n my-lv vg"])
    b.write("/dev/vg/my-lv", 100, b"hello")
    assert b.read("/dev/vg/my-lv", 98, 9) == b"\0\0hello\0\0"
    assert b.read("/dev/mapper/vg-my--lv", 100, 5) == b"hello"
    pv = state.pvs["/dev/loop0"]
    seg = state.vgs["vg"].lvs["my-lv"].segments[0]
    disk_off = pv.pe_start + seg.pe_start * state.vgs["vg"].extent_size + 100
    assert b.read("/dev/loop0", disk_off, 5) == b"hello"
    assert b.read("/dev/vg/my-lv", 8 * MiB - 2, 10) == bytes(2)  # short at the end


def test_thin_chunk_allocation_trace() -> None:
    """lvm-semantics §5.3: the VM trace of a 52 MiB thin with 64 KiB chunks."""
    b, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 50M -T vg/pool -n t1"])
    vg = state.vgs["vg"]

    def used() -> int:
        return usage.pool_data_usage(state, vg, vg.lvs["pool"])[0]

    b.write("/dev/vg/t1", 0, b"a" * 4096)
    assert used() == 1
    b.write("/dev/vg/t1", 4096, b"b" * 4096)
    assert used() == 1
    b.write("/dev/vg/t1", 65536, b"c" * 512)
    assert used() == 2
    b.write("/dev/vg/t1", 126976, b"d" * 8192)
    assert used() == 3
    assert b.read("/dev/vg/t1", 0, 20 * MiB)[:8192] == b"a" * 4096 + b"b" * 4096
    assert used() == 3
    datapath.write(state, "/dev/vg/t1", 100 * 65536, content.zeros(65536))
    assert used() == 4
    datapath.write(state, "/dev/vg/t1", 10 * MiB, content.urandom(state, 10 * MiB))
    assert used() == 164
    assert b.read("/dev/vg/t1", 65536, 1024) == b"c" * 512 + bytes(512)  # zeroed rest of chunk
    b.discard("/dev/vg/t1", 0, 4096)
    assert used() == 164
    b.discard("/dev/vg/t1", 0, 65536)
    assert used() == 163
    assert b.read("/dev/vg/t1", 0, 4) == bytes(4)


def test_thin_snapshot_reads_point_in_time_data() -> None:
    b, _state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 20M -T vg/pool -n th"])
    b.write("/dev/vg/th", 0, b"old" * 1000)
    assert b.run(shlex.split("lvcreate -s vg/th -n s1 -kn")).rc == 0
    b.write("/dev/vg/th", 3, b"NEW")
    assert b.read("/dev/vg/s1", 0, 9) == b"oldoldold"
    assert b.read("/dev/vg/th", 0, 9) == b"oldNEWold"
    b.write("/dev/vg/s1", 0, b"S")
    assert b.read("/dev/vg/s1", 0, 4) == b"Sldo"
    assert b.read("/dev/vg/th", 0, 4) == b"oldN"


def test_classic_snapshot_is_point_in_time_and_counts_exceptions() -> None:
    b, state = setup(["lvcreate -L 100M -n lv vg"])
    b.write("/dev/vg/lv", 0, b"before" * 2000)
    assert b.run(shlex.split("lvcreate -s -L 20M -n s1 vg/lv")).rc == 0
    vg = state.vgs["vg"]
    datapath.write(state, "/dev/vg/lv", 0, content.urandom(state, 1282 * 4096))
    assert mapping.cow_exception_count(vg.lvs["s1"]) == 1282
    assert b.read("/dev/vg/s1", 0, 12) == b"beforebefore"
    assert b.read("/dev/vg/s1", 1282 * 4096, 8) == bytes(8)
    b.write("/dev/vg/s1", 2000 * 4096, b"x")
    assert mapping.cow_exception_count(vg.lvs["s1"]) == 1283
    assert b.read("/dev/vg/lv", 2000 * 4096, 1) == b"\0"
    assert b.read("/dev/mapper/vg-lv-real", 0, 6) != b"before"


def test_snapshot_overflow_invalidates_it_and_origin_keeps_working() -> None:
    b, state = setup(["lvcreate -L 8M -n lin vg", "lvcreate -s -L 8M -n snap vg/lin"])
    datapath.write(state, "/dev/vg/lin", 0, content.urandom(state, 8 * MiB))
    assert mapping.cow_invalid(state.vgs["vg"].lvs["snap"])
    with pytest.raises(OSError) as err:
        b.read("/dev/vg/snap", 0, 4096)
    assert err.value.strerror == "Input/output error"
    b.write("/dev/vg/lin", 0, b"ok")
    assert b.read("/dev/vg/lin", 0, 2) == b"ok"


def test_thin_pool_full_errors_at_once_or_after_the_queue_timeout() -> None:
    _b, state = setup(
        [
            "lvcreate -L 20M --thinpool pe vg --errorwhenfull y",
            "lvcreate -V 40M -T vg/pe -n t",
            "lvcreate -L 20M --thinpool pq vg",
            "lvcreate -V 40M -T vg/pq -n q",
        ]
    )
    clock = state.clock
    with pytest.raises(datapath.MappingError) as err:
        datapath.write(state, "/dev/vg/t", 0, content.urandom(state, 30 * MiB))
    assert (err.value.errno, err.value.done, state.clock) == (28, 20 * MiB, clock)
    dev = datapath.open_device(state, "/dev/vg/q", write=True)
    with pytest.raises(datapath.MappingError):
        dev.write(0, content.urandom(state, 30 * MiB))
    assert (dev.waited, state.clock) == (60.0, clock + 60.0)


def test_inactive_and_missing_devices() -> None:
    b, state = setup(["lvcreate -L 8M -n a vg", "lvcreate -L 8M -n b vg", "lvchange -an vg/b"])
    with pytest.raises(FileNotFoundError):
        b.read("/dev/vg/b", 0, 1)
    with pytest.raises(OSError) as err:
        datapath.open_device(state, "/dev/vg/b", write=True, direct=True)
    assert err.value.strerror == "Invalid argument"  # /dev/vg exists: O_CREAT made a tmpfs file
    b.run(shlex.split("lvchange -an vg/a"))
    with pytest.raises(FileNotFoundError):
        b.write("/dev/vg/b", 0, b"x")


def test_read_only_lv_refuses_writes() -> None:
    b, _state = setup(["lvcreate -L 8M -n ro vg", "lvchange -pr vg/ro"])
    with pytest.raises(OSError) as err:
        b.write("/dev/vg/ro", 0, b"x" * 512)
    assert err.value.strerror == "Operation not permitted"


def test_state_round_trip_with_inline_and_file_blobs(tmp_path: Path) -> None:
    path = tmp_path / "state"
    big = random.Random(1).randbytes(content.INLINE_BLOB + 1)
    with store.transaction(path) as state:
        state.disks["/dev/vdb"] = Disk("/dev/vdb", 64 * MiB)
        datapath.write(state, "/dev/vdb", 0, b"small")
        datapath.write(state, "/dev/vdb", MiB, big)
        datapath.write(state, "/dev/vdb", 8 * MiB, content.urandom(state, MiB))
        expect = datapath.read(state, "/dev/vdb", 8 * MiB, MiB)
    raw = json.loads(path.read_text())
    assert len(path.read_text()) < 4096
    assert any(v.startswith("file:") for v in raw["data"]["blobs"].values())
    with store.transaction(path) as state:
        assert datapath.read(state, "/dev/vdb", 0, 5) == b"small"
        assert datapath.read(state, "/dev/vdb", MiB, len(big)) == big
        assert datapath.read(state, "/dev/vdb", 8 * MiB, MiB) == expect


def test_a_deep_copy_of_the_state_keeps_its_own_content() -> None:
    b, state = setup(["lvcreate -L 8M -n lin vg"])
    b.write("/dev/vg/lin", 0, b"before")
    copy = deepcopy(state)
    b.write("/dev/vg/lin", 0, b"after!")
    assert datapath.read(copy, "/dev/vg/lin", 0, 6) == b"before"
    assert json.loads(json.dumps(state.to_json()))["data"] == {}  # not flushed: nothing saved yet
    content.flush(state)
    assert State.from_json(json.loads(json.dumps(state.to_json()))).data["disks"]


def test_writes_across_segments_and_disks() -> None:
    b = SimBackend()
    d1, d2, d3 = (b.add_disk(100 * MiB) for _ in range(3))
    setup_cmds = [f"pvcreate {d1} {d2} {d3}", f"vgcreate vg {d1} {d2} {d3}"]
    setup_cmds += [f"lvcreate -l 20 -n lv1 vg {d1}", f"lvcreate -l 20 -n lv2 vg {d2}"]
    for cmd in [*setup_cmds, f"lvcreate -l 8 -n big vg {d1} {d2}"]:
        assert b.run(shlex.split(cmd)).rc == 0, cmd
    big = b.state.vgs["vg"].lvs["big"]
    assert len({seg.pv for seg in big.segments}) == 2
    payload = random.Random(3).randbytes(8 * MiB)
    b.write("/dev/vg/big", 14 * MiB, payload)
    assert b.read("/dev/vg/big", 14 * MiB, 8 * MiB) == payload
    assert b.run(shlex.split("lvcreate -L 8M -T vg/pool")).rc == 0
    assert b.run(shlex.split("lvcreate -V 40M -T vg/pool -n t")).rc == 0
    assert b.run(shlex.split("lvcreate -l 2 -n blocker vg")).rc == 0
    assert b.run(shlex.split("lvextend -L +8M vg/pool")).rc == 0
    assert len(b.state.vgs["vg"].lvs["pool_tdata"].segments) == 2
    datapath.write(b.state, "/dev/vg/t", 0, payload)
    assert b.read("/dev/vg/t", 0, 8 * MiB) == payload


def test_kpartx_partitions_and_hand_removed_devices() -> None:
    b, state = setup(["lvcreate -L 100M -n vm-disk vg"])
    assert b.run(["sfdisk", "/dev/vg/vm-disk"], "label: dos\nstart=2048, size=50M, type=83\n,,8e\n").rc == 0
    assert b.run(["kpartx", "-a", "/dev/vg/vm-disk"]).rc == 0
    b.write("/dev/mapper/vg-vm--disk2", 512, b"second")
    start = 2048 * 512 + 50 * MiB
    assert b.read("/dev/vg/vm-disk", start + 512, 6) == b"second"
    assert datapath.open_device(state, "/dev/mapper/vg-vm--disk1").size == 50 * MiB
    assert b.run(["kpartx", "-d", "/dev/vg/vm-disk"]).rc == 0
    assert b.run(["dmsetup", "remove", "vg-vm--disk"]).rc == 0
    with pytest.raises(FileNotFoundError):
        b.read("/dev/vg/vm-disk", 0, 1)


def test_cow_snapshot_of_a_thin_origin() -> None:
    b, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 20M -T vg/pool -n th2"])
    b.write("/dev/vg/th2", 8192, b"old")
    assert b.run(shlex.split("lvcreate -s -L 8M vg/th2 -n cow1")).rc == 0
    b.write("/dev/vg/th2", 8192, b"new")
    assert (b.read("/dev/vg/cow1", 8192, 3), b.read("/dev/vg/th2", 8192, 3)) == (b"old", b"new")
    assert mapping.cow_exception_count(state.vgs["vg"].lvs["cow1"]) == 1


def test_merging_a_cow_snapshot_of_a_thin_origin_restores_the_snapshot_data() -> None:
    """lvconvert --merge of a classic snapshot whose origin is a thin volume copies the snapshot's
    chunks back over the origin (the origin reads as the snapshot did)."""
    b, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 40M -T vg/pool -n thin"])
    thin = datapath.open_device(state, "/dev/vg/thin", write=True)
    thin.write(0, b"before" * 1000)
    res = b.run(shlex.split("lvcreate -s -L 8M -n snap vg/thin"))
    assert res.rc == 0, res.stderr
    datapath.open_device(state, "/dev/vg/snap", write=True).write(4096, b"in the snapshot")
    datapath.open_device(state, "/dev/vg/thin", write=True).write(0, b"after" * 1000)
    expected = datapath.open_device(state, "/dev/vg/snap").read(0, 64 * 1024)
    res = b.run(shlex.split("lvconvert --merge vg/snap"))
    assert res.rc == 0, res.stderr
    assert datapath.open_device(state, "/dev/vg/thin").read(0, 64 * 1024) == expected
    assert expected[:6] == b"before" and expected[4096:4111] == b"in the snapshot"
