"""lvsim's pytest plugin (registered by `pip install lvsim` through the `pytest11` entry point).

    def test_backup(lvm):
        disk = lvm.add_disk("1G")
        lvm.run(["vgcreate", "vg", disk], check=True)
        subprocess.run(["./backup.sh", "vg/data"], check=True)   # its lvcreate, mount, ... reach lvm
        assert lvm.lv("vg/data")["lv_size"] == 2**30

Fixtures: `lvm` (a fresh host per test, `lvsim.testing.host.LvmHost`) and `lvm_factory` (session
scope: hosts to build base layouts once, see docs/testing.md).  On the simulator each test gets its
own state file, shims first on PATH, LVSIM_STATE and TMPDIR (all set with monkeypatch, so they are
undone after the test; pytest-xdist workers have separate temporary directories).  With
`--lvm-backend=real` (root and device-mapper) the same tests run on loop devices through real LVM,
and what real LVM cannot do (lvm.fail, the clock, restoring a state) skips the test with the reason.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from lvsim.testing.host import LvmHost

BACKENDS = ("sim", "real")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("lvsim", "lvsim: the lvm fixture")
    group.addoption(
        "--lvm-backend",
        choices=BACKENDS,
        default=None,
        help="where the lvm fixture runs LVM: sim (the simulator, default) or real (root, device-mapper)",
    )
    parser.addini("lvm_backend", "the lvm fixture's default backend: sim or real", default="sim")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "real: the test runs on real LVM (the lvm fixture's real backend)")


def _chosen(config: pytest.Config) -> str:
    chosen = config.getoption("--lvm-backend") or config.getini("lvm_backend")
    if chosen not in BACKENDS:
        raise pytest.UsageError(f"lvm_backend must be sim or real, not {chosen!r}")
    return str(chosen)


def _backend_of(item: pytest.Item) -> str | None:
    """The backend an item's lvm fixture uses (an indirect parameter wins over the option)."""
    if "lvm" not in getattr(item, "fixturenames", ()):
        return None
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "lvm" in callspec.params:
        return str(callspec.params["lvm"])
    return _chosen(item.config)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Tests whose lvm fixture is real get the `real` mark, so `-m real` / `-m 'not real'` select them."""
    for item in items:
        if _backend_of(item) == "real":
            item.add_marker(pytest.mark.real)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """What real LVM cannot do skips the test (with the reason) instead of failing it."""
    unsupported = sys.modules.get("lvsim.testing.host")  # loaded by anything that can raise it
    if call.excinfo is not None and unsupported and call.excinfo.errisinstance(unsupported.Unsupported):
        try:
            pytest.skip(f"real LVM: {call.excinfo.value}")
        except pytest.skip.Exception:
            call.excinfo = pytest.ExceptionInfo.from_current()
    yield


@pytest.fixture(scope="session")
def lvm_shims(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory of the simulator's command shims (one per session and xdist worker); they find
    the state through LVSIM_STATE, which the lvm fixture sets for each test."""
    from lvsim.shim import write_shims

    directory = tmp_path_factory.mktemp("lvsim-shims")
    write_shims(directory)
    return directory


def _open_host(kind: str, root: Path, shims: Path, explicit: bool, session: bool = False) -> LvmHost:
    from lvsim.backend import BackendUnavailable, open_backend
    from lvsim.testing.host import LvmHost

    if kind == "sim":
        return LvmHost(open_backend("sim", state_path=root / "state"), root, shims, session=session)
    try:
        backend = open_backend("real", base_dir=str(root), tag_vgs=False)
    except BackendUnavailable as exc:
        reason = f"real LVM is not available here: {exc}"
        if explicit:
            pytest.fail(f"--lvm-backend=real: {reason}", pytrace=False)
        pytest.skip(reason)
    return LvmHost(backend, root, session=session)


@pytest.fixture
def lvm(
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path_factory: pytest.TempPathFactory,
    lvm_shims: Path,
) -> Iterator[LvmHost]:
    """A fresh, isolated LVM host for one test (see lvsim.testing.host.LvmHost for its API).

    Parametrize it indirectly to choose the backend per test:
    ``@pytest.mark.parametrize("lvm", ["sim", "real"], indirect=True)``."""
    param = getattr(request, "param", None)
    if param is not None and param not in BACKENDS:
        raise pytest.UsageError(f"lvm parameter must be sim or real, not {param!r}")
    kind = param or _chosen(request.config)
    explicit = param is None and request.config.getoption("--lvm-backend") == "real"
    host = _open_host(kind, tmp_path_factory.mktemp("lvm"), lvm_shims, explicit)
    try:
        for name, value in host.env.items():
            monkeypatch.setenv(name, value)
        monkeypatch.setattr(tempfile, "tempdir", None)  # re-read TMPDIR
        yield host
    finally:
        host.close()


@pytest.fixture(scope="session")
def lvm_factory(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, lvm_shims: Path
) -> Iterator[Callable[[], LvmHost]]:
    """Make hosts that live for the whole session, to build a base layout once and `save()` it; each
    test then `lvm.restore(point)`s it (a file copy on the simulator; a replay on real LVM)."""
    hosts: list[LvmHost] = []
    kind = _chosen(request.config)
    explicit = request.config.getoption("--lvm-backend") == "real"

    def make() -> LvmHost:
        host = _open_host(kind, tmp_path_factory.mktemp("lvm-session"), lvm_shims, explicit, session=True)
        hosts.append(host)
        return host

    try:
        yield make
    finally:
        for host in reversed(hosts):
            host.close()
