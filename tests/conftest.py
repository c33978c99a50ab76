"""Shared fixtures: `backend` runs a test on the simulator and, marked `real`, on real LVM.

Like pyfakefs running its tests against both the fake and the real file system, a test that takes
`backend` runs twice: `[sim]` everywhere, and `[real]` (marked `real`) inside the VM that
`make test-real` boots.  Every test marked `real` first checks that real LVM can run here (root,
device-mapper); if not, it is skipped with one loud reason, and under CI=true it fails instead, so a
broken CI machine cannot pass silently.
"""

from __future__ import annotations

import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path

import fast_shims
import pytest
from sharding import ShardError, assign, parse_shard
from simhost import SimHost

from lvsim.backend import Backend

DURATIONS = Path(__file__).parent / "real_durations.json"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shard",
        default="",
        metavar="I/N",
        help="run only shard I (0-based) of N, balanced by the durations in tests/real_durations.json",
    )


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """--shard I/N: split the tests over N machines (the VM harness boots one VM per shard), the longest
    first onto the least loaded shard; a test without a recorded duration counts as the median one.
    Tests marked `shard_group(NAME)` stay together (they share work done once per process)."""
    shard = config.getoption("--shard")
    if not shard:
        return
    try:
        index, count = parse_shard(shard)
    except ShardError as exc:
        raise pytest.UsageError(str(exc)) from None
    known: dict[str, float] = json.loads(DURATIONS.read_text()) if DURATIONS.exists() else {}
    groups: dict[str, list[pytest.Item]] = {}
    for item in items:
        marker = item.get_closest_marker("shard_group")
        groups.setdefault(marker.args[0] if marker else item.nodeid, []).append(item)
    mine = assign({name: [i.nodeid for i in group] for name, group in groups.items()}, known, count)[index]
    chosen = {id(item) for name in mine for item in groups[name]}
    config.hook.pytest_deselected(items=[i for i in items if id(i) not in chosen])
    items[:] = [i for i in items if id(i) in chosen]


@functools.cache
def _real_lvm_missing() -> str:
    """Why real LVM cannot run here, or "" if it can."""
    from backends.real import RealBackendUnavailable, check_prerequisites

    try:
        check_prerequisites()
    except RealBackendUnavailable as exc:
        return str(exc)
    return ""


def require_real_lvm() -> None:
    """Skip the calling test (fail it under CI=true) unless real LVM can run here."""
    missing = _real_lvm_missing()
    if not missing:
        return
    reason = f"REAL LVM UNAVAILABLE, real-backend test not run: {missing} (`make test-real` runs it in a VM)"
    if os.environ.get("CI") == "true":
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def _real_lvm_prerequisites(request: pytest.FixtureRequest) -> None:
    if request.node.get_closest_marker("real") is not None:
        require_real_lvm()


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.real)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh backend: the simulator, or real LVM on loop devices (root and device-mapper; in the VM).

    The real one does not tag its VGs (`tag_vgs=False`): the `lvsim` tag would show in vg_tags and
    vg_mda_free, and outputs must stay byte-identical to the simulator's.  Its device filter still
    confines LVM to the test's own loop devices.
    """
    if request.param == "sim":
        from backends.sim import SimBackend

        with SimBackend() as sim:
            yield sim
        return
    from backends.real import RealBackend

    require_real_lvm()
    with RealBackend(tag_vgs=False) as real:
        yield real


@pytest.fixture
def sim() -> type[SimHost]:
    """Simulated hosts in this process: `sim(300 * MiB, 1 * GiB)` has those disks as /dev/loop0 and
    /dev/loop1; `.with_vg()` makes them one VG "vg" (tests/simhost.py)."""
    return SimHost


@pytest.fixture(scope="session")
def fast_client(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fast shims' client (tests/fast_shims.py), built once per session."""
    return fast_shims.build_client(tmp_path_factory.mktemp("fast_client"))


@pytest.fixture
def fast_env(tmp_path: Path, fast_client: Path) -> Iterator[dict[str, str]]:
    """The environment of a simulated host under fast shims (rendered_scripts.host_env's, whose shims
    run their commands in this process)."""
    with fast_shims.serving(tmp_path, fast_client, fast_shims.run_command) as env:
        yield env
