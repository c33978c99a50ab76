"""Where a scenario's steps may touch the host's files, and the host commands' command lines.

A scenario is data: its steps may touch host files only inside a *work area*:

* `lvsim run` makes a private work directory; host commands run there (it is their working directory
  and their TMPDIR, so mktemp directories land in it), and every host path a step names must resolve
  into it or into a directory the scenario declares under `host_paths:`;
* `lvsim plan` and `lvsim render` make a private *simulated root*: every path a step names is taken
  as a path inside it (`/tmp/x` is ROOT/tmp/x), and what commands print is shown with the names the
  scenario used.  Nothing outside it changes.

The host commands (`HOST_COMMANDS`: mktemp, mkdir, rmdir, cp, cat, diff, test) take only the options
listed below; each path they name goes through `lvsim.core.hostpaths.host_path`.  Commands the backend
runs that name host files (mount points, dd's files, rsync's trees, losetup's backing files) are
checked the same way before they run, and the simulator's tools map them themselves.  The backend
runs only a fixed set of programs, named bare: LVM's programs and the tools lvsim simulates (what the
shims stand for), so a scenario on the real backend runs nothing else as root.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from lvsim.core import hostpaths

# Per host command: flags (single letters or long names) and options taking a value (True: the value
# is a path).  Positional words are paths (test: the operands of file tests; mktemp: a template).
_FLAGS: dict[str, str] = {
    "mktemp": "dqut",
    "mkdir": "pv",
    "rmdir": "pv",
    "cp": "aRrpfvnTdPxuibsl",
    "cat": "AbeEnstTuv",
    "diff": "rqusNaBbiwEZdtT",
}
_LONG_FLAGS: dict[str, set[str]] = {
    "mktemp": {"directory", "quiet", "dry-run", "tmpdir"},
    "mkdir": {"parents", "verbose"},
    "rmdir": {"parents", "verbose", "ignore-fail-on-non-empty"},
    "cp": {
        "archive", "recursive", "force", "verbose", "no-clobber", "no-target-directory", "parents",
        "one-file-system", "update", "remove-destination", "no-dereference", "attributes-only",
        "strip-trailing-slashes", "symbolic-link", "link", "preserve", "backup", "reflink",
    },
    "cat": {"show-all", "number-nonblank", "show-ends", "number", "squeeze-blank", "show-tabs", "show-nonprinting"},
    "diff": {"recursive", "brief", "unified", "new-file", "text", "ignore-all-space", "ignore-case", "report-identical-files"},
}  # fmt: skip
_VALUED: dict[str, dict[str, bool]] = {
    "mktemp": {"--suffix": False},
    "mkdir": {"-m": False, "--mode": False},
    "cp": {"-t": True, "--target-directory": True, "-S": False, "--suffix": False, "--preserve": False,
           "--no-preserve": False, "--sparse": False, "--backup": False, "--reflink": False},
    "diff": {"-x": False, "--exclude": False, "-U": False, "-C": False, "--unified": False},
}  # fmt: skip
_TEST_FILE_OPS = {
    "-e",
    "-f",
    "-d",
    "-s",
    "-r",
    "-w",
    "-x",
    "-h",
    "-L",
    "-b",
    "-c",
    "-p",
    "-S",
    "-O",
    "-G",
    "-N",
}
_NOT_PATHS = {"/dev/stdin", "-"}


class HostStepError(Exception):
    """A host command line a scenario may not run (an option lvsim does not pass on, a path outside
    the work area)."""


def _path(word: str) -> str:
    try:
        return hostpaths.host_path(word)
    except hostpaths.Refused as exc:
        raise HostStepError(str(exc)) from None


def host_argv(argv: Sequence[str]) -> list[str]:
    """A host command line with each path it names made real (and checked); HostStepError else."""
    tool, words = argv[0], list(argv[1:])
    if tool == "test":
        out = [tool]
        for i, word in enumerate(words):
            is_path = i > 0 and (words[i - 1] in _TEST_FILE_OPS or words[i - 1] in ("-ef", "-nt", "-ot"))
            is_path |= i + 1 < len(words) and words[i + 1] in ("-ef", "-nt", "-ot")
            out.append(_path(word) if is_path else word)
        return out
    flags, longs, valued = _FLAGS.get(tool), _LONG_FLAGS.get(tool, set()), _VALUED.get(tool, {})
    if flags is None:
        raise HostStepError(f"{tool} is not a host command a scenario may run")
    out, paths, i, options_done = [tool], [], 0, False
    while i < len(words):
        word = words[i]
        if options_done or not word.startswith("-") or word == "-":
            if tool == "mktemp" and "/" in word:
                raise HostStepError(f"mktemp: a template with a directory ({word}) is not allowed")
            out.append(word if word in _NOT_PATHS or tool == "mktemp" else _path(word))
            paths.append(len(out) - 1)
        elif word == "--":
            options_done = True
            out.append(word)
        elif word.startswith("--"):
            name, eq, value = word.partition("=")
            if name in valued:
                out.append(f"{name}={_path(value)}" if valued[name] and eq else word)
                if not eq:
                    i += 1
                    if i >= len(words):
                        raise HostStepError(f"{tool}: {name} needs a value")
                    out.append(_path(words[i]) if valued[name] else words[i])
            elif name[2:] in longs and (not eq or name[2:] in ("preserve", "backup", "reflink", "unified")):
                out.append(word)
            else:
                raise HostStepError(f"{tool}: option {name} is not passed on by lvsim")
        elif word[:2] in valued:
            is_path = valued[word[:2]]
            if len(word) > 2:
                out.append(word[:2] + (_path(word[2:]) if is_path else word[2:]))
            else:
                i += 1
                if i >= len(words):
                    raise HostStepError(f"{tool}: {word} needs a value")
                out += [word, _path(words[i]) if is_path else words[i]]
        elif set(word[1:]) <= set(flags):
            out.append(word)
        else:
            bad = "".join(sorted(set(word[1:]) - set(flags)))
            raise HostStepError(f"{tool}: option -{bad} is not passed on by lvsim")
        i += 1
    if tool == "cp":
        _check_cp_targets(out, paths)
    return out


def _check_cp_targets(out: list[str], paths: list[int]) -> None:
    """cp into an existing directory writes DIR/NAME: that name must resolve inside the work area too."""
    sources = [out[i] for i in paths if out[i] not in _NOT_PATHS]
    if len(sources) < 2:
        return
    dest = sources.pop()
    if os.path.isdir(dest):
        for src in sources:
            name = os.path.basename(src.rstrip("/"))
            if name and name not in (".", ".."):
                _check_real(os.path.join(dest, name))


def _check_real(real: str) -> None:
    active = hostpaths.current()
    if active is None or not active.allowed:
        return
    resolved = os.path.realpath(real)
    if not any(resolved == a or resolved.startswith(a.rstrip("/") + "/") for a in active.allowed):
        raise HostStepError(f"{hostpaths.shown(real)} resolves outside the work area")


def backend_paths(argv: Sequence[str]) -> list[str]:
    """The host paths a command the backend runs names (mount points, dd's files, rsync's trees, ...)."""
    tool, words = os.path.basename(argv[0]), list(argv[1:])
    positional = [w for w in words if not w.startswith("-")]
    if tool == "mount":
        values = {"-t", "-o", "-O", "-L", "-U", "-T", "-S", "--types", "--options"}
        pos = [
            w for j, w in enumerate(words) if not w.startswith("-") and (j == 0 or words[j - 1] not in values)
        ]
        return pos[1:2]
    if tool in ("umount", "fstrim", "fsfreeze", "xfs_freeze", "losetup", "kpartx"):
        return [w for w in positional if not w.startswith("/dev/")]
    if tool == "dd":
        return [
            w.split("=", 1)[1]
            for w in words
            if w.startswith(("if=", "of=")) and not w[3:].startswith("/dev/")
        ]
    if tool == "rsync":
        return [w for w in positional if "::" not in w]
    return []


def check_backend_command(argv: Sequence[str]) -> None:
    """HostStepError if a command for the backend is not one of the programs lvsim stands for (by its
    bare name) or names a host path outside the work area."""
    from lvsim import dispatch
    from lvsim.scenarios.steps import HOST_COMMANDS

    if argv and argv[0] not in dispatch.command_names():
        raise HostStepError(
            f"{argv[0]} is not a program a scenario may run (LVM's programs, the tools lvsim simulates, "
            f"and {', '.join(sorted(HOST_COMMANDS))})"
        )
    for word in backend_paths(argv):
        _path(word)


@dataclass
class WorkArea:
    """A scenario run's private directory: its host commands' cwd and TMPDIR, and (for plan and render)
    the simulated root."""

    path: str
    private_root: bool

    @property
    def cwd(self) -> str:
        return self.path

    @property
    def tmpdir(self) -> str:
        return os.path.join(self.path, "tmp") if self.private_root else self.path

    def env(self) -> dict[str, str]:
        return {**os.environ, "TMPDIR": self.tmpdir}

    def remove(self) -> None:
        """Delete the work area, unless something is still mounted inside it (then say so)."""
        if _mounted_below(self.path):
            return
        shutil.rmtree(self.path, ignore_errors=True)


def _mounted_below(path: str) -> bool:
    prefix = os.path.realpath(path).rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="replace") as f:
            return any(line.split()[4].startswith(prefix) for line in f if len(line.split()) > 4)
    except OSError:
        return False


@contextmanager
def work_area(private_root: bool, declared: Sequence[str] = ()) -> Iterator[WorkArea]:
    """A fresh work area with the host-path policy in force for the duration of the block."""
    area = WorkArea(tempfile.mkdtemp(prefix="lvsim-plan-" if private_root else "lvsim-run-"), private_root)
    if private_root:
        os.makedirs(area.tmpdir)
        with hostpaths.policy(area.path, [area.path], "/"):
            yield area
    else:
        with hostpaths.policy(None, [area.path, *declared], area.path):
            yield area
