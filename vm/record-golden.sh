#!/usr/bin/env bash
# Re-record golden transcripts from real LVM in one VM boot.
#
#   vm/record-golden.sh [CASE...]      # case names (tests/golden/cases/NAME.yaml); default: all
#
# Each case runs on a fresh RealBackend (its disks come out as /dev/loop0, /dev/loop1, ...); the
# recordings land in tests/golden/recorded/NAME.json.
set -Eeuo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
export LVSIM_VM_TIMEOUT=${LVSIM_VM_TIMEOUT:-14400}  # a few seconds per command on a busy machine
staging=vm/out/recorded.$$  # private: several recordings may run at once
mkdir -p "$staging"
trap 'rm -rf "$staging"' EXIT
bash vm/run.sh python -m lvsim.testing.transcript record "$@" -o "$staging"
shopt -s nullglob
recorded=("$staging"/*.json)
[[ ${#recorded[@]} -gt 0 ]] || { echo "vm/record-golden.sh: nothing was recorded" >&2; exit 1; }
mkdir -p tests/golden/recorded
cp "${recorded[@]}" tests/golden/recorded/
echo "vm/record-golden.sh: ${#recorded[@]} recording(s) written to tests/golden/recorded/"
