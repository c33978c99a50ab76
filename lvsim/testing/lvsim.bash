# bats helpers for testing shell scripts against lvsim (a simulated LVM host per test).
#
#   setup()    { load "$(lvsim env --bats-helper)"; lvsim_setup; }
#   teardown() { lvsim_teardown; }
#   @test "..." { disk=$(lvsim_disk 1G); vgcreate vg "$disk"; ...; lvsim fail mount; run ./my-script; ... }
#
# lvsim_setup gives the test its own state in $BATS_TEST_TMPDIR, the shims first on PATH and its own
# TMPDIR; lvsim_teardown unmounts what the test left mounted (the simulator's mounts are host
# directories). Outside bats, LVSIM_TEST_DIR (or a mktemp -d) takes the place of $BATS_TEST_TMPDIR.

lvsim_setup() {
    local dir=${BATS_TEST_TMPDIR:-${LVSIM_TEST_DIR:-$(mktemp -d)}}/lvsim
    mkdir -p "$dir/tmp"
    eval "$(lvsim env --state "$dir/state")"
    export TMPDIR=$dir/tmp
}

# lvsim_disk SIZE: a new disk of SIZE (truncate's syntax: 1G, 512M) as a loop device; prints its path.
lvsim_disk() {
    local file
    file=$(mktemp "$TMPDIR/disk.XXXXXX")
    truncate -s "$1" "$file"
    losetup -f --show "$file"
}

lvsim_teardown() {
    local target
    mount | tac | while read -r _ _ target _; do
        umount "$target" || true
    done
}
