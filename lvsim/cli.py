"""The `lvsim` command line (typer)."""

from __future__ import annotations

import io
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from lvsim import __version__
from lvsim.core import store
from lvsim.core.model import Disk
from lvsim.core.units import parse_size
from lvsim.training import entry as training

if TYPE_CHECKING:
    from lvsim.backend import Backend

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Rehearse LVM thin provisioning without root."
)
disk_app = typer.Typer(no_args_is_help=True, help="Simulated disks.")
app.add_typer(disk_app, name="disk")
training.register(app)  # show, watch, log, save, restore, reset, shell, lesson, drill

StateOpt = Annotated[
    Path | None, typer.Option("--state", help="State file (default $LVSIM_STATE or ./.lvsim/state).")
]


def _state_path(state: Path | None) -> Path:
    return state or store.default_path()


def _die(msg: str, rc: int = 5) -> None:
    typer.echo(f"lvsim: {msg}", err=True)
    raise typer.Exit(rc)


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(
    argv: Annotated[list[str], typer.Argument(help="The command line, after --.")],
    state: StateOpt = None,
) -> None:
    """Run one LVM command line against the saved simulator state."""
    from lvsim import guard
    from lvsim.shim import run_saved

    stdin = sys.stdin.buffer if sys.stdin is not None else io.BytesIO()
    try:
        rc, stdout, stderr, _ = run_saved(_state_path(state), argv, stdin)
    except store.StateError as exc:
        _die(str(exc))
    sys.stdout.write(stdout)
    sys.stderr.write(stderr)
    raise typer.Exit(guard.exit_status(rc, getattr(sys.stdout, "error", None)))


@app.command()
def shims(
    directory: Annotated[Path, typer.Argument(help="Where to write the command shims.")],
    state: StateOpt = None,
) -> None:
    """Write an executable into DIRECTORY for every emulated command (lvs, lvcreate, losetup, ...)."""
    from lvsim.shim import write_shims

    try:
        count = write_shims(directory, state)
    except OSError as exc:
        _die(f"cannot write shims: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""))
    typer.echo(f"{count} shims written to {directory}")


@disk_app.command("add")
def disk_add(
    path: Annotated[str, typer.Argument(help="Device path, e.g. /dev/vdb.")],
    size: Annotated[str, typer.Argument(help="Size, e.g. 10G (LVM's size syntax, default unit MiB).")],
    state: StateOpt = None,
) -> None:
    """Add a simulated disk."""
    try:
        nbytes = parse_size(size, 2048).value * 512
    except Exception:
        _die(f"invalid size: {size}", 3)
    if not path.startswith("/dev/"):
        _die(f"device path must start with /dev/: {path}", 3)
    try:
        with store.transaction(_state_path(state)) as st:
            if path in st.disks:
                _die(f"{path} already exists")
            st.disks[path] = Disk(path, nbytes)
    except store.StateError as exc:
        _die(str(exc))


MapOpt = Annotated[
    list[str] | None, typer.Option("--map", help="Put the PV recorded on device OLD on NEW instead: OLD=NEW.")
]


@app.command("import")
def import_(
    files: Annotated[list[Path], typer.Argument(help="vgcfgbackup files, or bundles of `lvsim capture`.")],
    state: StateOpt = None,
    map_: MapOpt = None,
) -> None:
    """Build a simulated host from a real host's LVM metadata: its disks, PVs, VGs and LVs."""
    from lvsim.core.errors import NOT_EMULATED
    from lvsim.core.units import display_size
    from lvsim.host import importer

    try:
        maps = importer.parse_maps(map_ or [])
        found = importer.sources(files)
        with store.transaction(_state_path(state)) as st:
            done = importer.import_sources(st, found, maps)
    except importer.ImportFailure as exc:
        _die(str(exc), NOT_EMULATED if exc.refused else 5)
    except store.StateError as exc:
        _die(str(exc))
    for item in done:
        disks = ", ".join(f"{path} ({display_size(size)})" for path, size in item.disks)
        typer.echo(f"{item.vg}: imported from {item.origin} onto {disks}")
        for note in item.notes:
            typer.echo(f"lvsim: note: {note}", err=True)


@app.command()
def capture(
    directory: Annotated[Path, typer.Argument(help="A new (or empty) directory for the bundle.")],
) -> None:
    """Read this host's LVM into a bundle for `lvsim import` (root; changes nothing on the host)."""
    from lvsim.host import capture as capturing

    try:
        bundle = capturing.capture(directory)
    except capturing.CaptureError as exc:
        _die(str(exc))
    names = ", ".join(bundle.backups)
    typer.echo(f"{directory}: {len(bundle.backups)} VG(s) captured ({names})")


@app.command()
def version() -> None:
    """Print lvsim's version."""
    typer.echo(__version__)


def _parse_vars(pairs: list[str]) -> dict[str, str]:
    values = {}
    for pair in pairs:
        name, eq, value = pair.partition("=")
        if not eq or not name:
            _die(f"--var wants NAME=VALUE, got {pair!r}", 2)
        values[name] = value
    return values


def _open_backend(kind: str) -> Backend:
    from lvsim.backend import BackendUnavailable, backend_class

    if kind not in ("sim", "real"):
        _die(f"unknown backend {kind!r} (sim or real)", 2)
    try:
        return backend_class(kind)()
    except BackendUnavailable as exc:
        typer.echo(f"lvsim: the {kind} backend is not available: {exc}", err=True)
        raise typer.Exit(1) from exc


VarOpt = Annotated[list[str] | None, typer.Option("--var", help="Set a scenario variable: NAME=VALUE.")]


@app.command("run")
def run_scenario(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of one in scenarios/.")],
    backend: Annotated[
        str, typer.Option("--backend", help="sim (the simulator) or real (root, VM).")
    ] = "sim",
    var: VarOpt = None,
) -> None:
    """Run a scenario and print its transcript; exit 1 when a step or assertion fails."""
    from lvsim import scenarios

    try:
        loaded = scenarios.load(scenarios.find(scenario), _parse_vars(var or []))
    except scenarios.ScenarioError as exc:
        _die(str(exc).replace("\n", "\nlvsim: "), 2)
    with _open_backend(backend) as be:
        runner = scenarios.Runner(loaded, be, sys.stdout)
        ok = runner.run()
    runner.remove_tempdirs()
    raise typer.Exit(0 if ok else 1)


@app.command()
def demo(var: VarOpt = None) -> None:
    """Run the thin-provisioning scenario on the simulator and show the pool's allocation."""
    from lvsim import scenarios
    from lvsim.scenarios import demo as view

    loaded = scenarios.load(scenarios.find("thin-provisioning"), _parse_vars(var or []))
    with _open_backend("sim") as be:
        runner = scenarios.Runner(loaded, be, sys.stdout)
        ok = runner.run()
        view.show(be, sys.stdout, color=sys.stdout.isatty())
    runner.remove_tempdirs()
    raise typer.Exit(0 if ok else 1)


@app.command()
def render(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of one in scenarios/.")],
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write the script here.")] = None,
    var: VarOpt = None,
) -> None:
    """Render a scenario as an audited bash script (checked on the simulator first)."""
    from lvsim import scenarios
    from lvsim.scenarios.render import RenderError, render_file

    try:
        script = render_file(str(scenarios.find(scenario)), _parse_vars(var or []))
    except RenderError as exc:
        _die(str(exc).replace("\n", "\nlvsim: "), 2)
    if output is None:
        sys.stdout.write(script)
        return
    output.write_text(script)
    output.chmod(0o755)
    typer.echo(f"{output}: rendered from {scenario}", err=True)


@app.command()
def plan(
    scenario: Annotated[str, typer.Argument(help="A scenario file, or the name of one in scenarios/.")],
    fmt: Annotated[str, typer.Option("--format", help="text or json.")] = "text",
    var: VarOpt = None,
    from_: Annotated[
        list[Path] | None,
        typer.Option("--from", help="Start from a host: vgcfgbackup files or `lvsim capture` bundles."),
    ] = None,
    from_host: Annotated[
        bool,
        typer.Option("--from-host", help="Start from this host's LVM (root; read-only, as lvsim capture)."),
    ] = False,
    map_: MapOpt = None,
) -> None:
    """Predict a scenario on the simulator: each command, the state after it, and warnings."""
    from lvsim import scenarios
    from lvsim.scenarios import plan as planner

    if fmt not in ("text", "json"):
        _die(f"--format must be text or json, not {fmt!r}", 2)
    try:
        loaded = scenarios.load(scenarios.find(scenario), _parse_vars(var or []))
    except scenarios.ScenarioError as exc:
        _die(str(exc).replace("\n", "\nlvsim: "), 2)
    backend = _host_backend(from_ or [], from_host, map_ or []) if from_ or from_host else None
    result = planner.make_plan(planner.simulate(loaded, backend, setup=backend is None))
    sys.stdout.write(planner.format_json(result) if fmt == "json" else planner.format_text(result))
    raise typer.Exit(1 if result["failure"] else 0)


def _host_backend(paths: list[Path], from_host: bool, maps: list[str]) -> Backend:
    """A simulator backend holding an imported, running host (files and bundles, or this host captured)."""
    import tempfile

    from lvsim.backend import open_backend
    from lvsim.core.errors import NOT_EMULATED
    from lvsim.host import capture as capturing
    from lvsim.host import importer

    with tempfile.TemporaryDirectory(prefix="lvsim-capture-") as tmp:
        try:
            if from_host:
                capturing.capture(Path(tmp) / "bundle")
                paths = [*paths, Path(tmp) / "bundle"]
            state, _ = importer.running_host(paths, importer.parse_maps(maps))
        except capturing.CaptureError as exc:
            _die(str(exc))
        except importer.ImportFailure as exc:
            _die(str(exc), NOT_EMULATED if exc.refused else 5)
    return open_backend("sim", state=state)


# ---------------------------------------------------------------------------------------------
# Test support from the shell (lvsim.testing: the pytest plugin's faults, clock and VM for bash and bats)


@app.command()
def env(
    state: StateOpt = None,
    bats_helper: Annotated[bool, typer.Option("--bats-helper", help="Print the bats helper's path.")] = False,
) -> None:
    """Print shell lines for `eval "$(lvsim env)"`: LVSIM_STATE and PATH with shims (written next to the state)."""
    from lvsim.shim import write_shims
    from lvsim.testing import shell

    if bats_helper:
        typer.echo(shell.BATS_HELPER)
        return
    path = _state_path(state).absolute()
    shims_dir = path.parent / "bin"
    write_shims(shims_dir, path)
    sys.stdout.write(shell.env_text(path, shims_dir, os.environ.get("PATH", "")))


@app.command()
def fail(
    command: Annotated[str | None, typer.Argument(help="The command to fail (lvremove, mount, ...).")] = None,
    rc: Annotated[int, typer.Option("--rc", help="Its exit code.")] = 0,
    stdout: Annotated[str, typer.Option("--stdout", help="What it prints on stdout.")] = "",
    stderr: Annotated[str, typer.Option("--stderr", help="What it prints on stderr.")] = "",
    times: Annotated[int, typer.Option("--times", help="How many matching calls fail.")] = 1,
    match: Annotated[str | None, typer.Option("--match", help="Only command lines this regex finds.")] = None,
    busy: Annotated[str | None, typer.Option("--busy", help="Hold this LV or dm device open.")] = None,
    commands: Annotated[
        list[str] | None, typer.Option("--command", help="With --busy: during these commands (lvremove).")
    ] = None,
    mount: Annotated[bool, typer.Option("--mount", help="mount fails: can't read superblock.")] = False,
    lock_timeout: Annotated[
        str | None, typer.Option("--lock-timeout", help="LVM commands naming this VG time out on its lock.")
    ] = None,
    pool_full: Annotated[
        str | None, typer.Option("--pool-full", help="VG/POOL runs out of space ...")
    ] = None,
    snapshot_overflow: Annotated[
        str | None, typer.Option("--snapshot-overflow", help="VG/SNAP overflows ...")
    ] = None,
    after: Annotated[str | None, typer.Option("--after", help="... after SIZE more bytes.")] = None,
    list_: Annotated[bool, typer.Option("--list", help="Show the pending faults.")] = False,
    clear: Annotated[bool, typer.Option("--clear", help="Drop every pending fault.")] = False,
    state: StateOpt = None,
) -> None:
    """Make the simulator fail on cue, as the pytest plugin's lvm.fail() and lvm.faults do."""
    from lvsim.testing import faults, shell

    path = _state_path(state)
    kinds = [command is not None, busy is not None, mount, lock_timeout is not None, pool_full is not None]
    kinds += [snapshot_overflow is not None, list_, clear]
    if sum(kinds) != 1:
        _die(
            "give one of COMMAND, --busy, --mount, --lock-timeout, --pool-full, --snapshot-overflow, "
            "--list, --clear",
            2,
        )
    try:
        if pool_full or snapshot_overflow:
            if after is None:
                _die("--pool-full and --snapshot-overflow need --after SIZE", 2)
            host = shell.host_for(path)
            if pool_full:
                typer.echo(host.faults.pool_full_after(pool_full, after))
            else:
                host.faults.snapshot_overflow_after(snapshot_overflow, after)
            return
        with store.transaction(path) as st:
            if list_:
                for record in faults.records(st):
                    typer.echo(faults.describe(record))
            elif clear:
                faults.clear(st)
            elif busy is not None:
                faults.add_hold(
                    st, busy, commands=shell.parse_commands(commands or ["lvremove"]), times=times
                )
            elif mount:
                faults.add_mount_failure(st, times=times, match=match)
            elif lock_timeout is not None:
                faults.add_lock_timeout(st, lock_timeout, times=times)
            else:
                faults.add_failure(
                    st, str(command), rc=rc, stdout=stdout, stderr=stderr, times=times, match=match
                )
    except (faults.FaultError, ValueError, LookupError) as exc:
        _die(str(exc), 2)
    except store.StateError as exc:
        _die(str(exc))


@app.command()
def clock(
    action: Annotated[str, typer.Argument(help="show, advance or set.")] = "show",
    seconds: Annotated[
        float | None, typer.Argument(help="advance: seconds; set: seconds since the epoch.")
    ] = None,
    state: StateOpt = None,
) -> None:
    """The simulated clock (seconds since the epoch): show it, advance it, or set it forward."""
    from lvsim.testing import shell

    if action not in ("show", "advance", "set") or (action != "show") != (seconds is not None):
        _die("usage: lvsim clock [show | advance SECONDS | set EPOCH_SECONDS]", 2)
    host = shell.host_for(_state_path(state))
    try:
        if action == "advance":
            host.clock.advance(seconds or 0.0)
        elif action == "set":
            host.clock.set(seconds or 0.0)
        typer.echo(f"{host.clock.now():.0f}")
    except ValueError as exc:
        _die(str(exc), 2)
    except store.StateError as exc:
        _die(str(exc))


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def vm(
    argv: Annotated[list[str], typer.Argument(help="The command to run as root in the VM, after --.")],
    memory: Annotated[str, typer.Option("--memory", help="The VM's memory.")] = "2G",
    cpus: Annotated[int, typer.Option("--cpus", help="The VM's CPUs.")] = 2,
    timeout: Annotated[int, typer.Option("--timeout", help="Kill the VM after this many seconds.")] = 1800,
) -> None:
    """Boot a throwaway VM (Debian's kernel, virtme-ng) on this directory and run a command in it as root."""
    from lvsim.testing import vm as vms

    try:
        rc = vms.run(argv, Path.cwd(), memory=memory, cpus=cpus, timeout=timeout)
    except vms.VmUnavailable as exc:
        _die(str(exc), 2)
    raise typer.Exit(rc)


def main() -> None:
    """The `lvsim` program, behind the guard: no traceback, output as bytes, a bug is one line, rc 5."""
    from lvsim import guard

    os.environ.setdefault("COLUMNS", "100")
    _, err, _ = guard.install_streams()
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as exc:
        err.write(guard.internal_error(exc))
        sys.exit(guard.INTERNAL_ERROR_RC)


if __name__ == "__main__":
    main()
