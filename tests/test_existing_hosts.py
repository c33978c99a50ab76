"""Scenarios over existing storage: `existing:` and `setup:`, run-time
parameters (`--set`, checked against LVM's name rules), `when:` conditions on report values, `foreach`
over the LVs that carry a tag, and re-runs that find the work done.

The rendered scripts run against fast shims (tests/fast_shims.py: each command run in the test process,
as `lvsim shims` would run it) on a host that the scenario's setup made (the storage a real host would
already have); the shipped scenarios' runs on real LVM are in test_render.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from rendered_scripts import (
    dir_files,
    lvm_state,
    render_path,
    run_script,
    run_setup,
    saved_state,
    script_args,
    write_scenario,
)

from backends.sim import SimBackend
from lvsim import dispatch
from lvsim.scenarios import ScenarioError, load
from lvsim.scenarios.plan import make_plan, simulate
from lvsim.scenarios.runner import find

ROOT = Path(__file__).resolve().parent.parent
METADATA = Path(__file__).parent / "golden" / "metadata"


def _host(env: dict[str, str], scenario: Path) -> dict[str, str]:
    """The fast shims' host (env), made by the scenario's setup."""
    run_setup(scenario, SimBackend(state_path=env["LVSIM_STATE"]))
    return env


def _lvs(env: dict[str, str], *args: str) -> str:
    return dispatch.run(saved_state(env), ["lvs", *args]).stdout


# -- the loader ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("setup:\n  - run: vgs\n", "setup: makes the storage a scenario expects; declare it under existing:"),
        (
            "existing: {vgs: [vg0]}\nsteps:\n  - run: pvs ${disk.pv1}\n",
            "unknown variable ${disk.pv1} (with existing:, the disks are the setup's)",
        ),
        ("params:\n  lv: {is: lv, default: snapshot2}\n", "default 'snapshot2': Names starting \"snapshot\""),
        ("params:\n  vg: {is: vg, default: 'a b'}\n", "Name contains invalid character"),
        ("params:\n  d: {is: dir, default: relative}\n", "a directory is an absolute path"),
        ("params:\n  t: {is: tag, default: 'a b'}\n", "a tag is 1 to 1024 of the characters"),
        ("params:\n  n: {is: lv, default: x}\nvars:\n  n: y\n", "params/n: also declared under vars"),
        (
            "params:\n  n: {is: lv, default: x}\nvars:\n  m: {expr: '${n} * 2'}\n",
            "${n} is a run-time name, not a number for bc",
        ),
        (
            "steps:\n  - foreach: {vg: v, tag: t, as: lv}\n    steps:\n"
            "      - foreach: {vg: v, tag: t, as: x}\n        steps: [{run: vgs}]\n",
            "a foreach inside a foreach",
        ),
        ("steps:\n  - foreach: {vg: v, tag: t, as: lv}\n", "a foreach step needs its steps"),
        ("steps:\n  - run: vgs\n    steps: [{run: vgs}]\n", "'steps' does not apply to a run step"),
        (
            "steps:\n  - run: vgs\n    when: {lv: v/l, op: '>', value: 1}\n",
            "when: takes lv|vg|pv with field, or var (without field)",
        ),
        (
            "steps:\n  - run: lvs ${lv}\n  - foreach: {vg: v, tag: t, as: lv}\n    steps: [{run: vgs}]\n",
            "unknown variable ${lv}",
        ),
    ],
)
def test_scenario_errors(tmp_path: Path, text: str, message: str) -> None:
    body = f"name: x\ndescription: x\n{text}"
    if "steps:" not in text:
        body += "steps:\n  - run: vgs\n"
    path = tmp_path / "x.yaml"
    path.write_text(body)
    with pytest.raises(ScenarioError) as exc:
        load(path)
    assert message in str(exc.value)


def test_a_bad_name_given_with_var_is_refused() -> None:
    with pytest.raises(ScenarioError, match=r"--var lv='x_tmeta': Names including \"_tmeta\" are reserved"):
        load(find("nightly-xfs-backup"), {"lv": "x_tmeta"})


# -- lvsim run and plan ---------------------------------------------------------------------------


def test_lvsim_run_puts_a_default_directory_in_its_work_area() -> None:
    """A scenario file names no host directory of its own accord: lvsim run puts the default of a dir
    parameter in its work directory (--var names a host one)."""
    out = subprocess.run(
        [sys.executable, "-m", "lvsim.cli", "run", "nightly-xfs-backup"], capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout
    assert "dest=/tmp/lvsim-run-" in out.stdout and "/srv/backup" not in out.stdout.split("-- step 1")[1]
    assert "   existing VG dbvg: found\n   existing LV dbvg/dbdata: found\n" in out.stdout


def test_plan_from_an_imported_host_skips_the_setup_and_a_step_whose_condition_fails() -> None:
    sc = load(find("thin-pool-guard"), {"vg": "vg", "pool": "pool"})
    from lvsim.host import importer

    state, _ = importer.running_host([METADATA / "rich.vg"], {})
    plan = make_plan(simulate(sc, SimBackend(state=state), setup=False))
    assert plan["failure"] == "" and plan["commands"] == []
    assert plan["skipped"] == [{"step": 1, "why": "vg/pool data_percent > 80 does not hold ('0.00')"}]
    missing = load(find("thin-pool-guard"), {"vg": "vg", "pool": "nopool"})
    state, _ = importer.running_host([METADATA / "rich.vg"], {})
    plan = make_plan(simulate(missing, SimBackend(state=state), setup=False))
    assert plan["failure"] == "the host has no LV vg/nopool, which the scenario expects (existing:)"


# -- rendered scripts ----------------------------------------------------------------------------


def test_parameters_are_checked_when_the_script_runs(tmp_path: Path, fast_env: dict[str, str]) -> None:
    scenario = find("nightly-xfs-backup")
    script = render_path(scenario, tmp_path)
    env = _host(fast_env, scenario)
    before = lvm_state(env)
    for arg, said in (
        ("lv=snapshot1", '--set lv=snapshot1: Names starting "snapshot" are reserved.'),
        ("vg=-x", "--set vg=-x: Name cannot start with hyphen."),
        ("lv=a/b", "--set lv=a/b: Name contains invalid character, valid set includes: [a-zA-Z0-9.-_+]."),
        ("dest=backup", "--set dest=backup: a directory is an absolute path of printable characters"),
        ("size=1", "--set: no parameter named size in this scenario"),
    ):
        out = run_script(script, env, "--set", arg)
        assert out.returncode == 1 and said in out.stderr, (arg, out.stderr)
    out = run_script(script, env, "--set", "lv=nope")
    assert out.returncode == 1
    assert (
        "preflight: lv dbvg/nope does not exist (this scenario works on it, it never creates it)"
        in out.stderr
    )
    assert lvm_state(env) == before
    usage = run_script(script, env, "--help").stdout
    assert "  --set lv=LV (default dbdata)\n" in usage and "--loop" not in usage


def test_the_nightly_backup_runs_every_night_and_never_touches_the_lv(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    scenario = find("nightly-xfs-backup")
    script = render_path(scenario, tmp_path)
    env = _host(fast_env, scenario)
    before = _lvs(env, "-a", "-o", "lv_name,lv_attr,lv_size,lv_uuid")
    for night in (1, 2):
        dest = tmp_path / f"night{night}"
        out = run_script(script, env, f"--set=dest={dest}")
        assert out.returncode == 0, out.stderr
        assert (dest / "orders.sql").read_text() == "INSERT INTO orders VALUES (1, 'widget');\n"
        assert "preflight: VG dbvg: 4194304 bytes free for the scenario" in out.stderr
        assert _lvs(env, "-a", "-o", "lv_name,lv_attr,lv_size,lv_uuid") == before
    dry = run_script(script, env, "--dry-run", "--set", "lv=dbdata")
    assert dry.returncode == 0 and "dry run done" in dry.stderr
    assert "+ lvcreate --snapshot dbvg/dbdata --name dbdata_nightly -l 80%FREE" in dry.stderr
    assert _lvs(env, "-a", "-o", "lv_name,lv_attr,lv_size,lv_uuid") == before


@pytest.mark.parametrize("name", ["nightly-xfs-backup", "nightly-vm-disk-backup"])
def test_the_origins_backups_dry_run_run_and_run_again(
    tmp_path: Path, name: str, fast_env: dict[str, str]
) -> None:
    """On the simulator (test_render runs the same on real LVM): the script's
    dry run passes its preflight, shows lvs now and after, and changes nothing; the run makes the
    backup; the next night's run finishes too, with the LVs (uuids included) and the copy as before."""
    scenario = find(name)
    script = render_path(scenario, tmp_path)
    env = _host(fast_env, scenario)
    args = script_args(scenario, tmp_path)
    lvs = ("-a", "-o", "lv_name,lv_attr,lv_size,lv_tags,lv_uuid")
    before = _lvs(env, *lvs)
    state = lvm_state(env)
    dry = run_script(script, env, "--dry-run", *args)
    assert dry.returncode == 0, dry.stderr
    now, _, after = dry.stderr.partition(
        ": lvs -a after the scenario, as simulated when this script was rendered:\n"
    )
    assert now.split(": lvs -a on this host now:\n")[1].split("\n20")[0] == _lvs(env, "-a").rstrip("\n")
    assert after.split("\n20")[0] == _lvs(env, "-a").rstrip("\n")  # a backup leaves the LVs as they are
    assert after.endswith(": dry run done: the preflight passed and nothing was changed\n")
    assert lvm_state(env) == state and not any(p.exists() for p in (tmp_path / "dirs").glob("*/*"))
    first = run_script(script, env, *args)
    assert first.returncode == 0 and first.stderr.endswith(": done\n"), first.stderr
    backups = dir_files(scenario, tmp_path)
    assert all(backups) and _lvs(env, *lvs) == before
    second = run_script(script, env, *args)
    assert second.returncode == 0 and second.stderr.endswith(": done\n"), second.stderr
    assert _lvs(env, *lvs) == before and dir_files(scenario, tmp_path) == backups


def test_when_extends_the_pool_once_and_a_second_run_says_why_not(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    scenario = find("thin-pool-guard")
    script = render_path(scenario, tmp_path)
    text = script.read_text()
    assert '  need_free "${p_vg}"' not in text.split("preflight() {")[1].split("\n}\n")[0]
    env = _host(fast_env, scenario)
    first = run_script(script, env)
    assert first.returncode == 0, first.stderr
    assert "when vg0/pool0 data_percent > 80: yes (data_percent is 90.00)" in first.stderr
    assert "preflight: VG vg0: 54525952 bytes free for the scenario" in first.stderr
    size = _lvs(env, "--noheadings", "-o", "lv_size", "vg0/pool0")
    assert size.strip() == "152.00m"
    before = lvm_state(env)
    second = run_script(script, env)
    assert second.returncode == 0, second.stderr
    assert "when vg0/pool0 data_percent > 80: no (data_percent is 59.21)" in second.stderr
    assert "skipped, vg0/pool0 data_percent > 80 does not hold" in second.stderr
    assert lvm_state(env) == before


def test_foreach_backs_up_each_tagged_disk_and_leaves_the_others(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    scenario = find("nightly-vm-disk-backup")
    script = render_path(scenario, tmp_path)
    env = _host(fast_env, scenario)
    before = _lvs(env, "-a", "-o", "lv_name,lv_attr,lv_size,lv_tags")
    dry = run_script(script, env, "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "LVs of VG vmvg tagged nightly: vm01 vm02" in dry.stderr
    assert "+ lvcreate -s -n vm02_backup1 -L \\<snap_mb\\>m vmvg/vm02" in dry.stderr
    out = run_script(script, env, f"--set=dest={tmp_path / 'vms'}")
    assert out.returncode == 0, out.stderr
    assert {p.name: (p / "hostname").read_text() for p in (tmp_path / "vms").iterdir()} == {
        "vm01": "vm01\n",
        "vm02": "vm02\n",
    }
    assert _lvs(env, "-a", "-o", "lv_name,lv_attr,lv_size,lv_tags") == before
    only = run_script(script, env, "--set", "tag=none", f"--set=dest={tmp_path / 'none'}")
    assert only.returncode == 0 and "LVs of VG vmvg tagged none: none" in only.stderr


KEEP = """\
name: keep-snapshots
description: a thin snapshot of every tagged thin volume, kept; a second run finds them and skips
existing:
  vgs: [vg0]
disks:
  pv1: 256M
setup:
  - run: vgcreate vg0 ${disk.pv1}
  - run: lvcreate -L 64M -T vg0/pool
  - run: lvcreate -V 32M -T vg0/pool -n a --addtag keep
  - run: lvcreate -V 32M -T vg0/pool -n b --addtag keep
  - run: lvcreate -V 32M -T vg0/pool -n c
steps:
  - foreach: {vg: vg0, tag: keep, as: lv}
    steps:
      - run: lvcreate -s -n ${lv}_kept vg0/${lv}
      - run: lvcreate -s -n ${lv}_tmp vg0/${lv}
      - run: lvremove -f vg0/${lv}_tmp
"""


def test_a_loop_pass_that_was_done_before_is_skipped(tmp_path: Path, fast_env: dict[str, str]) -> None:
    scenario = write_scenario(tmp_path, KEEP)
    script = render_path(scenario, tmp_path)
    text = script.read_text()
    assert 'if all_exist lv vg0/"${v_lv}"_kept && none_exist lv vg0/"${v_lv}"_tmp; then' in text
    assert 'need_new lv vg0/"${v_lv}"_kept vg0/"${v_lv}"_tmp' in text
    env = _host(fast_env, scenario)
    assert run_script(script, env).returncode == 0
    assert _lvs(env, "--noheadings", "-o", "lv_name").split() == ["a", "a_kept", "b", "b_kept", "c", "pool"]
    before = lvm_state(env)
    again = run_script(script, env)
    assert again.returncode == 0, again.stderr
    assert "lv=a: done before (vg0/a_kept exist), skipped" in again.stderr
    assert lvm_state(env) == before
    shims = env["PATH"].split(":")[0]
    made = subprocess.run([f"{shims}/lvcreate", "-s", "-n", "b_tmp", "vg0/b"], env=env, capture_output=True)
    assert made.returncode == 0  # a leftover of a pass that failed half-way
    left = run_script(script, env)
    assert left.returncode == 1
    assert "preflight: lv vg0/b_kept already exists (a leftover of an earlier run?)" in left.stderr


def test_shipped_existing_scenarios_plan_from_their_setup() -> None:
    """lvsim plan of a scenario over existing storage starts from what its setup made."""
    plan = make_plan(simulate(load(find("nightly-vm-disk-backup"))))
    assert [vg["name"] for vg in plan["start"]] == ["vmvg"]
    assert sorted(plan["start"][0]["lvs"]) == ["scratch", "vm01", "vm02"]
    assert plan["commands"][0]["command"] == "lvs --noheadings --units m -o lv_size vmvg/vm01"
    assert json.dumps(plan)  # plain data


WHEN_VAR = """\
name: when-var
description: a step on a saved value
existing:
  vgs: [vg0]
disks:
  pv1: 64M
setup:
  - run: vgcreate vg0 ${disk.pv1}
steps:
  - run: vgs --noheadings -o lv_count vg0
    save: count
  - when: {var: count, op: "==", value: 0}
    run: lvcreate -L 8M -n first vg0
  - when: {var: count, op: ">", value: 0}
    run: lvcreate -L 8M -n second vg0
"""


def test_conditions_on_variables_and_what_conditional_steps_create(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    """A conditional step's new LVs are checked in its branch (not in the preflight, where the other
    branch's would be refused); a dry run cannot know a saved value and shows the step."""
    scenario = write_scenario(tmp_path, WHEN_VAR)
    script = render_path(scenario, tmp_path)
    assert "nothing to do" not in script.read_text()
    env = _host(fast_env, scenario)
    dry = run_script(script, env, "--dry-run")
    assert (
        dry.returncode == 0 and "when ${count} == 0: not known in a dry run; the step is shown" in dry.stderr
    )
    first = run_script(script, env)
    assert first.returncode == 0, first.stderr
    assert "when ${count} == 0: yes" in first.stderr and "when ${count} > 0: no" in first.stderr
    second = run_script(script, env)
    assert second.returncode == 0, second.stderr
    assert _lvs(env, "--noheadings", "-o", "lv_name").split() == ["first", "second"]
    third = run_script(script, env)
    assert third.returncode == 1 and "preflight: lv vg0/second already exists" in third.stderr
