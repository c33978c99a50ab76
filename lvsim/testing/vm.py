"""`lvsim vm -- COMMAND...`: a throwaway VM with real LVM, to run a user's own tests as root.

The VM is the project's recipe (vm/run.sh): virtme-ng boots the host's newest Debian kernel under
qemu (software emulation, no KVM needed), the guest sees the host's file system read-only and the
current directory read-write, and `vm_guest.sh` (shipped with the package) loads the loop and
device-mapper modules and runs the command as root from that directory, with the Python environment
lvsim runs in first on PATH.  Inside, `pytest --lvm-backend=real` runs the `lvm` fixture on real LVM.
"""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

GUEST = Path(__file__).with_name("vm_guest.sh")
PACKAGES = "qemu-system-x86 linux-image-amd64 busybox-static lvm2 thin-provisioning-tools xfsprogs kpartx"


class VmUnavailable(RuntimeError):
    """A VM cannot be booted here; the message says what is missing and how to get it."""


def find_vng() -> str:
    """virtme-ng's `vng`: beside this Python (its venv) or on PATH."""
    beside = Path(sys.executable).parent / "vng"
    if beside.exists():
        return str(beside)
    found = shutil.which("vng")
    if found is None:
        raise VmUnavailable("vng (virtme-ng) not found: pip install virtme-ng")
    return found


def find_kernel() -> Path:
    """$LVSIM_KERNEL or the newest /boot/vmlinuz-*, with its modules in /lib/modules."""
    chosen = os.environ.get("LVSIM_KERNEL")
    if chosen:
        kernel = Path(chosen)
    else:
        kernels = sorted(Path("/boot").glob("vmlinuz-*"), key=lambda p: _version_key(p.name[8:]))
        if not kernels:
            raise VmUnavailable(f"no kernel in /boot (vmlinuz-*): install the Debian packages {PACKAGES}")
        kernel = kernels[-1]
    if not os.access(kernel, os.R_OK):
        raise VmUnavailable(f"kernel {kernel} is not readable (run as root, or set LVSIM_KERNEL)")
    version = kernel.name.removeprefix("vmlinuz-")
    if not Path("/lib/modules", version).is_dir():
        raise VmUnavailable(f"kernel {kernel} has no modules in /lib/modules/{version}")
    return kernel


def _version_key(version: str) -> list[tuple[int, str]]:
    parts = version.replace("-", ".").split(".")
    return [(int(p), "") if p.isdigit() else (-1, p) for p in parts]


def command_line(
    argv: Sequence[str], workdir: Path, log: Path, *, vng: str, kernel: Path, memory: str, cpus: int
) -> list[str]:
    """The vng command line that boots the VM and runs argv in workdir, its output going to log."""
    guest = " ".join(
        shlex.quote(word)
        for word in ["bash", str(GUEST), str(log), str(workdir), str(Path(sys.executable).parent), *argv]
    )
    return [
        vng,
        "--disable-kvm",  # KVM guests hang after loading the kernel on these hosts (vm/README.md)
        "--run",
        str(kernel),
        "--user",
        "root",
        "--memory",
        memory,
        "--cpus",
        str(cpus),
        "--rwdir",
        str(workdir),
        "--rwdir",
        str(log.parent),
        "--",
        guest,
    ]


def run(argv: Sequence[str], workdir: Path, *, memory: str = "2G", cpus: int = 2, timeout: int = 1800) -> int:
    """Boot the VM, run argv as root in workdir, show its output as it comes; return its exit code."""
    if not argv:
        raise VmUnavailable("no command given: lvsim vm -- COMMAND [ARG...]")
    vng = find_vng()
    if shutil.which("qemu-system-x86_64") is None:
        raise VmUnavailable(f"qemu-system-x86_64 not found: install the Debian packages {PACKAGES}")
    kernel = find_kernel()
    with tempfile.TemporaryDirectory(prefix="lvsim-vm-") as tmp:
        log = Path(tmp) / "guest.log"
        log.touch()
        env = {**os.environ, "PATH": f"{Path(vng).parent}{os.pathsep}{os.environ.get('PATH', '')}"}
        follow = subprocess.Popen(["tail", "-n", "+1", "-F", str(log)], stderr=subprocess.DEVNULL)
        try:
            done = subprocess.run(
                command_line(argv, workdir.resolve(), log, vng=vng, kernel=kernel, memory=memory, cpus=cpus),
                env=env,
                stdout=subprocess.DEVNULL,
                check=False,
                timeout=timeout,
            )
            rc = done.returncode
        except subprocess.TimeoutExpired:
            sys.stderr.write(f"lvsim vm: the VM did not finish within {timeout} s and was killed\n")
            rc = 124
        finally:
            time.sleep(1)  # let tail print the end of the log
            follow.terminate()
            follow.wait()
    return rc
