#!/usr/bin/env bash
# `lvsim vm -- COMMAND` end to end, run on the host by vm/test-real.sh: a user's project (one
# test file using the `lvm` fixture, no conftest, outside this checkout) runs as root on real LVM in
# the VM that lvsim itself boots. Exit 0 only if that test passed there on the real backend.
set -Eeuo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
project=$(mktemp -d "${TMPDIR:-/tmp}/lvsim-user-project.XXXXXX")

cat >"$project/test_my_script.py" <<'PY'
import os
import subprocess


def test_my_script_on_real_lvm(lvm):
    assert lvm.backend == "real" and os.geteuid() == 0
    disk = lvm.add_disk("256M")
    subprocess.run(["vgcreate", "uservg", disk], check=True)  # the code under test: LVM itself
    subprocess.run(["lvcreate", "-L", "10M", "-n", "data", "uservg"], check=True)
    assert lvm.lv("uservg/data")["lv_size"] == 12 * 2**20
    assert os.path.exists("/dev/mapper/uservg-data")
PY

log="$project.log"
trap 'rm -rf "$project" "$log"' EXIT
status=0
(cd "$project" && "$root/.venv/bin/lvsim" vm --timeout 900 -- \
    python -m pytest --lvm-backend=real -v -p no:cacheprovider) >"$log" 2>&1 || status=$?
cat "$log"
if [[ $status -ne 0 ]] || ! grep -q "test_my_script_on_real_lvm PASSED" "$log"; then
    echo "vm/lvsim-vm-check.sh: FAILED: lvsim vm did not run the user's test on real LVM (exit $status)" >&2
    exit 1
fi
echo "vm/lvsim-vm-check.sh: lvsim vm ran a user's test file on real LVM: passed"
