"""Golden transcripts: every recording from real LVM replayed on each backend.

`[sim]` holds the simulator to what real LVM 2.03.16 printed; `[real]` (in the VM) replays the same
commands live on real LVM and compares with the stored recording, so drift between the recordings
and the real tools is caught at once.  Re-record with `make record-golden`.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lvsim.backend import Backend
from lvsim.testing import transcript

RECORDINGS = transcript.recordings()
CASES = sorted(transcript.CASES_DIR.glob("*.yaml"))


@pytest.mark.parametrize("path", RECORDINGS, ids=lambda p: p.stem)
def test_golden_transcript(path: Path, backend: Backend) -> None:
    recording = transcript.load_recording(path)
    mismatches = transcript.replay(recording, backend)
    assert not mismatches, transcript.format_mismatches(path.stem, mismatches)


@pytest.mark.parametrize("path", CASES, ids=lambda p: p.stem)
def test_case_is_recorded(path: Path) -> None:
    """A case edited after recording must be re-recorded (`make record-golden`)."""
    case = transcript.load_case(path)
    recorded = transcript.RECORDED_DIR / f"{case.name}.json"
    assert recorded.exists(), f"{case.name} has no recording: run `make record-golden`"
    recording = transcript.load_recording(recorded)
    assert recording["disks"] == list(case.disks)
    assert recording["description"] == case.description
    steps = [(s["cmd"], s["stdin"]) if "cmd" in s else next(iter(s.items())) for s in recording["steps"]]
    assert steps == [("wait", s.wait) if s.wait else ("mkdir", s.mkdir) if s.mkdir else (s.cmd, s.stdin)
                     for s in case.steps]  # fmt: skip
    assert recording.get("lvm_conf", "") == case.lvm_conf
    assert recording.get("dmeventd", False) == case.dmeventd
    assert recording["lvm_version"].startswith("2.03.16")


def test_recordings_have_cases_and_format() -> None:
    keys = {"name", "description", "disks", "lvm_version", "steps"}
    environment = {"lvm_conf", "dmeventd"}  # cases that set lvm.conf or need dmeventd
    step_keys = {"cmd", "stdin", "rc", "stdout", "stderr"}
    for path in RECORDINGS:
        recording = json.loads(path.read_text())
        assert set(recording) in (keys, keys | environment), path
        assert recording["name"] == path.stem
        assert (transcript.CASES_DIR / f"{path.stem}.yaml").exists(), f"{path.stem}: recording without a case"
        assert all(set(step) in (step_keys, {"wait"}, {"mkdir"}) for step in recording["steps"]), path


def test_enough_commands_recorded() -> None:
    """Issues 2 and 3 ask for at least 150 recorded commands each: core-*, and the rest (thin, COW, data)."""
    counts = {"core": 0, "other": 0}
    for path in RECORDINGS:
        steps = len(transcript.load_recording(path)["steps"])
        counts["core" if path.stem.startswith("core-") else "other"] += steps
    assert counts["core"] >= 150 and counts["other"] >= 150, counts


def test_normalise_masks_only_run_specific_text() -> None:
    text = (
        '  "lv_uuid":"3Hx1Kq-Ab2c-De3f-Gh4i-Jk5l-Mn6o-Pq7rSt", lv_time 2026-11-27 15:44:00 +0000 on virtme-ng\n'
        "65536 bytes (66 kB, 64 KiB) copied, 0.0123 s, 5.3 MB/s\n"
        "  vg   1   0   0 wz--n- 296.00m 296.00m virtme-ngx\n"
    )
    assert transcript.normalise(text) == (
        f'  "lv_uuid":"{transcript.UUID_MASK}", lv_time {transcript.TIME_MASK} on HOST\n'
        "65536 bytes (66 kB, 64 KiB) copied, T s, R B/s\n"
        "  vg   1   0   0 wz--n- 296.00m 296.00m virtme-ngx\n"
    )


def test_parse_size() -> None:
    assert transcript.parse_size("300M") == 300 << 20
    assert transcript.parse_size("1G") == 1 << 30
    assert transcript.parse_size("64k") == 64 << 10
    assert transcript.parse_size(4096) == 4096
    with pytest.raises(ValueError):
        transcript.parse_size("1.5G")


def test_mismatch_shows_a_diff() -> None:
    m = transcript.Mismatch(3, "lvs", "stdout", "  a\n  b\n", "  a\n  c\n")
    text = transcript.format_mismatches("case", [m])
    assert "step 3 `lvs`: stdout differs" in text
    assert "-  b" in text and "+  c" in text


def test_normalise_drops_only_lvmpolld_warnings() -> None:
    """The VM has no lvmpolld daemon; its three warning lines are environment, not LVM semantics."""
    text = (
        "  /run/lvm/lvmpolld.socket: connect failed: No such file or directory\n"
        "  WARNING: Failed to connect to lvmpolld. Proceeding with polling without using lvmpolld.\n"
        "  WARNING: Check global/use_lvmpolld in lvm.conf or the lvmpolld daemon state.\n"
        "  WARNING: Thin pool vg/p is out of data space.\n"
    )
    assert transcript.normalise(text) == "  WARNING: Thin pool vg/p is out of data space.\n"


def test_time_columns_of_a_separated_report_are_masked() -> None:
    """report/time_format="%s" prints epoch seconds (Proxmox asks for them): only the lv_time
    column is masked, sizes of the same shape next to it are not."""
    argv = ["lvs", "--separator", ":", "--noheadings", "--units", "b", "--config", 'report/time_format="%s"',
            "--options", "vg_name,lv_size,time"]  # fmt: skip
    text = "  vg:1785000000:1785000123\n"
    assert transcript.mask_time_columns(text, argv) == "  vg:1785000000:TIME\n"
    assert transcript.mask_time_columns(text, ["lvs", "-o", "+time", "--separator", ":"]) == text
    assert transcript.mask_time_columns(text, ["lvs", "-o", "vg_name,lv_size,time"]) == text


def test_normalise_masks_the_scratch_directory() -> None:
    text = "mount: /tmp/lvsim-case-9_l870ek/mnt: can't read superblock on /dev/mapper/vg-snap.\n"
    assert transcript.normalise(text) == "mount: SCRATCH/mnt: can't read superblock on /dev/mapper/vg-snap.\n"


def test_a_mkdir_step_makes_a_directory_in_the_scratch_directory(tmp_path: Path) -> None:
    """`{mkdir: DIR}` (a mount point) runs no command; DIR must stay inside the scratch directory."""
    case = tmp_path / "case.yaml"
    case.write_text("description: d\ndisks: []\nsteps:\n  - {mkdir: mnt/sub}\n  - lvs\n")
    assert transcript.load_case(case).steps[0] == transcript.Step("", mkdir="mnt/sub")
    with transcript.scratch_dir() as scratch:
        transcript.make_scratch_dir("mnt/sub")
        assert (Path(scratch) / "mnt" / "sub").is_dir()
    for bad in ("/tmp/x", "../x", "a/../../x", ""):
        case.write_text(f"description: d\ndisks: []\nsteps:\n  - {{mkdir: '{bad}'}}\n")
        with pytest.raises(ValueError):
            transcript.load_case(case)
