#!/usr/bin/env bash
# Install what the real-LVM suite needs. One script for both places it runs:
#
#   vm/provision.sh --host          # `make sysdeps`: the packages to boot the test VM (root, Debian)
#   vm/provision.sh --guest [REPO]  # Vagrant provisioner on a Debian 12 guest: packages, the venv,
#                                   # then the real-LVM tests directly on the guest's own kernel
#   vm/provision.sh --sim-tools     # `make test-sim`: check the host programs the simulator suite runs
#                                   # (rendered scripts call them); say which are missing and how to get them
#
# --host on a machine that is not Debian, or without root, prints one loud line saying the real suite
# will be skipped and exits 0; under CI=true that is an error instead. Idempotent: when every package is
# already installed it does not touch apt.
set -Eeuo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mode=${1:-}
# Shared by both modes: LVM and its tools, file systems and partition tools the scenarios use; tmux
# drives `lvsim shell` in the simulator suite as a person would.
common=(lvm2 thin-provisioning-tools xfsprogs e2fsprogs kpartx fdisk rsync bc tmux)
host_only=(qemu-system-x86 linux-image-amd64 busybox-static gcc)
guest_only=(make python3 python3-venv git)

# The host programs the simulator suite runs (rendered scripts and tests call them; the failure
# injection tests build their fast shims with cc), by Debian package.
sim_tools=(rsync:rsync bc:bc tmux:tmux cc:gcc)

say() { echo "vm/provision.sh: $*" >&2; }

check_sim_tools() {
    local entry missing=() packages=()
    for entry in "${sim_tools[@]}"; do
        command -v "${entry%%:*}" >/dev/null 2>&1 || { missing+=("${entry%%:*}"); packages+=("${entry#*:}"); }
    done
    [[ ${#missing[@]} -eq 0 ]] && return
    say "the simulator suite needs these programs, missing here: ${missing[*]}"
    say "install them with: apt-get install ${packages[*]}   (or run 'make sysdeps' as root)"
    exit 2
}

unavailable() {
    if [[ ${CI:-} == true ]]; then
        say "ERROR: $* (CI=true: the real-LVM suite must run)"
        exit 1
    fi
    echo "!!!!! REAL-LVM SUITE WILL BE SKIPPED: $* !!!!!" >&2
    exit 0
}

missing_packages() {
    local pkg
    for pkg in "$@"; do
        dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || echo "$pkg"
    done
}

install_packages() {
    local missing
    mapfile -t missing < <(missing_packages "$@")
    if [[ ${#missing[@]} -eq 0 ]]; then
        say "system packages already installed"
        return
    fi
    say "installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
}

check_debian_root() {
    [[ $(id -u) -eq 0 ]] || unavailable "not root (the VM packages need apt-get as root)"
    if [[ ! -r /etc/debian_version ]] || ! command -v apt-get >/dev/null 2>&1; then
        unavailable "not a Debian system (needs qemu-system-x86, linux-image-amd64, lvm2 from apt)"
    fi
}

case $mode in
--host)
    check_debian_root
    install_packages "${host_only[@]}" "${common[@]}"
    if [[ -d $root/.venv && ! -x $root/.venv/bin/vng ]]; then
        say "installing virtme-ng into .venv"
        "$root/.venv/bin/python" -m pip install -q virtme-ng
    fi
    ;;
--guest)
    repo=${2:-$root}
    check_debian_root
    install_packages "${guest_only[@]}" "${common[@]}"
    cd "$repo"
    make venv
    modprobe -a loop dm_mod dm_thin_pool dm_snapshot
    export LVM_SUPPRESS_FD_WARNINGS=1
    if [[ -n ${LVSIM_TEST_CMD:-} ]]; then  # a user's own test command (vagrant/Vagrantfile)
        cd "${LVSIM_TEST_DIR:-$repo}"
        PATH="$repo/.venv/bin:$PATH" bash -c "$LVSIM_TEST_CMD"
        exit
    fi
    mkdir -p vm/out
    .venv/bin/python -m pytest -m real -p no:cacheprovider -q --junitxml=vm/out/junit-real.xml
    ;;
--sim-tools)
    check_sim_tools
    ;;
*)
    echo "usage: vm/provision.sh --host | --guest [REPO] | --sim-tools" >&2
    exit 2
    ;;
esac
