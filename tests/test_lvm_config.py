"""lvsim.core.config: LVM's config syntax, and where a command's settings come from."""

from __future__ import annotations

from pathlib import Path

import pytest

from lvsim import dispatch
from lvsim.core import config
from lvsim.core.model import Disk, State


def test_sections_paths_values_and_comments() -> None:
    tree, warnings = config.parse(
        "activation {\n"
        "\tthin_pool_autoextend_threshold = 70  # a comment\n"
        '\tname = "a \\"quoted\\" \\\\ word"\n'
        "}\n"
        "activation/thin_pool_autoextend_percent=25\n"
        "allocation { thin_pool_discards = nopassdown  list = [ 1, 'two', 3.5 ] }\n"
    )
    assert warnings == []
    assert tree == {
        "activation": {
            "thin_pool_autoextend_threshold": 70,
            "name": 'a "quoted" \\ word',
            "thin_pool_autoextend_percent": 25,
        },
        "allocation": {"thin_pool_discards": "nopassdown", "list": [1, "two", 3.5]},
    }
    assert config.find(tree, "activation/thin_pool_autoextend_percent") == 25
    assert config.find(tree, "activation/nothing") is None


def test_integers_as_strtoll_reads_them() -> None:
    tree, _ = config.parse("a = 010\nb = -5\nc = +7\n")
    assert tree == {"a": 8, "b": -5, "c": 7}


def test_a_repeated_value_replaces_the_first_with_lvms_warning() -> None:
    tree, warnings = config.parse("activation { monitoring = 1 }\nactivation { monitoring = 0 }\n")
    assert tree == {"activation": {"monitoring": 0}}
    assert warnings == ["WARNING: Ignoring duplicate config value: monitoring"]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("activation {", "Parse error at byte 13 (line 1): unexpected token"),
        ("a = ", "Parse error at byte 5 (line 1): expected a value"),
        ("a b", "Parse error at byte 3 (line 1): unexpected token"),
        ("x = 1\n} ", "Parse error at byte 7 (line 2): unexpected token"),
    ],
)
def test_parse_errors_name_byte_and_line(text: str, message: str) -> None:
    with pytest.raises(config.ConfigError) as err:
        config.parse(text)
    assert err.value.lines == (message,)


def test_command_line_over_file_over_defaults(tmp_path: Path) -> None:
    (tmp_path / "lvm.conf").write_text(
        "activation {\n\tthin_pool_autoextend_threshold = 80\n\tmonitoring = 0\n}\n"
    )
    env = {"LVM_SYSTEM_DIR": str(tmp_path)}
    cfg = config.load(env, ["activation/thin_pool_autoextend_threshold=70"])
    assert cfg.int("activation/thin_pool_autoextend_threshold") == 70
    assert cfg.int("activation/monitoring") == 0
    assert cfg.int("activation/thin_pool_autoextend_percent") == 20
    assert config.load({}).int("activation/thin_pool_autoextend_threshold") == 100


def test_no_lvm_system_dir_means_defaults_and_a_missing_file_is_no_error(tmp_path: Path) -> None:
    assert config.load({}).layers == []
    assert config.load({"LVM_SYSTEM_DIR": str(tmp_path / "nowhere")}).layers == []


def test_lvmlocal_conf_is_merged_into_lvm_conf(tmp_path: Path) -> None:
    (tmp_path / "lvm.conf").write_text("activation { monitoring = 0 }\n")
    (tmp_path / "lvmlocal.conf").write_text('local { system_id = "x" }\n')
    (layer,) = config.load({"LVM_SYSTEM_DIR": str(tmp_path)}).layers
    assert layer.tree == {"activation": {"monitoring": 0}, "local": {"system_id": "x"}}


def test_a_broken_lvm_conf_stops_an_lvm_command(tmp_path: Path) -> None:
    (tmp_path / "lvm.conf").write_text("activation {\n\tmonitoring = 1\n")
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 100 << 20)
    outcome = dispatch.run(state, ["pvcreate", "/dev/loop0"], env={"LVM_SYSTEM_DIR": str(tmp_path)})
    assert outcome.rc != 0
    assert "Parse error at byte" in outcome.stderr
    assert f"Failed to load config file {tmp_path}/lvm.conf" in outcome.stderr
    assert not state.pvs


def test_lvm_conf_reaches_the_commands(tmp_path: Path) -> None:
    """With a threshold below 100 LVM no longer warns that protection is off (lvm-semantics §5.2)."""
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 1 << 30)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 100M -T vg/pool"):
        assert dispatch.run(state, cmd.split()).rc == 0
    default = dispatch.run(state, ["lvcreate", "-V", "1G", "-T", "vg/pool", "-n", "a"])
    assert "You have not turned on protection" in default.stdout
    (tmp_path / "lvm.conf").write_text("activation/thin_pool_autoextend_threshold = 70\n")
    env = {"LVM_SYSTEM_DIR": str(tmp_path)}
    configured = dispatch.run(state, ["lvcreate", "-V", "1G", "-T", "vg/pool", "-n", "b"], env=env)
    assert configured.rc == 0
    assert "You have not turned on protection" not in configured.stdout


def _run(tmp_path: Path, conf: str, cmd: str) -> dispatch.Outcome:
    (tmp_path / "lvm.conf").write_text(conf)
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 100 << 20)
    return dispatch.run(state, cmd.split(), env={"LVM_SYSTEM_DIR": str(tmp_path)})


def test_a_broken_file_as_recorded_on_real_lvm(tmp_path: Path) -> None:
    """Recorded (pending case config-broken): RealBackend's device filter, then an unclosed section:
    the parse error comes unindented, before LVM's log is set up, and LVM exits with 4."""
    from backends.real import _lvm_conf

    conf = _lvm_conf(["/dev/loop0"]) + "activation {\n\tthin_pool_autoextend_threshold = 70\n"
    for cmd in ("pvcreate /dev/loop0", "lvs", "lvmconfig activation/thin_pool_autoextend_threshold"):
        outcome = _run(tmp_path, conf, cmd)
        assert (outcome.rc, outcome.stdout) == (4, "")
        assert outcome.stderr == (
            "Parse error at byte 158 (line 7): unexpected token\n"
            f"  Failed to load config file {tmp_path}/lvm.conf\n"
        )


def test_unknown_settings_and_wrong_types_are_warned_about_not_refused(tmp_path: Path) -> None:
    """Recorded in the VM: LVM warns and goes on (the wrong value gives way to the default)."""
    outcome = _run(tmp_path, "activation {\n\tbogus_setting = 1\n}\n", "lvs")
    assert (outcome.rc, outcome.stderr) == (
        0,
        '  Configuration setting "activation/bogus_setting" unknown.\n',
    )
    outcome = _run(
        tmp_path, 'activation {\n\tthin_pool_autoextend_threshold = "seventy"\n}\n', "lvmconfig --validate"
    )
    assert outcome.rc == 5
    assert outcome.stderr == (
        '  WARNING: Configuration setting "activation/thin_pool_autoextend_threshold" has invalid type. '
        "Found string but expected integer.\n"
        "  LVM configuration invalid.\n"
    )


def test_settings_lvsim_does_not_honour_are_refused_unless_at_their_default(tmp_path: Path) -> None:
    outcome = _run(tmp_path, 'global {\n\tunits = "k"\n}\n', "lvs")
    assert (outcome.rc, outcome.stderr) == (95, "lvsim: lvm.conf setting global/units is not emulated\n")
    assert _run(tmp_path, 'global {\n\tunits = "r"\n}\n', "lvs").rc == 0


def test_lvmconfig_defaults_as_lvm_prints_them(tmp_path: Path) -> None:
    """Recorded in the VM: every default value commented out; a setting without one prints nothing."""
    assert _run(tmp_path, "", "lvmconfig --type default activation/monitoring").stdout == "# monitoring=1\n"
    outcome = _run(tmp_path, "", "lvmconfig --type default allocation/thin_pool_chunk_size")
    assert (outcome.rc, outcome.stdout) == (0, "")
    outcome = _run(tmp_path, "", "lvmconfig --type default --withcomments activation/monitoring")
    assert outcome.stdout == (
        "\n# Configuration option activation/monitoring.\n# Monitor LVs that are activated.\n"
        "# The --ignoremonitoring option overrides this setting.\n"
        "# When enabled, LVM will ask dmeventd to monitor activated LVs.\n"
        "# This configuration option has an automatic default value.\n# monitoring=1\n"
    )
    assert (
        _run(tmp_path, "", "lvmconfig --type list activation/monitoring").stdout == "activation/monitoring\n"
    )
    assert _run(tmp_path, "", "lvmconfig").stdout == ""


def test_lvmconfig_shows_files_in_lvms_merge_order(tmp_path: Path) -> None:
    """Recorded in the VM: LVM merges its files into a fresh tree, each new section going second."""
    conf = 'activation {\n\tmonitoring = 1\n}\nallocation {\n\tthin_pool_zero = 0\n}\nreport {\n\ttime_format = "%s"\n}\n'
    outcome = _run(tmp_path, conf, "lvmconfig")
    assert outcome.stdout.splitlines()[0::3] == ["activation {", "report {", "allocation {"]


# Recorded in the VM (LVM 2.03.16, vm/out/training-explore/a-config.log): two linear LVs, a 20M and
# b 40M, and each report/* setting given by --config.
_REPORT_RECORDED = {
    'report/lvs_cols="lv_name,lv_size"': "  LV   LSize \n  a    20.00m\n  b    40.00m\n",
    'report/separator=":"': (
        "  LV  :VG:Attr      :LSize :Pool:Origin:Data% :Meta% :Move:Log:Cpy%Sync:Convert\n"
        "  a   :vg:-wi-a-----:20.00m:    :      :      :      :    :   :        :       \n"
        "  b   :vg:-wi-a-----:40.00m:    :      :      :      :    :   :        :       \n"
    ),
    "report/aligned=0": (
        "  LV VG Attr LSize Pool Origin Data% Meta% Move Log Cpy%Sync Convert\n"
        "  a vg -wi-a----- 20.00m        \n"
        "  b vg -wi-a----- 40.00m        \n"
    ),
    "report/prefixes=1": (
        "  LV   VG Attr       LSize  Pool Origin Data%  Meta%  Move Log Cpy%Sync Convert\n"
        + "".join(
            f"  LVM2_LV_NAME='{n}   ' LVM2_VG_NAME='vg' LVM2_LV_ATTR='-wi-a-----' LVM2_LV_SIZE='{s}'"
            " LVM2_POOL_LV='    ' LVM2_ORIGIN='      ' LVM2_DATA_PERCENT='      '"
            " LVM2_METADATA_PERCENT='      ' LVM2_MOVE_PV='    ' LVM2_MIRROR_LOG='   '"
            " LVM2_COPY_PERCENT='        ' LVM2_CONVERT_LV='       '\n"
            for n, s in (("a", "20.00m"), ("b", "40.00m"))
        )
    ),
    "report/compact_output=1": "  LV   VG Attr       LSize  \n  a    vg -wi-a----- 20.00m\n  b    vg -wi-a----- 40.00m\n",
    "report/columns_as_rows=1": (
        "  LV a b\n  VG vg vg\n  Attr -wi-a----- -wi-a-----\n  LSize 20.00m 40.00m\n"
        + "".join(
            f"  {h}  \n" for h in ("Pool", "Origin", "Data%", "Meta%", "Move", "Log", "Cpy%Sync", "Convert")
        )
    ),
    'report/output_format="json"': (
        '  {\n      "report": [\n          {\n              "lv": [\n'
        + ",\n".join(
            f'                  {{"lv_name":"{n}", "vg_name":"vg", "lv_attr":"-wi-a-----", "lv_size":"{s}",'
            ' "pool_lv":"", "origin":"", "data_percent":"", "metadata_percent":"", "move_pv":"",'
            ' "mirror_log":"", "copy_percent":"", "convert_lv":""}'
            for n, s in (("a", "20.00m"), ("b", "40.00m"))
        )
        + "\n              ]\n          }\n      ]\n  }\n"
    ),
    "report/headings=0 report/prefixes=1 -o lv_name,lv_active": (
        "  LVM2_LV_NAME='a   ' LVM2_LV_ACTIVE='active'\n  LVM2_LV_NAME='b   ' LVM2_LV_ACTIVE='active'\n"
    ),
    "report/binary_values_as_numeric=1 -o lv_name,lv_active,lv_active_locally": (
        "  LV   Active ActLocal  \n  a    active          1\n  b    active          1\n"
    ),
}


@pytest.mark.parametrize("setting", list(_REPORT_RECORDED))
def test_report_settings_as_recorded_on_real_lvm(setting: str) -> None:
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 256 << 20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 20M -n a vg", "lvcreate -L 40M -n b vg"):
        assert dispatch.run(state, cmd.split()).rc == 0
    settings, _, options = setting.partition(" -o ")
    argv = ["lvs", "--config", settings, *(["-o", options] if options else []), "vg"]
    outcome = dispatch.run(state, argv)
    assert (outcome.rc, outcome.stderr) == (0, "")
    assert outcome.stdout == _REPORT_RECORDED[setting]


def test_report_settings_give_way_to_the_command_line(tmp_path: Path) -> None:
    """reporter.c: --separator clears report/aligned, -O replaces report/lvs_sort, --reportformat
    report/output_format, --nameprefixes clears aligned."""
    (tmp_path / "lvm.conf").write_text(
        'report {\n\tlvs_cols = "lv_name,lv_size"\n\tlvs_sort = "-lv_size"\n\toutput_format = "json"\n}\n'
    )
    state = State()
    state.disks["/dev/loop0"] = Disk("/dev/loop0", 256 << 20)
    for cmd in ("vgcreate vg /dev/loop0", "lvcreate -L 20M -n a vg", "lvcreate -L 40M -n b vg"):
        assert dispatch.run(state, cmd.split()).rc == 0
    env = {"LVM_SYSTEM_DIR": str(tmp_path)}
    assert dispatch.run(state, ["lvs", "vg"], env=env).stdout.startswith('  {\n      "report"')
    basic = dispatch.run(state, ["lvs", "--reportformat", "basic", "vg"], env=env).stdout
    assert basic == "  LV   LSize \n  b    40.00m\n  a    20.00m\n"
    sorted_by_name = dispatch.run(
        state, ["lvs", "--reportformat", "basic", "-O", "lv_name", "--separator", ":", "vg"], env=env
    )
    assert sorted_by_name.stdout == "  LV:LSize\n  a:20.00m\n  b:40.00m\n"
    prefixed = dispatch.run(
        state, ["lvs", "--reportformat", "basic", "--nameprefixes", "--noheadings", "vg"], env=env
    )
    assert (
        prefixed.stdout
        == "  LVM2_LV_NAME='b' LVM2_LV_SIZE='40.00m'\n  LVM2_LV_NAME='a' LVM2_LV_SIZE='20.00m'\n"
    )
