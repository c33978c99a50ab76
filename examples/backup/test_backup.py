"""Tests of lvm-snapshot-backup.sh with lvsim's `lvm` fixture: no conftest, no root.

Each test builds a database volume (XFS, mounted, with a few files), runs the script as a
subprocess (its lvcreate, mount, xfs_repair, ... reach the simulated host through the shims on
PATH), and checks what it printed, what it copied and that it left nothing behind.  Tests that
need no fault run on both backends: `[sim]` here, `[real]` as root on real LVM (`lvsim vm --
pytest --lvm-backend=real` or this project's VM suite, `-m real`).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lvsim.testing.host import LvmHost

SCRIPT = Path(__file__).with_name("lvm-snapshot-backup.sh")
BOTH = pytest.mark.parametrize("lvm", ["sim", "real"], indirect=True)

# A copy command that writes to the database first, as a live database does during a backup.
BUSY_DATABASE = """#!/usr/bin/env bash
set -e
dd if=/dev/zero of="$DATADIR/late.bin" bs=1M count="$LATE_MIB" status=none
sync
exec cp -a "$1/." "$2/"
"""


def database(lvm: LvmHost, tmp_path: Path, *, thin: bool = False) -> Path:
    """dbvg/db: 320 MiB of XFS (a thin volume in dbvg/pool if `thin`), mounted, with two files."""
    disk = lvm.add_disk("1G")
    lvm.run(["vgcreate", "dbvg", disk], check=True)
    if thin:
        lvm.run("lvcreate -L 400M -T dbvg/pool --errorwhenfull y", check=True)
        lvm.run("lvcreate -V 320M -T dbvg/pool -n db", check=True)
    else:
        lvm.run("lvcreate -L 320M -n db dbvg", check=True)
    lvm.run("mkfs.xfs -q /dev/dbvg/db", check=True)
    datadir = tmp_path / "data"
    datadir.mkdir()
    lvm.run(["mount", "/dev/dbvg/db", str(datadir)], check=True)
    (datadir / "orders.sql").write_text("INSERT INTO orders VALUES (1, 'widget');\n")
    (datadir / "customers.sql").write_text("INSERT INTO customers VALUES (1, 'ACME');\n")
    return datadir


def backup(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "LVM_BACKUP_RETRY_DELAY": "0", **(env or {})},
        timeout=600,
    )


def busy_database(tmp_path: Path, datadir: Path, mib: int) -> tuple[str, dict[str, str]]:
    """The copy command (-c) and its environment: the database writes `mib` MiB, then cp copies."""
    tool = tmp_path / "busy-copy.sh"
    tool.write_text(BUSY_DATABASE)
    tool.chmod(0o755)
    return str(tool), {"DATADIR": str(datadir), "LATE_MIB": str(mib)}


def assert_cleaned_up(lvm: LvmHost, dest: Path, lvs: set[str]) -> None:
    """No snapshot left, nothing mounted or left in TMPDIR by the script, no partial copy."""
    assert {row["lv_name"] for row in lvm.lvs("dbvg")} == lvs
    assert "lvm-backup." not in lvm.run("mount").stdout
    assert not list(Path(os.environ["TMPDIR"]).glob("lvm-backup.*"))
    assert not list(dest.glob(".*.partial"))


@BOTH
def test_backup_copies_the_snapshot_and_cleans_up(lvm: LvmHost, tmp_path: Path) -> None:
    datadir = database(lvm, tmp_path)
    dest = tmp_path / "backups"
    dest.mkdir()
    copy, env = busy_database(tmp_path, datadir, 1)
    done = backup("-s", "100M", "-c", copy, "dbvg/db", str(dest), env=env)
    assert done.returncode == 0, done.stderr
    assert "cow snapshot dbvg/db_backup created" in done.stderr
    copied = Path(done.stdout.strip())
    assert copied.parent == dest and copied.name.startswith("db-")
    assert sorted(p.name for p in copied.iterdir()) == ["customers.sql", "orders.sql"]  # not late.bin
    assert (copied / "orders.sql").read_text() == (datadir / "orders.sql").read_text()
    assert_cleaned_up(lvm, dest, {"db"})


@BOTH
def test_snapshot_overflow_mid_copy_fails_and_cleans_up(lvm: LvmHost, tmp_path: Path) -> None:
    datadir = database(lvm, tmp_path)
    dest = tmp_path / "backups"
    dest.mkdir()
    # xfs_repair -L rewrites the whole 64 MiB log into the snapshot; 48 MiB more overflow 100 MiB
    copy, env = busy_database(tmp_path, datadir, 48)
    done = backup("-s", "100M", "-c", copy, "dbvg/db", str(dest), env=env)
    assert done.returncode == 1
    assert "snapshot dbvg/db_backup overflowed during the copy" in done.stderr
    assert_cleaned_up(lvm, dest, {"db"})
    assert not list(dest.iterdir())


@BOTH
def test_pool_full_mid_backup_fails_and_cleans_up(lvm: LvmHost, tmp_path: Path) -> None:
    database(lvm, tmp_path, thin=True)
    dest = tmp_path / "backups"
    dest.mkdir()
    filler = lvm.faults.pool_full_after("dbvg/pool", "1M")  # the thin snapshot's log repair needs more
    done = backup("dbvg/db", str(dest))
    assert done.returncode == 1
    assert "thin snapshot dbvg/db_backup created" in done.stderr
    assert "xfs_repair -L /dev/dbvg/db_backup failed" in done.stderr
    assert_cleaned_up(lvm, dest, {"db", "pool", filler.split("/")[1]})


def test_failing_mount_fails_and_cleans_up(lvm: LvmHost, tmp_path: Path) -> None:
    database(lvm, tmp_path)
    dest = tmp_path / "backups"
    dest.mkdir()
    lvm.faults.mount_fails(match="db_backup")
    done = backup("-s", "100M", "dbvg/db", str(dest))
    assert done.returncode == 1
    assert "cannot mount /dev/dbvg/db_backup: mount: " in done.stderr
    assert "can't read superblock on /dev/mapper/dbvg-db_backup." in done.stderr
    assert_cleaned_up(lvm, dest, {"db"})


def test_busy_snapshot_is_removed_on_retry(lvm: LvmHost, tmp_path: Path) -> None:
    database(lvm, tmp_path)
    dest = tmp_path / "backups"
    dest.mkdir()
    lvm.faults.busy("dbvg/db_backup", times=2)  # udev still has it open twice; the third try works
    done = backup("-s", "100M", "dbvg/db", str(dest), env={"LVM_BACKUP_RETRIES": "3"})
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("Logical volume dbvg/db_backup in use.") == 2
    assert_cleaned_up(lvm, dest, {"db"})


def test_snapshot_left_behind_is_reported(lvm: LvmHost, tmp_path: Path) -> None:
    database(lvm, tmp_path)
    dest = tmp_path / "backups"
    dest.mkdir()
    lvm.faults.busy("dbvg/db_backup", times=3)
    done = backup("-s", "100M", "dbvg/db", str(dest), env={"LVM_BACKUP_RETRIES": "3"})
    assert done.returncode == 3
    assert "clean-up incomplete, left behind: snapshot dbvg/db_backup;" in done.stderr
    assert {row["lv_name"] for row in lvm.lvs("dbvg")} == {"db", "db_backup"}
