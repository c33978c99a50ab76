"""lvsim render: audited scripts, shellcheck-clean, equivalent to `lvsim run`, and leak-free on failure.

The rendered scripts run here against the simulator's command shims (`lvsim shims DIR`) or the fast
shims of the tests (tests/fast_shims.py), with a PATH that holds only the shims and a short list of
harmless host tools, so that no script can reach a real LVM, mount or losetup even when the tests run
as root.  The shipped scenarios' scripts end as `lvsim run` does on real LVM here, and on the
simulator in test_render_inject (which fails each of their commands in turn on the way).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from rendered_scripts import (
    BASIC,
    SCENARIOS,
    SHELLCHECK,
    dir_files,
    expects_host,
    host_env,
    left_files,
    lvm_state,
    make_shims,
    render_path,
    reports,
    run_on_sim,
    run_script,
    run_setup,
    saved_state,
    script_args,
    write_scenario,
)
from scenario_observe import FINAL_FIELDS, observe_on_real
from typer.testing import CliRunner

from lvsim.cli import app
from lvsim.scenarios import render

# -- rendering ------------------------------------------------------------------------------------


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_shipped_scenarios_render_shellcheck_clean(path: Path, tmp_path: Path) -> None:
    script = render_path(path, tmp_path)
    result = subprocess.run([str(SHELLCHECK), str(script)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout
    assert result.stdout == ""


def test_script_header_and_safety_settings(tmp_path: Path) -> None:
    text = render_path(write_scenario(tmp_path, BASIC), tmp_path, pool="tpool").read_text()
    lines = text.splitlines()
    assert lines[0] == "#!/usr/bin/env bash"
    assert "set -Eeuo pipefail" in lines
    assert lines[1].startswith("# render-basic: rendered by lvsim ")
    assert "#   pool = tpool" in lines and "#   vg = testvg" in lines
    assert "#   pv1: at least 256.00m, $PV1" in lines
    assert "trap on_exit EXIT" in text and "trap 'on_err" in text
    assert "LVSIM_ALLOW_NONROOT" in text
    subprocess.run([str(SHELLCHECK), str(tmp_path / "scenario.sh")], check=True)


def test_undo_stack_follows_creation_and_removal(tmp_path: Path) -> None:
    text = render_path(write_scenario(tmp_path, BASIC), tmp_path).read_text()
    body = text[text.index("log 'step 1/") :]
    pushes = [line.strip() for line in body.splitlines() if line.strip().startswith("undo_p")]
    assert pushes == [
        'undo_push pv:"${disk_pv1}" -- pvremove -y "${disk_pv1}"',
        'undo_push pv:"${disk_pv2}" -- pvremove -y "${disk_pv2}"',
        "undo_push vg:testvg -- vgremove -f testvg",
        "undo_push lv:testvg/pool0 -- lvremove -f testvg/pool0",
        "undo_push lv:testvg/thin1 -- lvremove -f testvg/thin1",
        "undo_push lv:testvg/lin -- lvremove -f testvg/lin",
        "undo_push lv:testvg/snap -- lvremove -f testvg/snap",
        'undo_push "dir:$v_dir" -- rmdir -- "$v_dir"',
        "undo_pop kpartx:/dev/testvg/snap",
        "undo_pop kpartx:/dev/mapper/testvg-snap",
        "undo_pop lv:testvg/snap",
        'undo_pop dir:"${v_dir}"',
    ]
    # the expected failure creates nothing, so pushes nothing
    failing = body[body.index("lvcreate -L 10G") :].splitlines()[1]
    assert failing.strip().startswith("check_contains err")
    assert "need_new lv testvg/pool0 testvg/thin1 testvg/lin testvg/snap" in text
    assert "testvg-snap-cow" in text and "testvg-lin-real" in text


@pytest.mark.parametrize(
    ("vg", "lv", "override", "culprit"),
    [
        ("x; rm -rf /", "data", {}, "${vg} = 'x; rm -rf /'"),
        ("testvg", "data", {"vg": "$(reboot)"}, "${vg} = '$(reboot)'"),
        ("testvg", "snapshot1", {}, "${lv} = 'snapshot1'"),
        ("testvg", "a b", {}, "${lv} = 'a b'"),
    ],
)
def test_bad_names_are_refused_naming_the_variable(
    tmp_path: Path, vg: str, lv: str, override: dict[str, str], culprit: str
) -> None:
    scenario = write_scenario(
        tmp_path,
        f"""\
        name: bad-name
        description: a name LVM refuses
        vars:
          vg: {json.dumps(vg)}
          lv: {json.dumps(lv)}
        disks:
          pv1: 64M
        steps:
          - run: [vgcreate, "${{vg}}", "${{disk.pv1}}"]
          - run: [lvcreate, -L, 8M, -n, "${{lv}}", "${{vg}}"]
        """,
    )
    with pytest.raises(render.RenderError) as exc:
        render.render_file(str(scenario), override)
    assert culprit in str(exc.value)
    assert "nothing rendered" in str(exc.value)
    out = tmp_path / "out.sh"
    args = ["render", str(scenario), "-o", str(out)] + [f"--var={k}={v}" for k, v in override.items()]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert culprit in result.output
    assert not out.exists()


def test_values_are_quoted_and_survive_the_shell(tmp_path: Path) -> None:
    scenario = write_scenario(
        tmp_path,
        """\
        name: quoting
        description: values full of shell syntax stay data
        vars:
          vg: qvg
          text: "it's $HOME `id` \\"x\\" ; rm -rf / *"
        disks:
          pv1: 64M
        steps:
          - run: vgcreate ${vg} ${disk.pv1}
          - mktemp: dir
          - write_file: {path: "${dir}/a file", content: "${text}"}
          - assert: {file: "${dir}/a file", equals: "${text}"}
        """,
    )
    script = render_path(scenario, tmp_path)
    env = host_env(tmp_path, make_shims(tmp_path))
    result = run_script(script, env, "--loop")
    assert result.returncode == 0, result.stderr
    (written,) = Path(env["TMPDIR"]).glob("tmp.*/a file")
    assert written.read_text() == 'it\'s $HOME `id` "x" ; rm -rf / *'


def test_dry_run_prints_every_command_and_changes_nothing(tmp_path: Path) -> None:
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    env = host_env(tmp_path, make_shims(tmp_path))
    result = run_script(script, env, "--dry-run", "--loop")
    assert result.returncode == 0, result.stderr
    assert not Path(env["LVSIM_STATE"]).exists()
    logged = [line.split(": + ", 1)[1] for line in result.stderr.splitlines() if ": + " in line]
    assert logged == [
        "truncate -s 268435456 \\<loop-dir\\>/pv1.img",
        "losetup -f --show \\<loop-dir\\>/pv1.img",
        "truncate -s 134217728 \\<loop-dir\\>/pv2.img",
        "losetup -f --show \\<loop-dir\\>/pv2.img",
        "vgcreate testvg \\<pv1\\> \\<pv2\\>",
        "lvcreate -L 100M --thinpool pool0 testvg",
        "lvcreate -V 80M -T testvg/pool0 -n thin1",
        "lvcreate -L 40M -n lin testvg",
        "lvs --noheadings --units m --nosuffix -o lv_size testvg/lin",
        "bc: scale=0; <linsize> * 20 / 100",
        "lvcreate -s -n snap -L \\<snapsize\\>m testvg/lin",
        "lvcreate -L 10G -n huge testvg",
        "mktemp -d",
        "lvremove -f testvg/snap",
        "lvs --noheadings -o lv_name testvg/snap",
        "rmdir \\<dir\\>",
    ]
    assert "preflight: running as root" in result.stderr  # a dry run makes the read-only checks too
    assert "lvs -a after the scenario, as simulated when this script was rendered:\n  LV " in result.stderr
    assert result.stderr.endswith("dry run done: the preflight passed and nothing was changed\n")


def test_disks_must_be_given_without_loop(tmp_path: Path) -> None:
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    env = host_env(tmp_path, make_shims(tmp_path))
    env["PATH"] += f":{Path(shutil.which('blockdev') or '/sbin/blockdev').parent}"
    result = run_script(script, env)
    assert result.returncode != 0
    assert "disk pv1: give --disk pv1=DEVICE, set PV1, or use --loop" in result.stderr
    assert not Path(env["LVSIM_STATE"]).exists()
    result = run_script(script, env, "--disk", "nosuch=/dev/sdz")
    assert result.returncode != 0
    assert "no disk named nosuch" in result.stderr


def test_a_second_run_changes_nothing_and_leftovers_are_refused(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    """A run that finds what the scenario leaves says so and changes nothing; a run that finds only part
    of it (a leftover of a failed run, or someone else's) is refused before any change."""
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    env = fast_env
    first = run_script(script, env, "--loop")
    assert first.returncode == 0, first.stderr
    before = lvm_state(env)
    again = run_script(script, env, "--loop")
    assert again.returncode == 0, again.stderr
    assert (
        "nothing to do: what this scenario leaves is here already "
        "(testvg testvg/pool0 testvg/thin1 testvg/lin); it ran before, nothing changed"
    ) in again.stderr
    assert lvm_state(env) == before
    assert run_script(script, env, "--loop", "--dry-run").returncode == 0
    shims = Path(env["PATH"].split(":")[0])
    removed = subprocess.run([str(shims / "lvremove"), "-f", "testvg/lin"], env=env, capture_output=True)
    assert removed.returncode == 0
    before = lvm_state(env)
    partial = run_script(script, env, "--loop")
    assert partial.returncode != 0
    assert "preflight: vg testvg already exists" in partial.stderr
    assert lvm_state(env) == before


def test_missing_tool_fails_the_preflight(tmp_path: Path) -> None:
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    shims = make_shims(tmp_path)
    (shims / "lvremove").unlink()
    env = host_env(tmp_path, shims)
    result = run_script(script, env, "--loop")
    assert result.returncode != 0
    assert "required tools not found: lvremove" in result.stderr
    assert not Path(env["LVSIM_STATE"]).exists()


# -- equivalence and failure injection ------------------------------------------------------------


def test_basic_script_ends_like_lvsim_run(tmp_path: Path) -> None:
    path = write_scenario(tmp_path, BASIC)
    script = render_path(path, tmp_path)
    env = host_env(tmp_path, make_shims(tmp_path))
    result = run_script(script, env, "--loop")
    assert result.returncode == 0, result.stderr
    assert reports(saved_state(env)) == reports(run_on_sim(path))
    assert "done; the scenario leaves" in result.stderr


def test_root_is_required_unless_allowed(tmp_path: Path) -> None:
    """As an ordinary user the preflight stops at once; LVSIM_ALLOW_NONROOT=1 lets it go on."""
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    home = Path(tempfile.mkdtemp(prefix="lvsim-nonroot-"))
    try:
        home.chmod(0o755)
        (home / "tmp").mkdir(mode=0o777)
        (home / "tmp").chmod(0o1777)
        shutil.copy(script, home / "scenario.sh")
        (home / "scenario.sh").chmod(0o755)
        env = {"PATH": "/usr/bin:/bin", "TMPDIR": str(home / "tmp"), "LVSIM_STATE": str(home / "state")}
        setpriv = shutil.which("setpriv") or "setpriv"
        as_user = [setpriv, "--reuid=65534", "--regid=65534", "--clear-groups"] if os.geteuid() == 0 else []
        argv = [*as_user, "bash", str(home / "scenario.sh"), "--loop"]
        refused = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
        assert refused.returncode != 0
        assert "preflight: must run as root" in refused.stderr
        assert "tools:" not in refused.stderr
        allowed = subprocess.run(
            argv, env={**env, "LVSIM_ALLOW_NONROOT": "1"}, capture_output=True, text=True, check=False
        )
        assert "not root, allowed by LVSIM_ALLOW_NONROOT=1" in allowed.stderr
        assert not Path(env["LVSIM_STATE"]).exists()
    finally:
        shutil.rmtree(home)


def _replay_undo(log: str) -> None:
    """Undo what a successful script left, from its own log of the undo stack."""
    stack: list[str] = []
    for line in log.splitlines():
        if ": undo pushed: " in line:
            stack.append(line.split(": undo pushed: ", 1)[1])
        elif ": undo popped: " in line:
            popped = line.split(": undo popped: ", 1)[1]
            del stack[len(stack) - 1 - stack[::-1].index(popped)]
    for command in reversed(stack):
        subprocess.run(["bash", "-c", command], capture_output=True, check=False)


@pytest.mark.real
@pytest.mark.parametrize(
    "path",
    [pytest.param(p, id=p.stem, marks=pytest.mark.shard_group(f"scenario-{p.stem}")) for p in SCENARIOS],
)
def test_script_on_real_lvm_ends_like_lvsim_run(path: Path, tmp_path: Path) -> None:
    seen, transcript = observe_on_real(path)
    assert seen["failure"] == "", transcript
    expected_lvs = seen["report"]
    vgs = sorted({row["vg_name"] for row in expected_lvs})
    script = render_path(path, tmp_path)
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    with contextlib.ExitStack() as stack:
        if expects_host(path):  # the storage it expects, made by its setup on loop devices of a backend
            from backends.real import RealBackend

            host = stack.enter_context(RealBackend())
            run_setup(path, host)
            env.update(host.environment())
            lvs_now = ["lvs", "-a", "--reportformat", "json", "-o", f"{FINAL_FIELDS},lv_uuid", *vgs]
            before = subprocess.run(lvs_now, env=env, capture_output=True, text=True, check=True).stdout
            dry = run_script(script, env, "--dry-run", *script_args(path, tmp_path))
            assert dry.returncode == 0, dry.stderr[-3000:]
            assert "dry run done: the preflight passed and nothing was changed" in dry.stderr
            assert ": lvs -a on this host now:\n" in dry.stderr
            assert ": lvs -a after the scenario, as simulated when this script was rendered:\n" in dry.stderr
            after = subprocess.run(lvs_now, env=env, capture_output=True, text=True, check=True).stdout
            assert after == before
        result = run_script(script, env, *script_args(path, tmp_path))
        try:
            assert result.returncode == 0, result.stderr[-3000:]
            argv = ["lvs", "-a", "--reportformat", "json", "-o", FINAL_FIELDS, "--units", "b", *vgs]
            lvs = subprocess.run(argv, env=env, capture_output=True, text=True, check=True)
            assert json.loads(lvs.stdout)["report"][0]["lv"] == expected_lvs
            left = left_files(tmp_path) + dir_files(path, tmp_path)
            assert sorted(left, key=repr) == sorted(seen["files"].values(), key=repr)
            if expects_host(path):  # run again (next night, cron's next look): it passes, changes no LV
                backups = dir_files(path, tmp_path)
                ran = subprocess.run(lvs_now, env=env, capture_output=True, text=True, check=True).stdout
                again = run_script(script, env, *script_args(path, tmp_path))
                assert again.returncode == 0, again.stderr[-3000:]
                assert again.stderr.endswith(": done\n"), again.stderr[-3000:]
                now = subprocess.run(lvs_now, env=env, capture_output=True, text=True, check=True).stdout
                assert now == ran
                assert dir_files(path, tmp_path) == backups  # the same copy, made again
        finally:
            _replay_undo(result.stderr)


@pytest.mark.skipif(
    not all(Path(f"/dev/loop{i}").is_block_device() for i in (0, 1)), reason="needs /dev/loop0 and 1 nodes"
)
def test_given_devices_are_checked_for_the_space_the_simulation_needs(
    tmp_path: Path, fast_env: dict[str, str]
) -> None:
    """Without --loop the disks are given; the preflight sizes them (blockdev) against the simulated peak.

    The host's /dev/loop0 and /dev/loop1 nodes only satisfy `[[ -b ]]`: every command that touches
    them is a (fast) shim, and blockdev is a stub reporting the sizes under test.
    """
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    env = fast_env
    for dev, size in (("/dev/loop0", "256M"), ("/dev/loop1", "128M")):
        added = CliRunner().invoke(app, ["disk", "add", dev, size, "--state", env["LVSIM_STATE"]])
        assert added.exit_code == 0, added.output
    before = lvm_state(env)
    stub = tmp_path / "hostbin" / "blockdev"
    args = ("--disk", "pv1=/dev/loop0", "--disk=pv2=/dev/loop1")
    stub.write_text("#!/bin/sh\necho $((80 * 1048576))\n")
    stub.chmod(0o755)
    small = run_script(script, env, *args)
    assert small.returncode != 0
    assert "preflight: VG testvg would have 38 extents, the scenario needs 39" in small.stderr
    assert "the scenario was written for 268435456; sizes given as %FREE" in small.stderr
    assert lvm_state(env) == before
    stub.write_text("#!/bin/sh\ncase $2 in /dev/loop0) echo 268435456 ;; *) echo 134217728 ;; esac\n")
    fits = run_script(script, env, *args)
    assert fits.returncode == 0, fits.stderr
    assert reports(saved_state(env)) == reports(run_on_sim(write_scenario(tmp_path, BASIC)))


def test_help_and_unknown_arguments(tmp_path: Path) -> None:
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    env = {"PATH": "/usr/bin:/bin"}
    shown = run_script(script, env, "--help")
    assert shown.returncode == 0
    assert "Usage: scenario.sh [--dry-run] [--loop] [--disk NAME=DEVICE]..." in shown.stdout
    assert "  pv2 (at least 128.00m): --disk pv2=DEVICE or PV2=DEVICE" in shown.stdout
    wrong = run_script(script, env, "--force")
    assert wrong.returncode == 1
    assert "unknown argument: --force" in wrong.stderr
