"""Thin pool, thin volume and snapshot commands against real-LVM facts (lvm-semantics §4-7)."""

from __future__ import annotations

import pytest
from simhost import SimHost

from lvsim.core.model import GiB, LVKind, MiB

CAN_ADDRESS_64K = "  Thin pool volume with chunk size 64.00 KiB can address at most <15.88 TiB of data.\n"
PROTECTION = (
    "  WARNING: You have not turned on protection against thin pools running out of space.\n"
    "  WARNING: Set activation/thin_pool_autoextend_threshold below 100 to trigger automatic extension"
    " of thin pools before they get full.\n"
)


def test_pool_creation_output_and_hidden_lvs(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    res = s.ok("lvcreate -L 100M -T vg/pool")
    assert (res.stdout, res.stderr) == (CAN_ADDRESS_64K + '  Logical volume "pool" created.\n', "")
    assert s.layout() == {"lvol0_pmspare": 1, "pool_tdata": 25, "pool_tmeta": 1, "pool": 25}
    assert [(seg.pe_start, seg.extents) for seg in s.lv("lvol0_pmspare").segments] == [(0, 1)]
    assert s.lv("pool").chunk_size == 64 * 1024 and s.lv("pool").zero
    assert not s.lv("lvol0_pmspare").active and not s.lv("pool_tdata").visible


@pytest.mark.parametrize(
    "form",
    ["-L 100M --thinpool pool vg", "--type thin-pool -L 100M -n pool vg", "-T -L 100M -n pool vg"],
)
def test_pool_creation_forms(form: str, sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    assert s.ok(f"lvcreate {form}").stdout.endswith('  Logical volume "pool" created.\n')
    assert s.lv("pool").kind == LVKind.THIN_POOL


def test_unnamed_pool_and_thin(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    res = s.ok("lvcreate -L 20M -V 40M -T vg")
    assert res.stdout == CAN_ADDRESS_64K + PROTECTION + '  Logical volume "lvol2" created.\n'
    assert s.lv("lvol1").kind == LVKind.THIN_POOL and s.lv("lvol2").pool == "lvol1"
    assert "lvol0_pmspare" in s.state.vgs["vg"].lvs


def test_pool_space_accounting_in_a_74_extent_vg(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    res = s.run("lvcreate -L 292M -T vg/pool")
    assert (res.rc, res.stdout, res.stderr) == (
        5,
        CAN_ADDRESS_64K,
        "  Insufficient free space: 74 extents needed, but only 73 available\n",
    )
    assert s.free() == 74
    s.ok("lvcreate -L 288M -T vg/pool")
    assert s.free() == 0


def test_percent_free_pools_leave_room_for_metadata_and_spare(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -l 50%FREE -T vg/p1")
    assert s.lv("p1").le_count == 35 and s.free() == 74 - 37
    s.ok("lvcreate -l 100%FREE -T vg/p2")
    assert s.lv("p2").le_count == 35 and s.free() == 1
    s2 = sim(300 * MiB).with_vg()
    s2.ok("lvcreate -l 100%FREE -T vg/p")
    assert s2.lv("p").le_count == 72 and s2.free() == 0


def test_big_pool_percent_free(sim: type[SimHost]) -> None:
    s = sim(64 * GiB).with_vg()
    s.ok("lvcreate -l 100%FREE -T vg/p")
    assert (s.lv("p").le_count, s.lv("p_tmeta").le_count, s.lv("lvol0_pmspare").le_count) == (16351, 16, 16)


def test_not_enough_vg_space_for_the_data(sim: type[SimHost]) -> None:
    s = sim(40 * GiB).with_vg()
    res = s.run("lvcreate -L 40G -T vg/p")
    assert res.stderr == '  Volume group "vg" has insufficient free space (10229 extents): 10240 required.\n'


@pytest.mark.parametrize(
    ("size", "meta_mib"),
    [("8M", 4), ("1G", 4), ("4G", 4), ("8G", 8), ("10G", 12), ("16G", 16), ("24G", 24)],
)
def test_metadata_size_estimate(size: str, meta_mib: int, sim: type[SimHost]) -> None:
    s = sim(30 * GiB).with_vg()
    s.ok(f"lvcreate -L {size} -T vg/p")
    assert s.lv("p_tmeta").le_count * 4 == meta_mib


def test_chunk_size_grows_with_the_pool(sim: type[SimHost]) -> None:
    s = sim(300 * GiB).with_vg()
    res = s.ok("lvcreate -L 200G -T vg/p")
    assert res.stdout.startswith(
        "  Thin pool volume with chunk size 128.00 KiB can address at most 31.75 TiB of data.\n"
    )
    assert s.lv("p").chunk_size == 128 * 1024


def test_metadata_size_given_sets_chunk_and_warns_about_zeroing(sim: type[SimHost]) -> None:
    s = sim(30 * GiB).with_vg()
    res = s.ok("lvcreate -L 24G --poolmetadatasize 4M -T vg/p")
    assert res.stdout.startswith(
        "  Thin pool volume with chunk size 512.00 KiB can address at most 127.00 TiB"
    )
    assert res.stderr == (
        "  WARNING: Pool zeroing and 512.00 KiB large chunk size slows down thin provisioning.\n"
        "  WARNING: Consider disabling zeroing (-Zn) or using smaller chunk size (<512.00 KiB).\n"
    )


def test_metadata_size_clamps(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg("-s 1M")
    res = s.ok("lvcreate -L 20M --poolmetadatasize 1M -T vg/p")
    assert res.stdout.startswith(
        "  Extending pool metadata size 1.00 MiB to required minimal size 2.00 MiB.\n"
    )
    s = sim(40 * GiB).with_vg()
    res = s.ok("lvcreate -L 1G --poolmetadatasize 20G -T vg/p")
    assert "  Reducing pool metadata size 20.00 GiB to maximum usable size <15.88 GiB.\n" in res.stdout


@pytest.mark.parametrize(
    ("chunk", "errors"),
    [
        (
            "32k",
            [
                "Thin pool chunk size 32.00 KiB is not in the range 64.00 KiB to 1.00 GiB.",
                "Thin pool chunk size 32.00 KiB must be a multiple of 64.00 KiB.",
            ],
        ),
        ("96k", ["Thin pool chunk size 96.00 KiB must be a multiple of 64.00 KiB."]),
        ("2G", ["Thin pool chunk size 2.00 GiB is not in the range 64.00 KiB to 1.00 GiB."]),
    ],
)
def test_chunk_size_errors(chunk: str, errors: list[str], sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    res = s.run(f"lvcreate -L 100M -c {chunk} -T vg/p")
    lines = [f"  {e}\n" for e in errors] + ["  Run `lvcreate --help' for more information.\n"]
    assert (res.rc, res.stderr) == (3, "".join(lines))


def test_pool_smaller_than_chunk(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    res = s.run("lvcreate -L 4M -c 8M -T vg/p")
    assert res.rc == 5
    assert res.stderr == "  Size of thin-pool data volume cannot be smaller than chunk size 8.00 MiB.\n"


def test_thin_volumes_and_overprovisioning(sim: type[SimHost]) -> None:
    s = sim(1024 * MiB).with_vg()
    s.ok("lvcreate -L 100M -T vg/pool")
    res = s.ok("lvcreate -V 50M -T vg/pool -n t1")
    assert (
        res.stdout == '  Rounding up size to full physical extent 52.00 MiB\n  Logical volume "t1" created.\n'
    )
    res = s.ok("lvcreate -V 212M --thin vg/pool -n t2")
    assert res.stderr == (
        "  WARNING: Sum of all thin volume sizes (264.00 MiB) exceeds the size of thin pool vg/pool (100.00 MiB).\n"
    )
    assert res.stdout == PROTECTION + '  Logical volume "t2" created.\n'
    assert (s.lv("t1").thin_id, s.lv("t2").thin_id) == (1, 2)
    assert (s.lv("t1").transaction_id, s.lv("t2").transaction_id, s.lv("pool").transaction_id) == (0, 1, 2)
    res = s.ok("lvcreate -V 2G -T vg/pool -n t3")
    assert "and the size of whole volume group (1020.00 MiB)" in res.stderr
    res = s.ok("lvcreate -L 8M -n lin vg")
    assert "exceeds the size of thin pools and the size of whole volume group" in res.stderr


def test_thin_creation_errors(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 8M -n lin vg")
    assert s.run("lvcreate -V 8M -T vg/nopool -n t").stderr == "  Pool nopool not found in Volume group vg.\n"
    assert s.run("lvcreate -V 8M -T vg/lin -n t").stderr == "  Logical volume vg/lin is not a thin pool.\n"


def test_thin_snapshots(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 100M -T vg/pool")
    s.ok("lvcreate -V 40M -T vg/pool -n th")
    res = s.ok("lvcreate -s vg/th -n snap1")
    assert res.stdout == '  Logical volume "snap1" created.\n'
    snap = s.lv("snap1")
    assert (snap.origin, snap.skip_activation, snap.active, snap.le_count) == ("th", True, False, 10)
    s.ok("lvchange -ay vg/snap1")
    assert not snap.active
    s.ok("lvchange -ay -K vg/snap1")
    assert snap.active
    s.ok("lvcreate -s vg/th -kn -n snap2")
    assert s.lv("snap2").active and not s.lv("snap2").skip_activation
    s.ok("lvcreate -s vg/snap1 -n snap1s")
    s.ok("lvremove -f vg/th")
    assert (s.lv("snap1").origin, s.lv("snap1s").origin) == ("", "snap1")


def test_thin_snapshot_needs_a_thin_origin(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 8M -n lin vg")
    res = s.run("lvcreate -s vg/lin")
    assert (res.rc, res.stderr) == (5, "  Please specify either size or extents with snapshots.\n")


def test_cow_snapshot_sizes(sim: type[SimHost]) -> None:
    s2 = sim(400 * MiB).with_vg()
    s2.ok("lvcreate -L 100M -n lv vg")
    assert s2.free() == 74
    res = s2.ok("lvcreate --snapshot /dev/vg/lv --name S -l 80%FREE")
    assert res.stdout == (
        "  Reducing COW size 236.00 MiB down to maximum usable size 104.00 MiB.\n"
        '  Logical volume "S" created.\n'
    )
    assert s2.lv("S").le_count == 26 and s2.free() == 48
    s2.ok("lvcreate -s -l 100%ORIGIN -n o100 vg/lv")
    s2.ok("lvcreate -s -l 50%ORIGIN -n o50 vg/lv")
    assert (s2.lv("o100").le_count, s2.lv("o50").le_count) == (26, 14)
    res = s2.run("lvcreate -s -L 8M vg/o50")
    assert (res.rc, res.stderr) == (5, "  Snapshots of snapshots are not supported.\n")
    res = s2.run("lvcreate -s -L 8M -c 1M vg/lv")
    assert res.rc == 3
    assert res.stderr.startswith("  Chunk size must be a power of 2 in the range 4K to 512K.\n")
    s2.ok("lvremove -f vg/S")
    res = s2.ok("lvextend -L +200M vg/o50")
    assert res.stdout.startswith("  Reached maximum COW size 104.00 MiB (26 extents).\n")
    assert s2.lv("o50").le_count == 26


def test_lvconvert_to_thin_pool(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 40M -n data vg")
    res = s.run("lvconvert --type thin-pool vg/data", stdin="n\n")
    assert res.rc == 5
    assert res.stderr == (
        "  WARNING: Converting vg/data to thin pool's data volume with metadata wiping.\n"
        "  THIS WILL DESTROY CONTENT OF LOGICAL VOLUME (filesystem etc.)\n"
        "Do you really want to convert vg/data? [y/n]:   Conversion aborted.\n"
    )
    res = s.ok("lvconvert -y --type thin-pool vg/data")
    assert res.stdout == CAN_ADDRESS_64K + "  Converted vg/data to thin pool.\n"
    assert s.layout() == {"data_tdata": 10, "data_tmeta": 1, "data": 10, "lvol0_pmspare": 1}
    s.ok("lvcreate -L 40M -n d3 vg")
    s.ok("lvcreate -L 8M -n meta3 vg")
    res = s.ok("lvconvert -y --thinpool vg/d3 --poolmetadata vg/meta3")
    assert res.stdout.endswith("  Converted vg/d3 and vg/meta3 to thin pool.\n")
    assert s.lv("d3_tmeta").le_count == 2 and s.lv("lvol0_pmspare").le_count == 2


def test_pool_extend_and_metadata_extend(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 100M -T vg/pool")
    res = s.ok("lvextend -L +20M vg/pool")
    assert res.stdout == (
        "  Size of logical volume vg/pool_tdata changed from 100.00 MiB (25 extents) to 120.00 MiB (30 extents).\n"
        "  Logical volume vg/pool successfully resized.\n"
    )
    res = s.ok("lvextend --poolmetadatasize +4M vg/pool")
    assert res.stdout == (
        "  Size of logical volume vg/pool_tmeta changed from 4.00 MiB (1 extents) to 8.00 MiB (2 extents).\n"
        "  Logical volume vg/pool_tmeta successfully resized.\n"
    )
    assert s.lv("lvol0_pmspare").le_count == 2
    res = s.ok("lvextend --poolmetadatasize 6M vg/pool")
    assert res.stdout == (
        "  Rounding size to boundary between physical extents: 8.00 MiB.\n"
        "  Size of logical volume vg/pool_tmeta unchanged from 8.00 MiB (2 extents).\n"
        "  Logical volume vg/pool_tmeta successfully resized.\n"
    )
    res = s.run("lvreduce -L -8M vg/pool")
    assert (res.rc, res.stderr) == (5, "  Thin pool volumes vg/pool_tdata cannot be reduced in size yet.\n")


def test_lvchange_pool_settings(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 100M -T vg/pool")
    for opt in ("-Zn", "--errorwhenfull y", "--discards nopassdown"):
        assert s.ok(f"lvchange {opt} vg/pool").stdout == "  Logical volume vg/pool changed.\n"
    pool = s.lv("pool")
    assert (pool.zero, pool.error_when_full, pool.discards) == (False, True, "nopassdown")
    res = s.run("lvchange --discards ignore vg/pool")
    assert (res.rc, res.stderr) == (
        5,
        "  Cannot change support for discards while pool volume vg/pool is active.\n",
    )


def test_removing_the_last_pool_drops_the_spare(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 100M -T vg/p1")
    s.ok("lvcreate -L 40M -T vg/p2")
    s.ok("lvremove -f vg/p1")
    assert "lvol0_pmspare" in s.state.vgs["vg"].lvs
    s.ok("lvremove -f vg/p2")
    assert s.state.vgs["vg"].lvs == {}


def test_out_of_space_pool_refuses_new_thins(sim: type[SimHost]) -> None:
    from lvsim.core import mapping

    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 8M -T vg/pe")
    s.ok("lvcreate -V 20M -T vg/pe -n t")
    vg = s.state.vgs["vg"]
    for chunk in range(129):
        mapping.provision(s.state, vg, s.lv("t"), chunk)
    res = s.run("lvcreate -V 10M -T vg/pe")
    assert res.rc == 5
    assert res.stdout == "  Rounding up size to full physical extent 12.00 MiB\n"
    assert res.stderr == (
        "  WARNING: Thin pool vg/pe is out of data space.\n"
        "  Cannot create new thin volume, free space in thin pool vg/pe reached threshold.\n"
    )


def test_cow_merge_restores_the_origin(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 20M -n m vg")
    s.backend.write("/dev/vg/m", 0, b"A" * 8192)
    s.ok("lvcreate -s -L 8M -n ms vg/m")
    s.backend.write("/dev/vg/m", 4096, b"B" * 4096)
    s.backend.write("/dev/vg/ms", 0, b"C" * 512)
    res = s.ok("lvconvert --merge vg/ms")
    assert res.stdout == (
        "  Merging of volume vg/ms started.\n"
        "  vg/m: Merged: 100.00%\n"
        "  Merge of snapshot into logical volume vg/m has finished.\n"
        '  Logical volume "ms" successfully removed.\n'
    )
    assert s.backend.read("/dev/vg/m", 0, 8192) == b"C" * 512 + b"A" * 7680


def test_delayed_thin_merge(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 40M -T vg/pool")
    s.ok("lvcreate -V 20M -T vg/pool -n tv")
    s.ok("lvcreate -s vg/tv -n tvs")
    s.lv("tv").open_count = 1
    res = s.ok("lvconvert --merge vg/tvs")
    assert res.stdout == (
        "  Delaying merge since origin volume is open.\n"
        "  Merging of thin snapshot vg/tvs will occur on next activation of vg/tv.\n"
    )
    assert res.stderr == "  Logical volume vg/tv in use.\n"
    assert not s.lv("tvs").visible
    s.lv("tv").open_count = 0
    s.ok("lvchange -an vg/tv")
    s.ok("lvchange -ay vg/tv")
    lvs = s.state.vgs["vg"].lvs
    assert "tvs" not in lvs and lvs["tv"].thin_id == 2


def test_use_policies_extends_a_full_pool(sim: type[SimHost]) -> None:
    from lvsim.core import mapping

    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 20M -T vg/pool")
    s.ok("lvcreate -V 40M -T vg/pool -n t")
    vg = s.state.vgs["vg"]
    for chunk in range(272):  # 85.00% of 320 chunks
        mapping.provision(s.state, vg, s.lv("t"), chunk)
    assert s.ok("lvextend --use-policies vg/pool").stdout == ""
    conf = "--config activation/thin_pool_autoextend_threshold=70"
    res = s.ok(f"lvextend --use-policies {conf} vg/pool")
    assert res.stdout == (
        "  Size of logical volume vg/pool_tdata changed from 20.00 MiB (5 extents) to 28.00 MiB (7 extents).\n"
        "  Logical volume vg/pool successfully resized.\n"
    )
    assert s.ok(f"lvextend --use-policies {conf} vg/pool").stdout == ""


def test_autoextend_configured_silences_overprovisioning(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 20M -T vg/pool")
    conf = "--config activation{thin_pool_autoextend_threshold=70}"
    res = s.ok(f"lvcreate {conf} -V 40M -T vg/pool -n t")
    assert (res.stdout, res.stderr) == ('  Logical volume "t" created.\n', "")


def test_pool_extend_grows_metadata_with_the_estimate(sim: type[SimHost]) -> None:
    s = sim(12 * GiB).with_vg()
    s.ok("lvcreate -L 4G -T vg/pool")
    res = s.ok("lvextend -L 8G vg/pool")
    assert res.stdout == (
        "  Size of logical volume vg/pool_tmeta changed from 4.00 MiB (1 extents) to 8.00 MiB (2 extents).\n"
        "  Size of logical volume vg/pool_tdata changed from 4.00 GiB (1024 extents) to 8.00 GiB (2048 extents).\n"
        "  Logical volume vg/pool successfully resized.\n"
    )
    assert s.lv("lvol0_pmspare").le_count == 2


def test_lvchange_pool_settings_already_set_and_wrong_lv(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 40M -T vg/pool")
    s.ok("lvcreate -L 4M -n lin vg")
    res = s.run("lvchange -Zn vg/lin")
    assert (res.rc, res.stderr) == (
        5,
        "  Command on LV vg/lin uses options that require LV types thinpool .\n"
        "  Command not permitted on LV vg/lin.\n",
    )
    assert s.run("lvchange -Zy vg/pool").stderr == "  Logical volume vg/pool already zero new blocks.\n"
    assert (
        s.run("lvchange --errorwhenfull n vg/pool").stderr
        == "  Error when full is already unset for vg/pool.\n"
    )
    s.ok("lvchange -an vg/pool")
    assert s.ok("lvchange --discards ignore vg/pool").stdout == "  Logical volume vg/pool changed.\n"


def test_cow_snapshot_of_a_thin_origin(sim: type[SimHost]) -> None:
    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 40M -T vg/pool")
    s.ok("lvcreate -V 40M -T vg/pool -n th2")
    res = s.ok("lvcreate -s -l 100%ORIGIN vg/th2 -n cow1")
    assert res.stdout.endswith('  Logical volume "cow1" created.\n')
    assert (s.lv("cow1").kind, s.lv("cow1").le_count, s.lv("cow1").origin) == (LVKind.COW, 11, "th2")
    s.ok("lvcreate -s vg/th2 -n ts")
    res = s.run("lvconvert --merge vg/ts")
    assert (res.rc, res.stderr) == (5, "  Merging into the old snapshot origin vg/th2 is not supported.\n")
    res = s.run("lvconvert --merge vg/cow1")
    assert res.rc == 0


def test_thin_creation_refused_above_the_autoextend_threshold(sim: type[SimHost]) -> None:
    from lvsim.core import mapping

    s = sim(300 * MiB).with_vg()
    s.ok("lvcreate -L 20M -T vg/pool")
    s.ok("lvcreate -V 20M -T vg/pool -n t")
    vg = s.state.vgs["vg"]
    for chunk in range(272):
        mapping.provision(s.state, vg, s.lv("t"), chunk)
    res = s.run("lvcreate --config activation/thin_pool_autoextend_threshold=70 -V 4M -T vg/pool -n u")
    assert (res.rc, res.stderr) == (
        5,
        "  Cannot create new thin volume, free space in thin pool vg/pool reached threshold.\n",
    )
    s.ok("lvcreate -V 4M -T vg/pool -n u")
