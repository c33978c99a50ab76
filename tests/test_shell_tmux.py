"""`lvsim shell` as a person uses it: a tmux session types into it (send-keys) and reads the screen
(capture-pane). tmux is one of the host tools the simulator suite needs (vm/provision.sh installs it
with --host and checks it with --sim-tools): without it these tests fail, they are never skipped."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


class Tmux:
    """A private tmux server (its own socket) holding one session; every window is 120x40."""

    def __init__(self, home: Path) -> None:
        self.socket = f"lvsim-test-{uuid.uuid4().hex[:12]}"
        self.env = {
            "HOME": str(home),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}/usr/bin:/bin",
            "TERM": "xterm-256color",
            "LANG": "C.UTF-8",
        }

    def tmux(self, *args: str) -> str:
        result = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            capture_output=True,
            text=True,
            env=self.env,
            timeout=30,
            check=True,
        )
        return result.stdout

    def start(self, command: str) -> None:
        self.tmux("new-session", "-d", "-s", "t", "-x", "120", "-y", "40", command)

    def window(self, command: str) -> str:
        return self.tmux("new-window", "-P", "-F", "#{window_id}", "-t", "t", command).strip()

    def type(self, text: str, target: str = "t:0") -> None:
        self.tmux("send-keys", "-t", target, "-l", text)
        self.tmux("send-keys", "-t", target, "Enter")

    def key(self, key: str, target: str = "t:0") -> None:
        self.tmux("send-keys", "-t", target, key)

    def screen(self, target: str = "t:0") -> str:
        return self.tmux("capture-pane", "-p", "-J", "-t", target, "-S", "-200")

    def wait_for(self, pattern: str, target: str = "t:0", timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            screen = self.screen(target)
            if re.search(pattern, screen, re.M):
                return screen
            if time.monotonic() > deadline:
                raise AssertionError(f"{pattern!r} never appeared on the screen:\n{screen}")
            time.sleep(0.2)

    def close(self) -> None:
        subprocess.run(
            ["tmux", "-L", self.socket, "kill-server"], capture_output=True, env=self.env, check=False
        )


@pytest.fixture
def tmux(tmp_path: Path) -> Iterator[Tmux]:
    if shutil.which("tmux") is None:  # never a skip: the suite needs it, in CI too
        pytest.fail("tmux is not installed: run `bash vm/provision.sh --sim-tools` to see how to get it")
    t = Tmux(tmp_path)
    try:
        yield t
    finally:
        t.close()


def _lvsim(*args: str) -> str:
    return " ".join([sys.executable, "-m", "lvsim.cli", *args])


def test_a_trainee_session(tmux: Tmux, tmp_path: Path) -> None:
    shell_dir = tmp_path / "shell"
    tmux.start(_lvsim("shell", "--dir", str(shell_dir)))
    tmux.wait_for(r"^\[no thin pools\] .*work\$ $")
    tmux.type("vgcreate vg /dev/vdb && lvcreate -L 100M -T vg/pool && lvcreate -V 1G -T vg/pool -n t")
    screen = tmux.wait_for(r"^\[vg/pool D 0\.00% M 10\.94%\] ")
    assert 'Logical volume "t" created.' in screen
    tmux.type("dd if=/dev/urandom of=/dev/vg/t bs=1M count=75 oflag=direct status=none")
    tmux.wait_for(r"^\[vg/pool D 75\.00% M 1\d\.\d\d%\] ")
    tmux.type("lvsim show")
    screen = tmux.wait_for(r"promised 1\.00 GiB")
    assert "thin pool pool  100.00 MiB" in screen
    assert "Traceback" not in screen

    # lvm.conf of the shell, then dmeventd on the simulated clock
    tmux.type(
        "printf 'activation {\\n thin_pool_autoextend_threshold = 70\\n}\\n' > $LVM_SYSTEM_DIR/lvm.conf"
    )
    tmux.type("lvmconfig activation/thin_pool_autoextend_threshold")
    tmux.wait_for(r"^thin_pool_autoextend_threshold=70$")
    tmux.type("lvsim clock advance 10 && lvs --noheadings -o lv_size vg/pool")
    tmux.wait_for(r"^\s+120\.00m$")
    tmux.type("lvsim log | tail -1")
    tmux.wait_for(r"dmeventd: Logical volume vg/pool successfully resized\.$")

    # save points
    tmux.type("lvsim save before-remove && lvremove -f vg/t && lvsim restore before-remove")
    tmux.wait_for(r"^restored 'before-remove'$")
    tmux.type("lvs --noheadings -o lv_name vg")
    tmux.wait_for(r"^\s+t\s*$")

    # lvsim watch in a second window ends quietly on Ctrl-C
    watch = tmux.window(f"env LVSIM_STATE={shell_dir}/state {_lvsim('watch', '-n', '0.5')}; sleep 30")
    tmux.wait_for(r"thin pool pool", target=watch)
    tmux.key("C-c", target=watch)
    time.sleep(1)
    assert "Traceback" not in tmux.screen(watch)
    assert "KeyboardInterrupt" not in tmux.screen(watch)

    tmux.type("exit")


def test_a_lesson_to_its_end(tmux: Tmux, tmp_path: Path) -> None:
    shell_dir = tmp_path / "shell"
    tmux.start(_lvsim("shell", "--dir", str(shell_dir), "--lesson", "thin-pool-basics"))
    screen = tmux.wait_for(r"^\[no thin pools\] ")
    assert "Lesson thin-pool-basics: Thin pool basics" in screen
    tmux.type("lvsim lesson check")
    tmux.wait_for(r"Not yet\. lvsim lesson hint gives a hint\.")
    tmux.type("lvsim lesson hint")
    tmux.wait_for(r"^Hint 1 of 2: ")
    tmux.type("lvcreate -L 100M -T vg/pool && lvcreate -V 1G -T vg/pool -n thin1")
    tmux.wait_for(r"^\[vg/pool D 0\.00% ")
    tmux.type("lvsim lesson check")
    screen = tmux.wait_for(r"^Done! Next: lvsim lesson start over-commitment$")
    assert "✓ segtype of vg/pool is thin-pool" in screen
    tmux.type("lvsim lesson list | head -2")
    tmux.wait_for(r"^✓  1\. thin-pool-basics")
    tmux.type("exit")
