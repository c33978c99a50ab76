"""Reports of thin pools, thin volumes and snapshots: lv_attr, roles, percents (lvm-semantics §4-9)."""

from __future__ import annotations

import pytest
from simhost import SimHost

from lvsim.core.model import GiB, MiB


@pytest.fixture
def pool(sim: type[SimHost]) -> SimHost:
    sim = sim(1 * GiB).with_vg()
    sim.out("lvcreate -L 100M -T vg/pool")
    return sim


def test_fresh_pool_and_hidden_lvs(pool: SimHost) -> None:
    assert pool.rows("-a -o lv_name,lv_attr,lv_size,data_percent,metadata_percent") == {
        "[lvol0_pmspare]": ["ewi-------", "4.00m", "", ""],
        "pool": ["twi-a-tz--", "100.00m", "0.00", "10.84"],
        "[pool_tdata]": ["Twi-ao----", "100.00m", "", ""],
        "[pool_tmeta]": ["ewi-ao----", "4.00m", "", ""],
    }
    assert pool.out("lvs --noheadings -o lv_name") == "  pool\n"


def test_hidden_lvs_sort_without_brackets(pool: SimHost) -> None:
    assert pool.out("lvs -a --noheadings -o lv_name").split() == [
        "[lvol0_pmspare]",
        "pool",
        "[pool_tdata]",
        "[pool_tmeta]",
    ]


def test_pool_roles_and_links(pool: SimHost) -> None:
    rows = pool.rows(
        "-a -o lv_name,lv_layout,lv_role,data_lv,metadata_lv,lv_parent,lv_full_name,lv_path,segtype"
    )
    assert rows["pool"] == [
        "thin,pool",
        "private",
        "[pool_tdata]",
        "[pool_tmeta]",
        "",
        "vg/pool",
        "",
        "thin-pool",
    ]
    assert rows["[pool_tdata]"] == [
        "linear",
        "private,thin,pool,data",
        "",
        "",
        "pool",
        "vg/pool_tdata",
        "",
        "linear",
    ]
    assert rows["[pool_tmeta]"][1] == "private,thin,pool,metadata"
    assert rows["[lvol0_pmspare]"][1] == "private,pool,spare"


def test_pool_settings_fields(pool: SimHost) -> None:
    rows = pool.rows("-a -o lv_name,chunk_size,zero,discards,lv_when_full,transaction_id,lv_metadata_size")
    assert rows["pool"] == ["64.00k", "zero", "passdown", "queue", "0", "4.00m"]
    assert rows["[pool_tdata]"] == ["0 ", "unknown", "", "", "", ""]
    out = pool.out("lvs --reportformat json -o chunk_size vg/pool_tmeta")
    assert '{"chunk_size":"0 "}' in out


def test_thin_volume_and_open_pool(pool: SimHost) -> None:
    pool.out("lvcreate -V 40M -T vg/pool -n th")
    rows = pool.rows(
        "-o lv_name,lv_attr,pool_lv,data_percent,metadata_percent,lv_layout,lv_role,thin_id,zero"
    )
    assert rows["th"] == ["Vwi-a-tz--", "pool", "0.00", "", "thin,sparse", "public", "1", "zero"]
    assert rows["pool"][:4] == ["twi-aotz--", "", "0.00", "10.94"]
    pool.out("lvchange -an vg/th")
    assert pool.rows("-o lv_name,lv_attr,data_percent")["th"] == ["Vwi---tz--", ""]


def test_zeroing_off(sim: type[SimHost]) -> None:
    sim = sim(1 * GiB).with_vg()
    sim.out("lvcreate -L 100M -Zn -T vg/pool")
    assert sim.rows("-o lv_name,lv_attr,zero")["pool"] == ["twi-a-t---", ""]


def test_thin_snapshots(pool: SimHost) -> None:
    pool.out("lvcreate -V 40M -T vg/pool -n th")
    pool.out("lvcreate -s vg/th -n snap1")
    pool.out("lvcreate -s vg/snap1 -n snap1s")
    rows = pool.rows("-o lv_name,lv_attr,origin,lv_role,lv_skip_activation,lv_ancestors,lv_descendants")
    assert rows["snap1"] == [
        "Vwi---tz-k",
        "th",
        "public,origin,thinorigin,snapshot,thinsnapshot",
        "skip activation",
        "th",
        "snap1s",
    ]
    assert rows["snap1s"] == [
        "Vwi---tz-k",
        "snap1",
        "public,snapshot,thinsnapshot",
        "skip activation",
        "snap1,th",
        "",
    ]
    assert rows["th"][:3] == ["Vwi-a-tz--", "", "public,origin,thinorigin"]
    pool.out("lvcreate -s vg/th -n snap2")
    assert pool.rows("-o lv_name,lv_role")["th"] == ["public,origin,thinorigin,multithinorigin"]
    pool.out("lvchange -ay -K vg/snap1")
    assert pool.rows("-o lv_name,lv_attr,data_percent")["snap1"] == ["Vwi-a-tz-k", "0.00"]
    assert pool.out("vgs --noheadings -o lv_count,snap_count").split() == ["5", "0"]


def test_thin_data_percent_follows_writes(pool: SimHost) -> None:
    pool.out("lvcreate -L 52M -V 52M -T vg/pool2 -n t")
    pool.backend.write("/dev/vg/t", 0, b"x" * 4096)
    assert pool.rows("-o lv_name,data_percent")["t"] == ["0.12"]
    pool.backend.write("/dev/vg/t", 10 * MiB, b"\0" * (10 * MiB))
    rows = pool.rows("-o lv_name,data_percent")
    assert rows["t"] == ["19.35"]
    assert rows["pool2"] == ["19.35"]


def test_cow_snapshot(sim: type[SimHost]) -> None:
    sim = sim(1 * GiB).with_vg()
    sim.out("lvcreate -L 100M -n lv vg")
    sim.out("lvcreate -s -L 20M -n s1 vg/lv")
    rows = sim.rows(
        "-o lv_name,lv_attr,origin,origin_size,chunk_size,data_percent,snap_percent,lv_role,segtype"
    )
    assert rows["s1"] == [
        "swi-a-s---",
        "lv",
        "100.00m",
        "4.00k",
        "0.00",
        "0.00",
        "public,snapshot,thicksnapshot",
        "linear",
    ]
    assert rows["lv"][:2] == ["owi-a-s---", ""]
    assert rows["lv"][6] == "public,origin,thickorigin"
    assert sim.out("vgs --noheadings -o lv_count,snap_count").split() == ["2", "1"]
    rows = sim.rows("-o lv_name,lv_snapshot_invalid,lv_merge_failed,lv_descendants")
    assert rows["s1"] == ["", "", ""]
    assert rows["lv"] == ["unknown", "unknown", "s1"]


def test_cow_snapshot_of_thin_origin(pool: SimHost) -> None:
    pool.out("lvcreate -V 40M -T vg/pool -n th2")
    pool.out("lvcreate -s -L 8M vg/th2 -n cow1")
    rows = pool.rows("-o lv_name,lv_attr,origin,data_percent")
    assert rows["th2"] == ["owi-a-tz--", "", "0.00"]
    assert rows["cow1"] == ["swi-a-s---", "th2", "0.00"]


def test_segments_of_pool_and_thin(pool: SimHost) -> None:
    pool.out("lvcreate -V 40M -T vg/pool -n th")
    rows = pool.rows("-a -o lv_name,segtype,stripes,devices,seg_pe_ranges,seg_le_ranges")
    assert rows["pool"] == ["thin-pool", "1", "pool_tdata(0)", "pool_tdata:0-24", "[pool_tdata]:0-24"]
    assert rows["th"] == ["thin", "0", "", "", ""]
    assert rows["[pool_tdata]"][0] == "linear"


def test_transaction_ids(pool: SimHost) -> None:
    pool.out("lvcreate -V 40M -T vg/pool -n a")
    pool.out("lvcreate -V 40M -T vg/pool -n b")
    rows = pool.rows("-o lv_name,transaction_id,thin_id,thin_count")
    assert rows["pool"] == ["2", "", "2"]
    assert rows["a"] == ["0", "1", ""]
    assert rows["b"] == ["1", "2", ""]
