"""lvs/vgs/pvs text and JSON output, checked against real-LVM output quoted in lvm-semantics.md §9."""

from __future__ import annotations

import pytest
from simhost import SimHost

from lvsim.core.model import GiB, MiB

LVS_HEADER = "  LV   VG Attr       LSize  Pool Origin Data%  Meta%  Move Log Cpy%Sync Convert\n"


@pytest.fixture
def vg(sim: type[SimHost]) -> SimHost:
    """VG "vg" on a 300 MiB PV (74 extents) with LVs s1 (12 MiB) and s2 (8 MiB); /dev/loop1 an orphan PV."""
    sim = sim(300 * MiB, 1 * GiB)
    sim.ok("pvcreate /dev/loop0 /dev/loop1")
    sim.ok("vgcreate vg /dev/loop0")
    sim.ok("lvcreate -L 12M -n s1 vg")
    sim.ok("lvcreate -L 8M -n s2 vg")
    return sim


def test_vgs_default_columns(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    sim.ok("vgcreate vg1 /dev/loop0")
    res = sim.ok("vgs")
    assert res.stdout == (
        "  VG  #PV #LV #SN Attr   VSize   VFree  \n  vg1   1   0   0 wz--n- 296.00m 296.00m\n"
    )
    assert res.stderr == ""


def test_pvs_default_columns_with_orphan(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB, 100 * MiB, 1 * GiB)
    sim.ok("pvcreate /dev/loop0 /dev/loop2")
    sim.ok("vgcreate vg1 /dev/loop0")
    assert sim.ok("pvs").stdout == (
        "  PV         VG  Fmt  Attr PSize   PFree  \n"
        "  /dev/loop0 vg1 lvm2 a--  296.00m 296.00m\n"
        "  /dev/loop2     lvm2 ---    1.00g   1.00g\n"
    )


def test_pvs_all_lists_other_devices_with_zero_sizes(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB, 1 * MiB, 17 * MiB)
    sim.ok("pvcreate /dev/loop0")
    assert sim.ok("pvs -a").stdout == (
        "  PV         VG Fmt  Attr PSize   PFree  \n"
        "  /dev/loop0    lvm2 ---  300.00m 300.00m\n"
        "  /dev/loop2         ---       0       0 \n"
    )


def test_pvs_named_devices_errors(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB, 1 * MiB, 17 * MiB)
    sim.ok("pvcreate /dev/loop0")
    res = sim.run("pvs /dev/loop2 /dev/nonexist /dev/loop1 /dev/loop0")
    assert res.rc == 5
    assert (
        res.stdout == "  PV         VG Fmt  Attr PSize   PFree  \n  /dev/loop0    lvm2 ---  300.00m 300.00m\n"
    )
    assert res.stderr == (
        "  Cannot use /dev/nonexist: device not found\n"
        "  Cannot use /dev/loop1: device is too small (pv_min_size)\n"
        '  Failed to find physical volume "/dev/loop2".\n'
    )


def test_lvs_default_columns(vg: SimHost) -> None:
    assert vg.ok("lvs").stdout == (
        LVS_HEADER
        + "  s1   vg -wi-a----- 12.00m                                                    \n"
        + "  s2   vg -wi-a-----  8.00m                                                    \n"
    )


def test_no_lvs_prints_nothing(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    sim.ok("vgcreate vg /dev/loop0")
    res = sim.ok("lvs")
    assert (res.stdout, res.stderr) == ("", "")
    assert sim.ok("vgs -S vg_name=other").stdout == ""


def test_sizes_in_bytes_without_suffix_or_headings(vg: SimHost) -> None:
    assert vg.ok("lvs --noheadings --nosuffix --units b -o lv_size vg/s1").stdout == "  12582912\n"
    assert vg.ok("lvs --noheadings --units b -o lv_size vg/s1").stdout == "  12582912B\n"
    assert vg.ok("lvs --noheadings --units s -o lv_size vg/s1").stdout == "  24576S\n"
    assert vg.ok("lvs --noheadings --units k -o lv_size vg/s1").stdout == "  12288.00k\n"
    assert vg.ok("lvs --noheadings --units K -o lv_size vg/s1").stdout == "  12582.91K\n"
    assert vg.ok("lvs --noheadings --units H -o lv_size vg/s1").stdout == "  12.58M\n"
    assert vg.ok("lvs --noheadings --units 4m -o lv_size vg/s1").stdout == "  3.00U\n"
    assert vg.ok("lvs --noheadings --units g -o lv_size vg/s1").stdout == "  0.01g\n"


def test_invalid_units(sim: type[SimHost]) -> None:
    res = sim().run("lvs --units x")
    assert (res.rc, res.stdout) == (3, "")
    assert res.stderr == "  Invalid units specification\n  Run `lvs --help' for more information.\n"


def test_separator_unaligned_and_aligned(vg: SimHost) -> None:
    assert vg.ok("lvs --separator , -o lv_name,lv_size").stdout == "  LV,LSize\n  s1,12.00m\n  s2,8.00m\n"
    assert vg.ok("lvs --separator , --aligned -o lv_name,lv_size").stdout == (
        "  LV  ,LSize \n  s1  ,12.00m\n  s2  , 8.00m\n"
    )


def test_rows_and_nameprefixes(vg: SimHost) -> None:
    assert vg.ok("lvs --rows -o lv_name,lv_size").stdout == "  LV s1 s2\n  LSize 12.00m 8.00m\n"
    assert vg.ok("lvs --noheadings --nameprefixes -o lv_name,lv_size vg/s2").stdout == (
        "  LVM2_LV_NAME='s2' LVM2_LV_SIZE='8.00m'\n"
    )


def test_prefixless_aliases_plus_and_minus(vg: SimHost) -> None:
    assert vg.ok("lvs -o name,size,attr vg/s1").stdout == (
        "  LV   LSize  Attr      \n  s1   12.00m -wi-a-----\n"
    )
    assert vg.ok("lvs -o lv_name -o +lv_size,vg_name -o -vg_name vg/s1").stdout == (
        "  LV   LSize \n  s1   12.00m\n"
    )


def test_sort_by_size_and_descending(vg: SimHost) -> None:
    assert vg.ok("lvs --noheadings -O lv_size -o lv_name").stdout == "  s2  \n  s1  \n"
    assert vg.ok("lvs --noheadings -O -lv_name -o lv_name").stdout == "  s2  \n  s1  \n"


def test_default_sort_is_plain_string_order(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    sim.ok("vgcreate vg /dev/loop0")
    for name in ("lvol2", "lvol10", "lvol1"):
        sim.ok(f"lvcreate -l 1 -n {name} vg")
    assert sim.ok("lvs --noheadings -o lv_name").stdout == "  lvol1 \n  lvol10\n  lvol2 \n"


def test_missing_objects_and_worst_exit_code(vg: SimHost) -> None:
    res = vg.run("lvs -o lv_name vg/s1 vg/nonexist nonvg")
    assert res.rc == 5
    assert res.stdout == "  LV  \n  s1  \n"
    assert res.stderr == (
        '  Failed to find logical volume "vg/nonexist"\n'
        '  Volume group "nonvg" not found\n'
        "  Cannot process volume group nonvg\n"
    )
    res = vg.run("vgs nosuchvg")
    assert (res.rc, res.stdout) == (5, "")
    assert res.stderr == '  Volume group "nosuchvg" not found\n  Cannot process volume group nosuchvg\n'


def test_dev_path_arguments(vg: SimHost) -> None:
    assert vg.ok("lvs --noheadings -o lv_name /dev/vg/s2").stdout == "  s2  \n"


def test_json_shape(vg: SimHost) -> None:
    res = vg.ok("lvs --reportformat json")
    assert res.stdout == (
        "  {\n"
        '      "report": [\n'
        "          {\n"
        '              "lv": [\n'
        '                  {"lv_name":"s1", "vg_name":"vg", "lv_attr":"-wi-a-----", "lv_size":"12.00m", '
        '"pool_lv":"", "origin":"", "data_percent":"", "metadata_percent":"", "move_pv":"", "mirror_log":"", '
        '"copy_percent":"", "convert_lv":""},\n'
        '                  {"lv_name":"s2", "vg_name":"vg", "lv_attr":"-wi-a-----", "lv_size":"8.00m", '
        '"pool_lv":"", "origin":"", "data_percent":"", "metadata_percent":"", "move_pv":"", "mirror_log":"", '
        '"copy_percent":"", "convert_lv":""}\n'
        "              ]\n"
        "          }\n"
        "      ]\n"
        "  }\n"
    )


def test_json_values_are_strings_and_follow_units(vg: SimHost) -> None:
    res = vg.ok("vgs --reportformat json --units b --nosuffix -o vg_name,pv_count,vg_size,vg_free")
    assert '{"vg_name":"vg", "pv_count":"1", "vg_size":"310378496", "vg_free":"289406976"}' in res.stdout
    res = vg.ok("pvs --reportformat json -o pv_name,pv_used /dev/loop1")
    assert '{"pv_name":"/dev/loop1", "pv_used":"0 "}' in res.stdout


def test_json_empty_and_error_skeletons(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    empty = '  {\n      "report": [\n          {\n              "vg": [\n              ]\n          }\n      ]\n  }\n'
    assert sim.ok("vgs --reportformat json").stdout == empty
    res = sim.run("lvs --reportformat json vg/nonexist")
    assert res.rc == 5
    assert res.stdout == empty.replace('"vg"', '"lv"')
    assert res.stderr == '  Volume group "vg" not found\n  Cannot process volume group vg\n'


def test_json_noheadings_has_no_effect_and_duplicate_keys(vg: SimHost) -> None:
    res = vg.ok("lvs --reportformat json --noheadings -o lv_name,lv_name vg/s1")
    assert '                  {"lv_name":"s1", "lv_name":"s1"}\n' in res.stdout


def test_reportformat_json_std_is_rejected(sim: type[SimHost]) -> None:
    res = sim().run("lvs --reportformat json_std")
    assert res.rc == 3
    assert "Invalid argument for --reportformat: json_std" in res.stderr


def test_unknown_field_prints_help_then_error(sim: type[SimHost]) -> None:
    res = sim().run("lvs -o lv_name,nonexistfield")
    assert (res.rc, res.stdout) == (5, "")
    assert res.stderr.startswith("  Logical Volume Fields\n  ---------------------\n    lv_all ")
    assert res.stderr.endswith("   \n  Unrecognised field: nonexistfield\n")
    assert "    device_id " not in res.stderr


def test_unknown_field_json_skeleton(sim: type[SimHost]) -> None:
    res = sim().run("lvs --reportformat json -o nonexistfield")
    assert res.rc == 5
    assert res.stdout == '  {\n      "report": [\n      ]\n  }\n'


def test_help_lists_fields_rc0(sim: type[SimHost]) -> None:
    res = sim().run("lvs -o help")
    assert (res.rc, res.stdout) == (0, "")
    lines = res.stderr.splitlines()
    assert "    lv_uuid                     - Unique identifier." in lines
    assert "  Physical Volume Segment Fields" in lines
    assert lines[-4:] == [
        "    selected                    - Set if item passes selection criteria.",
        "    help                        - Show help.",
        "    ?                           - Show help.",
        "   ",
    ]


def test_lv_and_pv_fields_together_are_refused(vg: SimHost) -> None:
    res = vg.run("lvs -o lv_name,pv_name")
    assert res.rc == 5
    assert res.stderr == '  Can\'t report LV and PV fields at the same time in report type "lv".\n'


def test_vgs_with_lv_fields_reports_per_lv(vg: SimHost) -> None:
    assert vg.ok("vgs --noheadings -o vg_name,lv_name").stdout == "  vg s1  \n  vg s2  \n"


def test_segments_reports(vg: SimHost) -> None:
    assert vg.ok("lvs --segments").stdout == (
        "  LV   VG Attr       #Str Type   SSize \n"
        "  s1   vg -wi-a-----    1 linear 12.00m\n"
        "  s2   vg -wi-a-----    1 linear  8.00m\n"
    )
    assert vg.ok("lvs --noheadings -o lv_name,devices,seg_pe_ranges,seg_start_pe,seg_size_pe").stdout == (
        "  s1   /dev/loop0(0) /dev/loop0:0-2     0     3\n  s2   /dev/loop0(3) /dev/loop0:3-4     0     2\n"
    )
    assert vg.ok("pvs --segments /dev/loop0").stdout == (
        "  PV         VG Fmt  Attr PSize   PFree   Start SSize\n"
        "  /dev/loop0 vg lvm2 a--  296.00m 276.00m     0     3\n"
        "  /dev/loop0 vg lvm2 a--  296.00m 276.00m     3     2\n"
        "  /dev/loop0 vg lvm2 a--  296.00m 276.00m     5    69\n"
    )
    assert vg.ok("pvs --noheadings -o pv_name,pvseg_start,lv_name /dev/loop0").stdout == (
        "  /dev/loop0     0 s1  \n  /dev/loop0     3 s2  \n  /dev/loop0     5     \n"
    )


def test_segment_rows_after_extension(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    sim.ok("vgcreate vg /dev/loop0")
    sim.ok("lvcreate -l 2 -n a vg")
    sim.ok("lvcreate -l 2 -n b vg")
    sim.ok("lvextend -l +3 vg/a")
    assert sim.ok("lvs --noheadings -o lv_name,seg_count,seg_le_ranges vg/a").stdout == (
        "  a       2 /dev/loop0:0-1\n  a       2 /dev/loop0:4-6\n"
    )


def test_vg_and_pv_attributes(sim: type[SimHost]) -> None:
    sim = sim(300 * MiB)
    sim.ok("vgcreate vg /dev/loop0")
    sim.ok("vgchange --alloc contiguous vg")
    assert sim.ok("vgs --noheadings -o vg_attr,vg_allocation_policy").stdout == "  wz--c- contiguous\n"
    sim.ok("vgchange --alloc normal vg")
    sim.ok("pvchange -x n /dev/loop0")
    assert sim.ok("pvs --noheadings -o pv_attr,pv_allocatable").stdout == "  u--" + " " * 13 + "\n"


def test_binary_values(vg: SimHost) -> None:
    assert vg.ok("lvs --noheadings -o lv_active,lv_skip_activation,lv_device_open vg/s1").stdout == (
        "  active" + " " * 27 + "\n"
    )
    assert vg.ok("lvs --noheadings --binary -o lv_skip_activation,lv_device_open vg/s1").stdout == (
        "                0          0\n"
    )
    vg.ok("lvchange -an vg/s1")
    assert vg.ok("lvs --noheadings -o lv_attr,lv_device_open,lv_permissions vg/s1").stdout == (
        "  -wi-------    unknown unknown \n"
    )


def test_vg_counts_and_extents(vg: SimHost) -> None:
    out = vg.ok("vgs --noheadings --units m -o vg_extent_size,vg_extent_count,vg_free_count,vg_seqno,max_lv")
    assert out.stdout.split() == ["4.00m", "74", "69", "3", "0"]


def test_lv_fields_on_free_space_rows(vg: SimHost) -> None:
    out = vg.ok("pvs --noheadings -o pv_name,pvseg_start,lv_name,lv_attr,lv_size,segtype /dev/loop0").stdout
    assert out.splitlines()[-1] == "  /dev/loop0     5" + " " * 21 + "0  free  "
