"""The test support from the shell: `lvsim env`, `lvsim fail`, `lvsim clock`, the bats helper, and
`lvsim vm`'s checks (booting the VM itself is for the VM host; see docs/testing.md)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from lvsim.testing import vm

BIN = Path(sys.executable).parent


def sh(script: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("LVSIM_")}
    clean["PATH"] = f"{BIN}{os.pathsep}{clean['PATH']}"
    return subprocess.run(
        ["bash", "-c", script], cwd=cwd, env={**clean, **env}, capture_output=True, text=True, check=False
    )


def test_env_exports_state_and_shims(tmp_path: Path) -> None:
    done = sh('eval "$(lvsim env)"; echo "$LVSIM_STATE"; echo "${PATH%%:*}"; type -P lvcreate', tmp_path)
    assert done.returncode == 0, done.stderr
    state, first, lvcreate = done.stdout.splitlines()
    assert state == str(tmp_path / ".lvsim" / "state")
    assert first == str(tmp_path / ".lvsim" / "bin") and lvcreate == f"{first}/lvcreate"
    again = sh('eval "$(lvsim env)"; eval "$(lvsim env)"; echo "$PATH"', tmp_path)
    assert again.stdout.count(".lvsim/bin") == 1  # not added twice


def test_env_shims_keep_their_state(tmp_path: Path) -> None:
    """The shims `lvsim env --state` writes use that state even when LVSIM_STATE changes later."""
    script = """
    eval "$(lvsim env --state host/state)"
    truncate -s 1G disk.img
    disk=$(losetup -f --show disk.img)
    vgcreate vg "$disk" >/dev/null
    LVSIM_STATE=elsewhere vgs --noheadings -o vg_name
    """
    done = sh(script, tmp_path)
    assert (done.returncode, done.stdout.split()) == (0, ["vg"]), done.stderr
    assert (tmp_path / "host" / "state").exists() and not (tmp_path / "elsewhere").exists()


def test_fail_from_the_shell(tmp_path: Path) -> None:
    script = """
    eval "$(lvsim env)"
    truncate -s 1G disk.img
    vgcreate vg "$(losetup -f --show disk.img)" >/dev/null
    lvcreate -L 8M -n x vg >/dev/null
    lvsim fail lvs --rc 5 --stderr "  injected" --stdout "partial" --times 2 --match 'vg/x'
    lvsim fail --busy vg/x
    lvsim fail --mount --match nowhere
    lvsim fail --list
    lvs vg/x; echo "rc=$?"
    lvremove -f vg/x; echo "rc=$?"
    lvsim fail --clear
    lvsim fail --list
    lvs --noheadings -o lv_name vg/x
    """
    done = sh(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [
        "lvs matching 'vg/x': rc=5, 2 more time(s)",
        "lvremove: hold vg/x open, 1 more time(s)",
        "mount matching 'nowhere': mount: can't read superblock, 1 more time(s)",
        "partialrc=5",
        "rc=5",
        "  x   ",
    ]
    assert done.stderr == "  injected  Logical volume vg/x in use.\n"


def test_genuine_faults_from_the_shell(tmp_path: Path) -> None:
    script = """
    eval "$(lvsim env)"
    truncate -s 1G disk.img
    vgcreate vg "$(losetup -f --show disk.img)" >/dev/null
    lvcreate -L 100M -T vg/pool --errorwhenfull y >/dev/null
    lvcreate -V 1G -T vg/pool -n thin >/dev/null 2>&1
    lvsim fail --pool-full vg/pool --after 1M
    dd if=/dev/zero of=/dev/vg/thin bs=1M count=1 oflag=direct status=none && echo fits
    dd if=/dev/zero of=/dev/vg/thin bs=1M count=1 seek=1 oflag=direct status=none || echo full
    lvcreate -L 64M -n data vg >/dev/null
    lvcreate -s -L 8M -n snap vg/data >/dev/null
    lvsim fail --snapshot-overflow vg/snap --after 8k
    dd if=/dev/zero of=/dev/vg/data bs=4k count=3 oflag=direct status=none
    lvs --noheadings -o lv_snapshot_invalid vg/snap
    """
    done = sh(script, tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.split("\n") == ["vg/lvsim_fill", "fits", "full", "  snapshot invalid", ""]


def test_fail_usage_errors(tmp_path: Path) -> None:
    for args, message in [
        ("", "give one of COMMAND, --busy"),
        ("lvs --busy vg/x", "give one of COMMAND, --busy"),
        ("lvs --rc 0", "rc must be 1..255"),
        ("--busy nothing", "neither an LV of an existing VG"),
        ("--pool-full vg/pool", "need --after SIZE"),
        ("lvs --rc 5 --match '('", "bad regular expression"),
    ]:
        done = sh(f"lvsim fail {args}", tmp_path)
        assert done.returncode == 2 and message in done.stderr, (args, done.stderr)
        assert "Traceback" not in done.stderr


def test_clock_from_the_shell(tmp_path: Path) -> None:
    done = sh("lvsim clock; lvsim clock advance 60; lvsim clock set 1900000000; lvsim clock", tmp_path)
    assert done.stdout.split() == ["1800000000", "1800000060", "1900000000", "1900000000"]
    for args in ("advance", "rewind 5", "set 5", "show 5"):
        bad = sh(f"lvsim clock {args}", tmp_path)
        assert bad.returncode == 2 and "Traceback" not in bad.stderr, args


def test_bats_helper_outside_bats(tmp_path: Path) -> None:
    """The helper's functions work in plain bash too (LVSIM_TEST_DIR takes $BATS_TEST_TMPDIR's place)."""
    script = """
    source "$(lvsim env --bats-helper)"
    lvsim_setup
    disk=$(lvsim_disk 1G)
    vgcreate vg "$disk" >/dev/null
    lvcreate -L 320M -n x vg >/dev/null
    mkfs.xfs -q /dev/vg/x
    mkdir "$LVSIM_TEST_DIR/mnt"
    mount /dev/vg/x "$LVSIM_TEST_DIR/mnt"
    touch "$LVSIM_TEST_DIR/mnt/file"
    lvsim_teardown
    mount
    ls -A "$LVSIM_TEST_DIR/mnt"
    echo "$disk $LVSIM_STATE"
    """
    done = sh(script, tmp_path, LVSIM_TEST_DIR=str(tmp_path))
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"/dev/loop0 {tmp_path}/lvsim/state\n"


def test_vm_says_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(vm.sys, "executable", str(tmp_path / "python"))
    with pytest.raises(vm.VmUnavailable, match="pip install virtme-ng"):
        vm.run(["true"], tmp_path)
    (tmp_path / "vng").write_text("")
    with pytest.raises(vm.VmUnavailable, match="qemu-system-x86_64 not found: install the Debian packages"):
        vm.run(["true"], tmp_path)
    monkeypatch.setenv("LVSIM_KERNEL", str(tmp_path / "vmlinuz-0.0-none"))
    with pytest.raises(vm.VmUnavailable, match="is not readable"):
        vm.find_kernel()


def test_vm_command_line(tmp_path: Path) -> None:
    argv = vm.command_line(
        ["pytest", "--lvm-backend=real", "tests/"],
        tmp_path,
        tmp_path / "log" / "guest.log",
        vng="/usr/bin/vng",
        kernel=Path("/boot/vmlinuz-6.1.0-57-amd64"),
        memory="2G",
        cpus=2,
    )
    assert argv[:4] == ["/usr/bin/vng", "--disable-kvm", "--run", "/boot/vmlinuz-6.1.0-57-amd64"]
    assert argv[argv.index("--rwdir") + 1] == str(tmp_path)
    guest = argv[-1]
    assert guest.startswith(f"bash {vm.GUEST} {tmp_path}/log/guest.log {tmp_path} {BIN} ")
    assert guest.endswith(" pytest --lvm-backend=real tests/")
    assert vm.GUEST.exists()


def test_vm_cli_without_a_command(tmp_path: Path) -> None:
    done = sh("lvsim vm", tmp_path)
    assert done.returncode == 2 and "Traceback" not in done.stderr


def test_shell_files_are_shellcheck_clean() -> None:
    root = Path(__file__).resolve().parent.parent
    files = [
        root / "lvsim" / "testing" / "lvsim.bash",
        root / "lvsim" / "testing" / "vm_guest.sh",
        root / "examples" / "backup" / "lvm-snapshot-backup.sh",
        root / "vm" / "lvsim-vm-check.sh",
        root / "vm" / "test-real.sh",
    ]
    done = subprocess.run(
        [str(BIN / "shellcheck"), "-s", "bash", *map(str, files)], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout
