"""A scenario is data: `lvsim plan` and `lvsim render` touch nothing on the host (host steps
run in a private simulated root), `lvsim run` touches host files only in its work directory and the
scenario's `host_paths`, and host commands take only the options lvsim passes on."""

from __future__ import annotations

import io
import os
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from backends.sim import SimBackend
from lvsim.cli import app
from lvsim.core import hostpaths
from lvsim.scenarios import Runner, load
from lvsim.scenarios.hoststeps import HostStepError, host_argv

cli = CliRunner()


def _scenario(tmp_path: Path, steps: str, extra: str = "") -> Path:
    path = tmp_path / "s.yaml"
    head = "name: t\ndescription: host steps\ndisks: {d1: 64M}\n" + extra + "steps:\n"
    path.write_text(head + textwrap.indent(textwrap.dedent(steps), "  "))
    return path


def _hostile(tmp_path: Path) -> str:
    victim = tmp_path / "victim"
    return f"""\
        - write_file: {{path: "{victim}/written", content: "x\\n"}}
        - mkdir: {victim}/made
        - copy: {{from: "{victim}/src", to: "{victim}/copied"}}
        - run: cp {victim}/src {victim}/cp
        - run: [rsync, -a, "{victim}/src", "{victim}/rsynced"]
        - run: dd if=/dev/zero of={victim}/dd bs=512 count=1
        - run: losetup -f {victim}/img
"""


def _prepare(victim: Path) -> str:
    """Steps that make the hostile steps' inputs (in plan and render: inside the simulated root)."""
    return f"""\
        - mkdir: {victim}
        - write_file: {{path: "{victim}/src", content: "source\\n"}}
        - run: dd if=/dev/zero of={victim}/img bs=1M count=1
"""


@pytest.mark.parametrize("command", ["plan", "render"])
def test_plan_and_render_touch_nothing_on_the_host(tmp_path: Path, command: str, monkeypatch) -> None:
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (tmp_path / "tmp").mkdir()
    victim = tmp_path / "victim"
    path = _scenario(tmp_path, _prepare(victim) + _hostile(tmp_path))
    args = [command, str(path), *(["-o", str(tmp_path / "out.sh")] if command == "render" else [])]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert not victim.exists()
    assert list((tmp_path / "tmp").iterdir()) == []  # the simulated root is gone too


def test_plan_shows_the_scenarios_own_paths(tmp_path: Path) -> None:
    path = _scenario(
        tmp_path,
        """\
        - mkdir: /srv/backup
        - write_file: {path: /srv/backup/note, content: "hello\\n"}
        - assert: {file: /srv/backup/note, contains: hello}
        - run: cat /srv/backup/none
          expect_rc: 1
          expect_stderr_contains: "cat: /srv/backup/none: No such file or directory"
        """,
    )
    result = cli.invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    assert "$ cp /dev/stdin /srv/backup/note" in result.output
    assert not Path("/srv/backup/note").exists()


def test_run_refuses_host_paths_outside_its_work_directory(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "img").write_bytes(b"\0" * (1 << 20))
    (victim / "src").write_text("source\n")
    for step in _hostile(tmp_path).splitlines():
        if not step.strip():
            continue
        path = _scenario(tmp_path, step + "\n")
        with SimBackend() as backend:
            runner = Runner(load(path), backend, io.StringIO())
            assert not runner.run()
        runner.remove_tempdirs()
        assert (
            f"lvsim: {victim}/" in runner.failure
            and "is outside the scenario's work directory" in runner.failure
        )
        assert sorted(p.name for p in victim.iterdir()) == ["img", "src"], step


def test_run_may_touch_declared_host_paths(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "img").write_bytes(b"\0" * (1 << 20))
    (victim / "src").write_text("source\n")
    path = _scenario(tmp_path, _hostile(tmp_path), extra=f"host_paths: [{victim}]\n")
    with SimBackend() as backend:
        runner = Runner(load(path), backend, io.StringIO())
        assert runner.run(), runner.failure
    runner.remove_tempdirs()
    assert sorted(p.name for p in victim.iterdir()) == [
        "copied",
        "cp",
        "dd",
        "img",
        "made",
        "rsynced",
        "src",
        "written",
    ]


def test_a_link_in_the_work_area_does_not_lead_out_of_it(tmp_path: Path) -> None:
    victim = tmp_path / "victim"
    victim.mkdir()
    path = _scenario(
        tmp_path,
        f"""\
        - mktemp: dir
        - run: cp -s {victim} ${{dir}}/link
          expect_rc: 1
        """,
    )
    with SimBackend() as backend:
        runner = Runner(load(path), backend, io.StringIO())
        assert not runner.run()
    assert "is outside the scenario's work directory" in runner.failure
    runner.remove_tempdirs()


def test_work_directory_is_removed_after_the_run(tmp_path: Path) -> None:
    path = _scenario(tmp_path, "- mktemp: dir\n- write_file: {path: '${dir}/f', content: x}\n")
    with SimBackend() as backend:
        runner = Runner(load(path), backend, io.StringIO())
        assert runner.run(), runner.failure
    made = Path(runner.values["dir"])
    assert made.is_dir() and runner.area is not None and made.is_relative_to(runner.area.path)
    runner.remove_tempdirs()
    assert not Path(runner.area.path).exists()


class _Recording(SimBackend):
    """The simulator, keeping every command line it is handed."""

    def __init__(self) -> None:
        super().__init__()
        self.ran: list[list[str]] = []

    def run(self, argv, stdin: str = ""):  # type: ignore[no-untyped-def]
        self.ran.append(list(argv))
        return super().run(argv, stdin)


@pytest.mark.parametrize(
    "step",
    [
        "rm -rf /nonexistent-lvsim-victim",
        "[bash, -c, 'touch /nonexistent-lvsim-victim']",
        "/sbin/pvs",
        "./pvs",
        "[python3, -c, '1']",
    ],
)
def test_the_backend_runs_only_the_programs_lvsim_stands_for(tmp_path: Path, step: str) -> None:
    """On RealBackend a step runs as root: only LVM's programs and the tools lvsim simulates, by their
    bare names, ever reach a backend."""
    path = _scenario(tmp_path, f"- run: pvs\n- run: {step}\n")
    with _Recording() as backend:
        runner = Runner(load(path), backend, io.StringIO())
        assert not runner.run()
    runner.remove_tempdirs()
    assert backend.ran == [["pvs"]]
    assert "is not a program a scenario may run" in runner.failure


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["cp", "-L", "a", "b"], "cp: option -L is not passed on by lvsim"),
        (["cp", "--dereference", "a", "b"], "cp: option --dereference is not passed on by lvsim"),
        (["mktemp", "-p", "/etc"], "mktemp: option -p is not passed on by lvsim"),
        (["mktemp", "/etc/XXXX"], "mktemp: a template with a directory (/etc/XXXX) is not allowed"),
        (["diff", "--from-file=/etc/passwd", "a"], "diff: option --from-file is not passed on by lvsim"),
        (["cat", "/etc/shadow"], "/etc/shadow is outside the scenario's work directory"),
    ],
)
def test_host_commands_take_only_the_options_lvsim_passes_on(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    with hostpaths.policy(None, [str(tmp_path)], str(tmp_path)), pytest.raises(HostStepError) as caught:
        host_argv(argv)
    assert message in str(caught.value)


def test_rsync_to_another_host_or_with_a_remote_shell_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    for argv in (["-e", "sh -c 'touch /tmp/pwned'"], ["--rsh=sh"], ["host:/x"], ["rsync://h/m"], ["-L"]):
        path = _scenario(tmp_path, f"- run: {['rsync', '-a', *argv, f'{src}/', f'{tmp_path}/dst']}\n")
        out = io.StringIO()
        with SimBackend() as backend:
            runner = Runner(load(path), backend, out, private_root=True)
            assert not runner.run()
        assert "expected rc 0, got 95" in runner.failure
        assert "lvsim: rsync " in out.getvalue() and "is not emulated" in out.getvalue()
        runner.remove_tempdirs()
    assert not Path("/tmp/pwned").exists() and not (tmp_path / "dst").exists()


def test_private_root_maps_and_unmaps(tmp_path: Path) -> None:
    with hostpaths.policy(str(tmp_path), [str(tmp_path)], "/") as active:
        assert hostpaths.host_path("/etc/passwd") == f"{tmp_path}/etc/passwd"
        assert hostpaths.host_path("rel/x/") == f"{tmp_path}/rel/x/"
        assert hostpaths.shown(f"cat: {tmp_path}/etc/x: No such file") == "cat: /etc/x: No such file"
        with pytest.raises(hostpaths.Refused):
            hostpaths.host_path("/../../etc/passwd")
        (tmp_path / "out").symlink_to("/etc")
        with pytest.raises(hostpaths.Refused):
            hostpaths.host_path("/out/passwd")
        assert active.root == str(tmp_path)
    assert hostpaths.host_path("/etc/passwd") == "/etc/passwd"
    assert os.path.exists("/etc/passwd")


def test_plan_reads_host_files_and_writes_only_copies(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.sql").write_text("INSERT 1\n")
    path = _scenario(
        tmp_path,
        f"""\
        - copy: {{from: "{data}/orders.sql", to: "{data}/orders.bak"}}
        - write_file: {{path: "{data}/orders.sql", content: "changed\\n"}}
        - assert: {{file: "{data}/orders.bak", contains: "INSERT 1"}}
        - assert: {{file: "{data}/orders.sql", contains: "changed"}}
        """,
    )
    result = cli.invoke(app, ["plan", str(path)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in data.iterdir()) == ["orders.sql"]
    assert (data / "orders.sql").read_text() == "INSERT 1\n"


def test_plan_will_not_copy_a_huge_tree(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(hostpaths, "MIRROR_ENTRIES", 5)
    big = tmp_path / "big"
    big.mkdir()
    for i in range(10):
        (big / f"f{i}").write_text("x")
    with (
        hostpaths.policy(str(tmp_path / "root"), [str(tmp_path / "root")], "/"),
        pytest.raises(hostpaths.Refused) as caught,
    ):
        (tmp_path / "root").mkdir()
        hostpaths.host_path(str(big))
    assert str(caught.value) == f"{big} holds too many files to copy into the simulated root"
