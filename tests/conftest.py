"""Shared fixtures: `backend` runs a test on the simulator and, marked `real`, on real LVM.

Like pyfakefs running its tests against both the fake and the real file system, a test that takes
`backend` runs twice: `[sim]` everywhere, and `[real]` (marked `real`) inside the VM that
`make test-real` boots.  Where real LVM cannot run (not root, no device-mapper) the `[real]` variant is
skipped with one loud reason; under CI=true it fails instead, so a broken CI machine cannot pass
silently.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from backends.base import Backend


def real_backend_or_skip(*, tag_vgs: bool = False) -> Backend:
    """A RealBackend, or skip (fail under CI=true) with the reason real LVM is unavailable here.

    `tag_vgs` defaults to False so that outputs stay byte-identical to the simulator's (the `lvsim`
    tag shows in vg_tags and vg_mda_free); the device filter still confines LVM to the test's disks.
    """
    from backends.real import RealBackend, RealBackendUnavailable

    try:
        return RealBackend(tag_vgs=tag_vgs)
    except RealBackendUnavailable as exc:
        reason = f"REAL LVM UNAVAILABLE, real-backend test not run: {exc} (`make test-real` runs it in a VM)"
        if os.environ.get("CI") == "true":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


@pytest.fixture(params=["sim", pytest.param("real", marks=pytest.mark.real)])
def backend(request: pytest.FixtureRequest) -> Iterator[Backend]:
    """A fresh backend: the simulator, or real LVM on loop devices (root and device-mapper; in the VM)."""
    if request.param == "sim":
        from backends.sim import SimBackend

        with SimBackend() as sim:
            yield sim
        return
    with real_backend_or_skip() as real:
        yield real
