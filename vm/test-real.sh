#!/usr/bin/env bash
# `make test-real`: boot VMs and run the tests marked `real` inside them as root.
#
# The tests are split over LVSIM_VM_SHARDS VMs run side by side (default: one per host CPU, at most 4;
# `pytest --shard I/N` balances them by tests/real_durations.json), each with the host's CPUs shared
# out. Results come back in vm/out/junit-real-I.xml (and the pytest summaries on stdout). It first boots
# one VM to check (`vm/run.sh --check`); where none can be booted (no vng, qemu or kernel, or LVM fails
# in it) this prints one loud line and exits 0; under CI=true it fails. Extra arguments go to pytest
# (e.g. `bash vm/test-real.sh -k golden`). `make test-real` runs it with only the system directories on
# PATH, so that nothing here depends on a PATH entry a user happens to have.
# A test that fails runs once more, alone in a fresh VM; one that passes then is named FLAKY at the
# end, with its first failure; one that fails again fails the run.
set -Eeuo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

if ! reason=$(bash vm/run.sh --check 2>&1); then
    if [[ ${CI:-} == true ]]; then
        echo "vm/test-real.sh: ERROR: cannot boot the test VM (CI=true): ${reason#vm/run.sh: }" >&2
        exit 1
    fi
    echo "!!!!! REAL-LVM SUITE SKIPPED: cannot boot the test VM: ${reason#vm/run.sh: } !!!!!" >&2
    exit 0
fi

# The Vagrant set-up shares vm/provision.sh with this harness: check its Vagrantfile when vagrant is here.
if command -v vagrant >/dev/null 2>&1; then
    (cd vagrant && VAGRANT_CHECKPOINT_DISABLE=1 vagrant validate)
fi

export LVSIM_VM_TIMEOUT=${LVSIM_VM_TIMEOUT:-3600}
cpus=$(nproc)
shards=${LVSIM_VM_SHARDS:-$((cpus < 4 ? cpus : 4))}
export LVSIM_VM_CPUS=$((cpus / shards > 0 ? cpus / shards : 1))
rm -rf vm/out/junit-real*.xml vm/out/pytest-cache-*
start=$(date +%s)
pids=()
for ((i = 0; i < shards; i++)); do
    # Each shard keeps its own pytest cache in vm/out, whose lastfailed names the tests that failed.
    args=(python -m pytest -m real -v --durations=10 --junitxml="vm/out/junit-real-$i.xml"
        -o cache_dir="vm/out/pytest-cache-$i")
    ((shards == 1)) || args+=(--shard "$i/$shards")
    LVSIM_VM_TAG=$( ((shards == 1)) || echo "vm$i") bash vm/run.sh "${args[@]}" "$@" &
    pids+=("$!")
done
status=0
tests_failed=false
for pid in "${pids[@]}"; do
    rc=0
    wait "$pid" || rc=$?
    if ((rc == 1)); then
        tests_failed=true  # pytest ran and some tests failed
    elif ((rc != 0 && rc != 5)); then
        status=$rc  # 5: pytest found no test for this shard; anything else (a VM killed, ...) is final
    fi
done
elapsed=$(($(date +%s) - start))

# A real test that failed runs once more, alone in a fresh VM, so that one timing accident of a
# software-emulated VM does not fail the run; a test that fails again fails it, and one that passes
# the second time is named as flaky at the end of the output.
flaky=()
if $tests_failed && ((status == 0)); then
    mapfile -t failed < <("$root/.venv/bin/python" -c '
import json, sys
from pathlib import Path
for path in sorted(Path("vm/out").glob("pytest-cache-*/v/cache/lastfailed")):
    print(*json.loads(path.read_text()), sep="\n")')
    if ((${#failed[@]} == 0)); then
        status=1
    else
        echo "vm/test-real.sh: ${#failed[@]} real test(s) failed; running them once more in a fresh VM: ${failed[*]}"
        rc=0
        LVSIM_VM_TAG=rerun bash vm/run.sh python -m pytest -m real -v -p no:cacheprovider \
            --junitxml=vm/out/junit-real-rerun.xml "${failed[@]}" || rc=$?
        if ((rc == 0)); then
            flaky=("${failed[@]}")
        else
            status=1
        fi
    fi
fi

"$root/.venv/bin/python" - "$shards" "$elapsed" "${flaky[@]}" <<'PY' || status=1
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

shards, elapsed, flaky = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
totals = dict.fromkeys(("tests", "failures", "errors", "skipped"), 0)
unhappy = []
for i in range(shards):
    path = Path(f"vm/out/junit-real-{i}.xml")
    if not path.exists():
        print(f"vm/test-real.sh: VM {i} brought no JUnit report back", file=sys.stderr)
        sys.exit(1)
    root = ET.parse(path).getroot()
    for suite in [root] if root.tag == "testsuite" else root.iter("testsuite"):
        for key in totals:
            totals[key] += int(suite.get(key, 0))
    for case in root.iter("testcase"):
        for bad in [*case.findall("failure"), *case.findall("error")]:
            head = (bad.get("message") or bad.text or "").strip().splitlines()[:3]
            unhappy.append(f"{bad.tag.upper()} {case.get('classname')}::{case.get('name')}: " + " | ".join(head))
n, f, e, s = totals.values()
# After the VMs' long outputs, the last lines of the log name what went wrong (a CI log shows its tail).
for line in unhappy:
    print(f"vm/test-real.sh: {line[:600]}")
if n == 0:
    print("vm/test-real.sh: no real-LVM test ran", file=sys.stderr)
    sys.exit(1)
for nodeid in flaky:
    print(f"vm/test-real.sh: FLAKY (failed, then passed when run again alone): {nodeid}")
print(f"real-LVM suite in {shards} VM(s): {n - f - e - s} passed, {f} failed, {e} errors, {s} skipped "
      f"({elapsed} s wall, including boot)" + (f"; {len(flaky)} of the failed passed when run again" if flaky else ""))
PY

# `lvsim vm -- COMMAND` itself: a user's test file, no conftest, on real LVM in the VM lvsim
# boots (one more boot, after the shards; not when pytest arguments chose some tests only).
if [[ $# -eq 0 ]]; then
    bash vm/lvsim-vm-check.sh || status=1
fi
exit "$status"
