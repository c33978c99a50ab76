#!/usr/bin/env bash
# Runs inside the VM that `lvsim vm` boots, as root:  vm_guest.sh LOG WORKDIR PYTHON_BIN CMD...
# Loads the loop and device-mapper modules, then runs CMD from WORKDIR with lvsim's Python
# environment first on PATH; everything it prints goes to LOG, which the host follows.
set -Eeuo pipefail

log=$1 workdir=$2 pybin=$3
shift 3
exec >"$log" 2>&1

export PATH="$pybin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# no bytecode files written into the shared directory by root
export LVM_SUPPRESS_FD_WARNINGS=1 LC_ALL=C LVSIM_IN_VM=1 PYTHONDONTWRITEBYTECODE=1
modprobe -a loop dm_mod dm_snapshot dm_thin_pool

cd "$workdir"
exec "$@"
