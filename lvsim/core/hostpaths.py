"""Which host files a simulated command may touch, and where they really are.

By default (the shims, `lvsim exec`) a command names host files as a user's own program would.  A
scenario run sets a `Policy` for its duration (`policy()`):

* `lvsim plan` and `lvsim render` simulate in a *private root*: every path a command names (mount
  points, dd's files, losetup's backing files, rsync's trees, the runner's mktemp/cp/...) is a path
  inside a private temporary directory, so nothing on the host changes;
* `lvsim run` lets host paths be touched only inside its work directory and the directories the
  scenario declares (`host_paths:`).

`host_path()` gives the real path for a path a command names, after checking that, with every link
resolved as the host would resolve it, it stays inside what the policy allows; `Refused` otherwise.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class Policy:
    """root: a private simulated root (paths name files inside it) or None (paths are the host's);
    allowed: real directories the paths must resolve into; cwd: where relative paths start."""

    root: str | None
    allowed: tuple[str, ...]
    cwd: str


class Refused(Exception):
    """A path outside what the scenario may touch; the message names it."""


_POLICY: ContextVar[Policy | None] = ContextVar("lvsim_host_policy", default=None)


@contextmanager
def policy(root: str | None, allowed: Sequence[str], cwd: str) -> Iterator[Policy]:
    """Apply a policy to host paths for the duration of the block."""
    active = Policy(root, tuple(os.path.realpath(a) for a in allowed), cwd)
    token = _POLICY.set(active)
    try:
        yield active
    finally:
        _POLICY.reset(token)


def current() -> Policy | None:
    return _POLICY.get()


def _inside(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def host_path(path: str) -> str:
    """The real path for `path` as a command names it (its trailing slash or `/.` kept); Refused if it
    resolves outside what the current policy allows.  Identity without a policy."""
    active = _POLICY.get()
    if active is None:
        return path
    if "\0" in path:
        raise Refused(f"{path!r}: not a path")
    if active.root is not None:
        simulated = path if path.startswith("/") else active.cwd.rstrip("/") + "/" + path
        _mirror(active.root.rstrip("/"), simulated)
        real = active.root.rstrip("/") + simulated
    else:
        real = path if path.startswith("/") else os.path.join(active.cwd, path)
    resolved = os.path.realpath(real)
    if active.allowed and not any(_inside(resolved, a) for a in active.allowed):
        where = "the simulated root" if active.root is not None else "the scenario's work directory"
        raise Refused(f"{path} is outside {where} (a scenario declares other places under host_paths)")
    return real


# What a simulated root copies from the host on first use: never the kernel's own trees, and only so much.
_NOT_MIRRORED = ("/proc", "/sys", "/dev", "/run")
MIRROR_BYTES = 64 << 20
MIRROR_ENTRIES = 10_000


def _mirror(root: str, simulated: str) -> None:
    """Bring what the host has at a path (its directories, and the file or tree it names) into the
    private root the first time a command names it: a plan reads the host's files as the real run
    would, and writes only to the copies.  Links are not copied (nothing leads out of the root)."""
    if any(simulated == p or simulated.startswith(p + "/") for p in _NOT_MIRRORED):
        return
    parts = [p for p in simulated.split("/") if p and p != "."]
    current = ""
    for i, part in enumerate(parts):
        if part == "..":
            return  # the containment check decides
        current += "/" + part
        inside = root + current
        if os.path.lexists(inside):
            if os.path.islink(inside) or not os.path.isdir(inside):
                return
            continue
        if os.path.islink(current) or not os.path.exists(current):
            return
        last = i == len(parts) - 1
        if os.path.isdir(current) and not last:
            os.mkdir(inside, 0o755)
            continue
        if last and (os.path.isdir(current) or os.path.isfile(current)):
            _copy_tree(current, inside)
        return


def _copy_tree(source: str, target: str) -> None:
    """Copy a host file or directory tree (no links, no special files) within the mirror's bounds."""
    import shutil

    entries, size = 0, 0
    walked = [(source, [], [os.path.basename(source)])] if os.path.isfile(source) else os.walk(source)
    for _, _, files in walked:
        entries += 1 + len(files)
        if entries > MIRROR_ENTRIES:
            raise Refused(f"{source} holds too many files to copy into the simulated root")
    if os.path.isfile(source):
        size = os.path.getsize(source)
    else:
        for folder, _, files in os.walk(source):
            size += sum(
                os.path.getsize(os.path.join(folder, f))
                for f in files
                if os.path.isfile(os.path.join(folder, f))
            )
    if size > MIRROR_BYTES:
        raise Refused(f"{source} is too large to copy into the simulated root")
    if os.path.isfile(source):
        shutil.copy2(source, target)
        return

    def skip_links(folder: str, names: list[str]) -> set[str]:
        return {
            n
            for n in names
            if os.path.islink(os.path.join(folder, n))
            or not (os.path.isdir(os.path.join(folder, n)) or os.path.isfile(os.path.join(folder, n)))
        }

    shutil.copytree(source, target, ignore=skip_links)


def shown(text: str) -> str:
    """Text with the private root's real paths turned back into the names commands used."""
    active = _POLICY.get()
    if active is None or active.root is None:
        return text
    return text.replace(active.root.rstrip("/") + "/", "/").replace(active.root.rstrip("/"), "/")
