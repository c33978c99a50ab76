"""`lvsim import`: a real host's vgcfgbackup file (tests/golden/metadata, from LVM 2.03.16 in the VM) made
into a simulated host whose reports are the host's; what exists already is refused; --map moves PVs.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import pytest

from lvsim import dispatch
from lvsim.core.model import Disk, State
from lvsim.host import capture, importer

METADATA = Path(__file__).parent / "golden" / "metadata"


@pytest.fixture(autouse=True)
def utc() -> Iterator[None]:
    """The host's reports are in the VM's time zone, UTC."""
    old = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if old is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = old
    time.tzset()


def test_import_shows_the_hosts_reports(tmp_path: Path) -> None:
    """`lvsim import` of the VM's backup, then vgchange -ay: vgs and pvs print what the VM printed
    (uuids, tags, sizes, segments, vg_mda_free of the text the VM wrote)."""
    state = State()
    found = importer.sources([METADATA / "rich.vg"])
    done = importer.import_sources(state, found, {})
    assert [(d.vg, d.disks) for d in done] == [("vg", [("/dev/loop0", 100 << 20), ("/dev/loop1", 60 << 20)])]
    assert dispatch.run(state, ["vgchange", "-ay", "vg"]).rc == 0
    recorded = json.loads((METADATA / "rich.reports.json").read_text())["steps"]
    for step in recorded:
        out = dispatch.run(state, shlex.split(step["cmd"]))
        assert (out.rc, out.stdout) == (step["rc"], step["stdout"]), step["cmd"]


def test_import_refuses_what_exists_and_maps_devices() -> None:
    state = State()
    found = importer.sources([METADATA / "linear-cow.vg"])
    with pytest.raises(importer.ImportFailure, match="--map"):
        state.disks["/dev/loop2"] = Disk("/dev/loop2", 1 << 30)
        importer.import_sources(state, found, {})
    assert "vg2" not in state.vgs
    importer.import_sources(state, found, importer.parse_maps(["/dev/loop2=/dev/sdc"]))
    assert state.vgs["vg2"].pvs == ["/dev/sdc"] and state.pvs["/dev/sdc"].vg == "vg2"
    with pytest.raises(importer.ImportFailure, match="exists already"):
        importer.import_sources(
            state, importer.sources([METADATA / "linear-cow.vg"]), {"/dev/loop2": "/dev/sdd"}
        )


def test_cli_import(tmp_path: Path) -> None:
    """lvsim import: one line per VG, a refusal (95) for what lvsim does not model, rc 5 for the rest."""
    env = {**os.environ, "LVSIM_STATE": str(tmp_path / "state"), "TZ": "UTC"}

    def lvsim(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "lvsim.cli", *args], env=env, capture_output=True, text=True
        )

    rich = str(METADATA / "rich.vg")
    out = lvsim("import", rich)
    assert (out.returncode, out.stdout, out.stderr) == (
        0,
        f"vg: imported from {rich} onto /dev/loop0 (100.00 MiB), /dev/loop1 (60.00 MiB)\n",
        "",
    )
    out = lvsim("exec", "--", "lvs", "--noheadings", "-o", "lv_name,lv_attr", "vg/tsnap", "vg/lin")
    assert out.stdout == "  lin   owi---s---\n  tsnap Vwi---tz-k\n"
    out = lvsim("import", rich)
    assert (out.returncode, out.stderr) == (5, f"lvsim: {rich}: a VG named vg exists already\n")
    messages = str(METADATA / "thin-messages.vg")
    out = lvsim("import", "--map", "/dev/loop0=/dev/sdx", "--map", "/dev/loop1=/dev/sdy", messages)
    assert (out.returncode, out.stderr) == (
        95,
        f"lvsim: {messages}: thin pool pool with pending thin messages is not emulated\n",
    )
    assert lvsim("import", "--map", "loop0=sdx", rich).returncode == 5


NIGHTLY = """\
name: nightly-thin-snapshot
description: a nightly snapshot of an existing thin volume, kept while the origin changes
vars:
  vg: vg
  lv: thin1
steps:
  - run: lvcreate -s -n ${lv}_nightly ${vg}/${lv}
  - write: {device: "/dev/${vg}/${lv}", size: 8M, fill: random}
  - run: lvremove -f ${vg}/${lv}_nightly
"""


def test_plan_from_an_imported_host(tmp_path: Path) -> None:
    """lvsim plan --from: the scenario runs on the host as its backup shows it, activated as at boot."""
    scenario = tmp_path / "nightly.yaml"
    scenario.write_text(NIGHTLY)
    env = {**os.environ, "LVSIM_STATE": str(tmp_path / "state")}
    argv = [sys.executable, "-m", "lvsim.cli", "plan", str(scenario), "--from", str(METADATA / "rich.vg")]
    out = subprocess.run([*argv, "--format", "json"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    plan = json.loads(out.stdout)
    assert [vg["name"] for vg in plan["start"]] == ["vg"]
    assert plan["start"][0]["pools"][0]["virtual"] == 40 << 20
    assert [c["rc"] for c in plan["commands"]] == [0, 0, 0]
    assert plan["peaks"]["vg/pool"] == {"data": 20.0, "metadata": 10.94, "overcommit": 1.5}
    text = subprocess.run(argv, env=env, capture_output=True, text=True).stdout
    assert "\n  0. the host before the first command:\n       VG vg: 68.00m free of 152.00m" in text
    assert not (tmp_path / "state").exists()  # a plan saves nothing
    missing = subprocess.run([*argv[:-1], str(tmp_path / "nope.vg")], env=env, capture_output=True, text=True)
    assert (missing.returncode, missing.stderr) == (
        5,
        f"lvsim: cannot read {tmp_path / 'nope.vg'}: No such file or directory\n",
    )


def test_capture_then_import_replays_the_host(tmp_path: Path) -> None:
    """A simulated host (the real test's layout below) captured as `lvsim capture` reads a real one (its
    tools run by the simulator), then imported elsewhere: every report of the bundle comes out the
    same, and every field of lvs -a, vgs and pvs -o all but the kernel's device numbers, usage (Data%,
    Meta%, Snap%) included."""
    host = State()
    devices = {}
    for i, size in enumerate((200, 100, 100, 64), 1):
        devices[f"pv{i}"] = f"/dev/loop{i - 1}"
        host.disks[devices[f"pv{i}"]] = Disk(devices[f"pv{i}"], size << 20)
    for cmd in REAL_LAYOUT:
        assert dispatch.run(host, shlex.split(cmd.format(**devices))).rc == 0, cmd

    def run(argv: Sequence[str]) -> subprocess.CompletedProcess[str]:
        out = dispatch.run(host, list(argv))
        return subprocess.CompletedProcess(argv, out.rc, out.stdout, out.stderr)

    seqnos = {name: vg.seqno for name, vg in host.vgs.items()}
    captured = capture.capture(tmp_path / "bundle", run)
    assert sorted(captured.backups) == ["backup", "data"]
    assert {name: vg.seqno for name, vg in host.vgs.items()} == seqnos  # capture changed nothing
    state = State()
    done = importer.import_sources(state, importer.sources([tmp_path / "bundle"]), {})
    assert [(d.vg, d.captured, d.notes) for d in done] == [("backup", True, []), ("data", True, [])]
    for step in captured.runs:
        out = dispatch.run(state, step["argv"])
        assert (out.rc, out.stdout) == (step["rc"], step["stdout"]), step["argv"]
    assert _differences(_reports(run), _reports(run_in(state))) == []


def run_in(state: State) -> Callable[[list[str]], subprocess.CompletedProcess[str]]:
    def run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        out = dispatch.run(state, argv)
        return subprocess.CompletedProcess(argv, out.rc, out.stdout, out.stderr)

    return run


def test_a_real_hosts_capture_replays() -> None:
    """The bundle `lvsim capture` made of a real host (LVM 2.03.16 in the VM: two VGs, a thin pool with
    a thin snapshot written to, a COW snapshot, tags, an inactive LV; /etc/lvm and the metadata were the
    same before and after it): imported, every report it holds comes out byte for byte, usage and
    vg_mda_free included."""
    state = State()
    done = importer.import_sources(state, importer.sources([METADATA / "vm-bundle"]), {})
    assert [(d.vg, d.captured, d.notes) for d in done] == [("backup", True, []), ("data", True, [])]
    runs = json.loads((METADATA / "vm-bundle" / "capture.json").read_text())["runs"]
    assert len(runs) == 9
    for step in runs:
        out = dispatch.run(state, step["argv"])
        assert (out.rc, out.stdout) == (step["rc"], step["stdout"]), step["argv"]


# -- a real host, end to end ----------------------------------------------

# A varied host: linear LVs in several segments over several PVs, a thin pool (zeroing off, a tag)
# with data written, thin volumes, thin snapshots (one activated with -K and written, one without the
# skip flag), a COW snapshot with some fill, tags on VGs, PVs and LVs, an LV with the activation-skip
# flag, a read-only LV, a contiguous one, an inactive one, read-ahead set, a second VG with 1 MiB
# extents and cling allocation, free space left in both.
REAL_LAYOUT = [
    "pvcreate {pv1} {pv2} {pv3} {pv4}",
    "vgcreate --addtag site_a data {pv1} {pv2} {pv3}",
    "lvcreate -L 20M -n web data --addtag web {pv1}",
    "lvcreate -l 5 -n logs data {pv2}",
    "lvextend -L +8M data/web {pv3}",
    "lvcreate -L 80M -T data/pool -c 128k -Zn --addtag pooltag",
    "lvcreate -V 60M -T data/pool -n db --addtag db",
    "dd if=/dev/urandom of=/dev/data/db bs=128k count=100 oflag=direct status=none",
    "lvcreate -s data/db -n db_snap",
    "dd if=/dev/urandom of=/dev/data/db bs=128k count=20 seek=200 oflag=direct status=none",
    "lvchange -ay -K data/db_snap",
    "dd if=/dev/urandom of=/dev/data/db_snap bs=128k count=10 seek=300 oflag=direct status=none",
    "lvcreate -s data/db -n db_snap2 -kn",
    "lvcreate -V 30M -T data/pool -n scratch",
    "lvcreate -s -L 12M -n web_snap data/web",
    "dd if=/dev/urandom of=/dev/data/web bs=64k count=40 oflag=direct status=none",
    "lvcreate -L 8M -n ro -pr data",
    "lvcreate -L 8M -n cont --alloc contiguous data",
    "lvcreate -L 4M -n skip data",
    "lvchange -ky data/skip",
    "lvchange -an data/skip",
    "pvchange --addtag fast {pv1}",
    "lvchange -an data/logs",
    "lvchange --addtag nightly data/logs",
    "vgcreate -s 1M --alloc cling backup {pv4}",
    "lvcreate -L 16M -n archive backup",
    "lvcreate -L 6M -n small backup --addtag a --addtag b",
    "lvchange -r 256 backup/archive",
]
REAL_REPORTS = {
    "lv": ["lvs", "-a", "-o", "all", "--reportformat", "json", "--units", "b"],
    "vg": ["vgs", "-o", "all", "--reportformat", "json", "--units", "b"],
    "pv": ["pvs", "-o", "all", "--reportformat", "json", "--units", "b"],
}
# The fields that cannot be the same in a simulated host, and why.
UNMATCHABLE = {
    "lv_kernel_major": "the device numbers the host's kernel gave its dm devices",
    "lv_kernel_minor": "the device numbers the host's kernel gave its dm devices",
}


def _reports(run: Callable[[list[str]], subprocess.CompletedProcess[str]]) -> dict[str, list[dict[str, str]]]:
    found = {}
    for kind, argv in REAL_REPORTS.items():
        out = run(argv)
        assert out.returncode == 0, (argv, out.stderr)
        found[kind] = json.loads(out.stdout)["report"][0][kind]
    return found


def _differences(host: dict[str, list[dict[str, str]]], sim: dict[str, list[dict[str, str]]]) -> list[str]:
    """Every field (but the unmatchable) that the simulated host reports otherwise than the real one."""
    diffs = []
    for kind, rows in host.items():
        names = [[r.get(f"{kind}_name"), r.get("vg_name")] for r in rows]
        assert [[r.get(f"{kind}_name"), r.get("vg_name")] for r in sim[kind]] == names, kind
        for real, simulated in zip(rows, sim[kind], strict=True):
            assert sorted(real) == sorted(simulated), kind  # the same fields
            diffs += [
                f"{kind} {real[f'{kind}_name']}: {name} {value!r} on the host, {simulated[name]!r} simulated"
                for name, value in real.items()
                if name not in UNMATCHABLE and simulated[name] != value
            ]
    return diffs


@pytest.mark.real
def test_a_real_host_imports_with_every_report_field(tmp_path: Path) -> None:
    """Real LVM builds a varied host; `lvsim capture` and plain `vgcfgbackup -f` read it; `lvsim import`
    of the bundle gives every field of lvs -a, vgs and pvs -o all as the host gives it (but the kernel's
    device numbers), usage included; the plain backups, imported as vgcfgrestore leaves VGs (inactive),
    give every field as the host once its VGs are deactivated. `lvsim plan --from-host` starts from the
    host as it is (pool and snapshot usage) and changes nothing."""
    from backends.real import RealBackend

    with RealBackend(tag_vgs=False) as host:
        devices = {f"pv{i}": host.add_disk(size << 20) for i, size in enumerate((200, 100, 100, 64), 1)}
        for cmd in REAL_LAYOUT:
            made = host.run(shlex.split(cmd.format(**devices)))
            assert made.rc == 0, (cmd, made.stderr)
        env = {**os.environ, "TZ": "UTC"}
        host_env = {**env, **host.environment()}  # LVM's private lvm.conf, for LVM's tools only

        def on_host(argv: list[str]) -> subprocess.CompletedProcess[str]:
            return subprocess.run(argv, env=host_env, capture_output=True, text=True)

        def lvsim(*args: str, state: str, tools: bool = False) -> subprocess.CompletedProcess[str]:
            """lvsim; with tools, where it runs LVM's own tools (capture, --from-host)."""
            return subprocess.run(
                [sys.executable, "-m", "lvsim.cli", *args],
                env={**(host_env if tools else env), "LVSIM_STATE": str(tmp_path / state)},
                capture_output=True,
                text=True,
            )

        before = _reports(on_host)
        (tmp_path / "host-reports.json").write_text(json.dumps(before, indent=1))  # to look at if it fails
        captured = lvsim("capture", str(tmp_path / "bundle"), state="unused.state", tools=True)
        assert captured.returncode == 0, captured.stderr
        assert captured.stdout == f"{tmp_path / 'bundle'}: 2 VG(s) captured (backup, data)\n"
        plain = host.run(["vgcfgbackup", "-f", str(tmp_path / "plain-%s.vg")])
        assert plain.rc == 0, plain.stderr
        assert _reports(on_host) == before  # capture and vgcfgbackup changed nothing
        imported = lvsim("import", str(tmp_path / "bundle"), state="bundle.state")
        assert imported.returncode == 0, imported.stderr
        from_bundle = _differences(before, _reports(lambda a: lvsim("exec", "--", *a, state="bundle.state")))

        scenario = tmp_path / "nightly.yaml"
        scenario.write_text(NIGHTLY)
        planned = lvsim(
            "plan",
            str(scenario),
            "--from-host",
            "--var",
            "lv=db",
            "--var",
            "vg=data",
            state="plan.state",
            tools=True,
        )
        assert planned.returncode == 0, planned.stdout + planned.stderr
        assert "  0. the host before the first command:\n       VG backup: " in planned.stdout
        as_json = lvsim(
            "plan",
            str(scenario),
            "--from-host",
            "--var=lv=db",
            "--var=vg=data",
            "--format=json",
            state="plan.state",
            tools=True,
        )
        plan = json.loads(as_json.stdout)
        start = {vg["name"]: vg for vg in plan["start"]}
        rows = {row["lv_name"]: row for row in before["lv"]}
        assert sorted(start) == ["backup", "data"]
        assert f"{start['data']['pools'][0]['data_percent']:.2f}" == rows["pool"]["data_percent"]
        assert f"{start['data']['snapshots']['web_snap']:.2f}" == rows["web_snap"]["snap_percent"]
        assert [c["rc"] for c in plan["commands"]] == [0, 0, 0]
        assert _reports(on_host) == before  # a plan changes nothing
        assert not (tmp_path / "plan.state").exists()

        assert host.run(["vgchange", "-an", "data", "backup"]).rc == 0
        inactive = _reports(on_host)
        (tmp_path / "host-inactive.json").write_text(json.dumps(inactive, indent=1))
        files = [str(tmp_path / f"plain-{vg}.vg") for vg in ("backup", "data")]
        imported = lvsim("import", *files, state="plain.state")
        assert (imported.returncode, imported.stderr) == (0, "")
        from_files = _differences(inactive, _reports(lambda a: lvsim("exec", "--", *a, state="plain.state")))
        assert (from_bundle, from_files) == ([], [])
