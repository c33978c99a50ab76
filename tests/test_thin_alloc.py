"""The thin allocation model: provisioning, sharing with snapshots, discards, exhaustion (lvm-semantics §5-6)."""

from __future__ import annotations

import shlex

from backends.sim import SimBackend
from lvsim.core import mapping, usage
from lvsim.core.model import MiB, State
from lvsim.core.units import format_percent


def setup(cmds: list[str], disk_mib: int = 400) -> tuple[SimBackend, State]:
    b = SimBackend()
    disk = b.add_disk(disk_mib * MiB)
    for cmd in ["pvcreate DISK", "vgcreate vg DISK", *cmds]:
        res = b.run(shlex.split(cmd.replace("DISK", disk)))
        assert res.rc == 0, (cmd, res.stderr)
    return b, b.state


def write(state: State, lv_name: str, first: int, count: int = 1) -> None:
    vg = state.vgs["vg"]
    for chunk in range(first, first + count):
        assert mapping.provision(state, vg, vg.lvs[lv_name], chunk).ok


def pool_pct(state: State, pool: str = "pool") -> str:
    vg = state.vgs["vg"]
    return format_percent(*usage.pool_data_usage(state, vg, vg.lvs[pool]))


def thin_pct(state: State, name: str) -> str:
    vg = state.vgs["vg"]
    lv = vg.lvs[name]
    pool = vg.lvs[lv.pool]
    mapped = usage.thin_mapped_chunks(state, vg, lv)
    return format_percent(mapped * pool.chunk_size, lv.le_count * vg.extent_size)


def test_write_trace_of_a_52mib_thin() -> None:
    _, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 50M -T vg/pool -n t1"])
    vg = state.vgs["vg"]
    t1 = vg.lvs["t1"]
    first = mapping.provision(state, vg, t1, 0)
    assert first.ok and first.new and first.copy_from is None
    again = mapping.provision(state, vg, t1, 0)
    assert again == mapping.Provision(first.block)
    assert thin_pct(state, "t1") == "0.12"
    write(state, "t1", 1, 2)
    write(state, "t1", 100)
    write(state, "t1", 160, 160)
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"]) == (164, 1600)
    assert (pool_pct(state), thin_pct(state, "t1")) == ("10.25", "19.71")
    assert mapping.lookup(state, vg, t1, 5) is None
    assert mapping.pool_block_location(state, vg, vg.lvs["pool"], 3) == ("pool_tdata", 3 * 65536)


def test_discards_free_only_unshared_blocks() -> None:
    _, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 50M -T vg/pool -n th"])
    vg = state.vgs["vg"]
    write(state, "th", 0, 10)
    mapping.discard(state, vg, vg.lvs["th"], 0)
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 9
    res = SimBackend(state).run(["lvcreate", "-s", "vg/th", "-n", "snap"])
    assert res.rc == 0
    mapping.discard(state, vg, vg.lvs["th"], 1)
    assert usage.thin_mapped_chunks(state, vg, vg.lvs["th"]) == 8
    assert usage.thin_mapped_chunks(state, vg, vg.lvs["snap"]) == 9
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 9
    mapping.discard(state, vg, vg.lvs["snap"], 1)
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 8


def test_snapshot_sharing_and_origin_removal() -> None:
    b, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 40M -T vg/pool -n th"])
    vg = state.vgs["vg"]
    write(state, "th", 0, 160)
    assert b.run(["lvcreate", "-s", "vg/th", "-n", "snap1"]).rc == 0
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 160
    assert thin_pct(state, "snap1") == thin_pct(state, "th") == "25.00"
    p = mapping.provision(state, vg, vg.lvs["th"], 5)
    assert p.new and p.copy_from is not None
    assert not mapping.provision(state, vg, vg.lvs["th"], 5).new
    write(state, "snap1", 6)
    write(state, "snap1", 200)
    assert thin_pct(state, "snap1") == "25.16"
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 163
    assert pool_pct(state) == "10.19"
    # a block that only the snapshot still sees is written in place
    assert not mapping.provision(state, vg, vg.lvs["snap1"], 5).new
    assert b.run(["lvcreate", "-s", "vg/snap1", "-n", "snap1s"]).rc == 0
    assert b.run(["lvremove", "-f", "vg/th"]).rc == 0
    # th's new block for chunk 5 and its old block for chunk 6 were exclusive to it
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 161
    assert vg.lvs["snap1"].origin == "" and vg.lvs["snap1"].skip_activation
    assert vg.lvs["snap1s"].origin == "snap1"
    assert b.run(["lvremove", "-f", "vg/snap1"]).rc == 0
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 161
    assert b.run(["lvremove", "-f", "vg/snap1s"]).rc == 0
    assert usage.pool_data_usage(state, vg, vg.lvs["pool"])[0] == 0
    assert vg.lvs["pool"].thin_map["layers"] == {}


def test_error_when_full_fails_at_once() -> None:
    _, state = setup(["lvcreate -L 8M -T vg/pool --errorwhenfull y", "lvcreate -V 40M -T vg/pool -n th"])
    vg = state.vgs["vg"]
    write(state, "th", 0, 128)
    assert mapping.provision(state, vg, vg.lvs["th"], 200).failure == "error"
    assert mapping.provision(state, vg, vg.lvs["th"], 3).ok
    assert usage.pool_health(state, vg, vg.lvs["pool"]) == "out_of_data"


def test_queue_then_timeout_then_error_mode() -> None:
    b, state = setup(["lvcreate -L 8M -T vg/pool", "lvcreate -V 40M -T vg/pool -n th"])
    vg = state.vgs["vg"]
    write(state, "th", 0, 128)
    assert mapping.provision(state, vg, vg.lvs["th"], 200).failure == "queue"
    state.clock += 30
    assert mapping.provision(state, vg, vg.lvs["th"], 200).failure == "queue"
    state.clock += 30
    assert mapping.provision(state, vg, vg.lvs["th"], 200).failure == "error"
    assert mapping.provision(state, vg, vg.lvs["th"], 201).failure == "error"
    assert usage.pool_health(state, vg, vg.lvs["pool"]) == "out_of_data"
    assert b.run(["lvextend", "-L", "+4M", "vg/pool"]).rc == 0
    assert usage.pool_health(state, vg, vg.lvs["pool"]) == ""
    assert mapping.provision(state, vg, vg.lvs["th"], 200).ok


def test_queued_write_completes_after_extend() -> None:
    b, state = setup(["lvcreate -L 8M -T vg/pool", "lvcreate -V 40M -T vg/pool -n th"])
    vg = state.vgs["vg"]
    write(state, "th", 0, 128)
    assert mapping.provision(state, vg, vg.lvs["th"], 128).failure == "queue"
    state.clock += 5
    assert b.run(["lvextend", "-L", "+4M", "vg/pool"]).rc == 0
    assert mapping.provision(state, vg, vg.lvs["th"], 128).ok


def test_mapping_survives_json_round_trip() -> None:
    _, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 40M -T vg/pool -n th"])
    write(state, "th", 7, 3)
    import json

    loaded = State.from_json(json.loads(json.dumps(state.to_json())))
    vg = loaded.vgs["vg"]
    assert mapping.lookup(loaded, vg, vg.lvs["th"], 8) == mapping.lookup(
        state, state.vgs["vg"], state.vgs["vg"].lvs["th"], 8
    )
    assert not mapping.provision(loaded, vg, vg.lvs["th"], 8).new


def test_metadata_usage_formula() -> None:
    _, state = setup(["lvcreate -L 100M -T vg/pool"])
    vg = state.vgs["vg"]
    assert usage.pool_metadata_usage(state, vg, vg.lvs["pool"]) == (111, 1024)
    b = SimBackend(state)
    assert b.run(["lvcreate", "-V", "40M", "-T", "vg/pool", "-n", "t1"]).rc == 0
    assert format_percent(*usage.pool_metadata_usage(state, vg, vg.lvs["pool"])) == "10.94"
    assert b.run(["lvcreate", "-V", "40M", "-T", "vg/pool", "-n", "t2"]).rc == 0
    assert usage.pool_metadata_usage(state, vg, vg.lvs["pool"])[0] == 113
    assert b.run(["lvcreate", "-s", "vg/t1", "-n", "s"]).rc == 0
    assert usage.pool_metadata_usage(state, vg, vg.lvs["pool"])[0] == 113


def test_cow_exceptions_and_overflow() -> None:
    _, state = setup(["lvcreate -L 100M -n lv vg", "lvcreate -s -L 20M -n s1 vg/lv"])
    vg = state.vgs["vg"]
    s1 = vg.lvs["s1"]
    assert usage.cow_usage(state, vg, s1) == (0, 5120, False)
    assert mapping.cow_exception(state, vg, s1, 10) == 2
    assert mapping.cow_exception(state, vg, s1, 10) == 2
    assert mapping.cow_lookup(state, vg, s1, 10) == 2 and mapping.cow_lookup(state, vg, s1, 11) is None
    assert format_percent(*usage.cow_usage(state, vg, s1)[:2]) == "0.06"
    for chunk in range(1, 1282):
        mapping.cow_exception(state, vg, s1, 1000 + chunk)
    assert usage.cow_usage(state, vg, s1)[0] * 8 == 10312
    assert format_percent(*usage.cow_usage(state, vg, s1)[:2]) == "25.18"
    chunk = 5000
    while mapping.cow_exception(state, vg, s1, chunk) is not None:
        chunk += 1
    assert usage.cow_usage(state, vg, s1) == (5120, 5120, True)
    assert mapping.cow_snapshots_of(vg, vg.lvs["lv"]) == [s1]


def test_full_metadata_turns_the_pool_read_only() -> None:
    cmds = ["lvcreate -L 20G -c 64k --poolmetadatasize 4M -T vg/pool", "lvcreate -V 20G -T vg/pool -n th"]
    _, state = setup(cmds, disk_mib=21 * 1024)
    vg = state.vgs["vg"]
    th = vg.lvs["th"]
    assert usage.pool_metadata_usage(state, vg, vg.lvs["pool"]) == (102 + 7 + 1 + 21 + 1, 1024)
    chunk = 0
    while mapping.provision(state, vg, th, chunk).ok:
        chunk += 1
    assert usage.pool_health(state, vg, vg.lvs["pool"]) == "metadata_read_only"
    assert usage.pool_metadata_usage(state, vg, vg.lvs["pool"]) == (1024, 1024)
    assert chunk > 200_000
    assert not mapping.provision(state, vg, th, 0).ok


def test_random_operations_keep_the_accounting_exact() -> None:
    import random

    b, state = setup(["lvcreate -L 100M -T vg/pool", "lvcreate -V 8M -T vg/pool -n d0"])
    vg = state.vgs["vg"]
    rng = random.Random(7)
    names, serial = ["d0"], 0
    for _ in range(800):
        op = rng.random()
        name = rng.choice(names)
        if op < 0.6:
            assert mapping.provision(state, vg, vg.lvs[name], rng.randrange(128)).ok
        elif op < 0.8:
            mapping.discard(state, vg, vg.lvs[name], rng.randrange(128))
        elif op < 0.9 and len(names) < 12:
            serial += 1
            assert b.run(["lvcreate", "-s", f"vg/{name}", "-n", f"s{serial}"]).rc == 0
            names.append(f"s{serial}")
        elif len(names) > 1:
            assert b.run(["lvremove", "-f", f"vg/{name}"]).rc == 0
            names.remove(name)
        views = {n: {c: mapping.lookup(state, vg, vg.lvs[n], c) for c in range(128)} for n in names}
        live = {blk for view in views.values() for blk in view.values() if blk is not None}
        pool = vg.lvs["pool"]
        assert usage.pool_data_usage(state, vg, pool)[0] == len(live)
        for n, view in views.items():
            assert usage.thin_mapped_chunks(state, vg, vg.lvs[n]) == sum(v is not None for v in view.values())
        expected_tree = sum(
            mapping.tree_blocks(vg.lvs[n].peak) for n in names if mapping.has_own_tree(vg.lvs[n])
        )
        assert mapping.pool_tree_blocks(vg, pool) == expected_tree
