"""Failure injection: make each command of a rendered script fail in turn; nothing may be left behind.

A script under `lvsim shims` starts one Python process per command, far too slow to run every scenario
once per command.  Here the shims are tiny clients (a C program built once per session) of a server
inside the test process, which runs each command exactly as `lvsim.shim.main` does (one locked state
transaction, `emulator.run`).  And the script runs once: a function in front of every command that
may change something (put there through BASH_ENV) asks the server whether this call is a new place to
fail, and if so forks the script's shell there (`forkpt`, a loadable bash builtin).  The fork runs on:
its command fails (exit 1, without reading its input), its trap unwinds its undo stack, and it exits.
The server then checks that it failed and that nothing it made is left, puts the host's files and
the state back as they were at the fork (hard links: the shell's open files stay the same files),
and the script goes on with the command run for real.  So an injection costs only what follows the
failure, not a run of everything before it.  (Directories are made anew, and a mount's record of its
directory follows.)  A command in a subshell (`$(mktemp -d)`) gets a run of its own from the start
instead, failing the N-th changing command: a fork of the subshell would not go on as the script does.
A shipped scenario's script must then end as `lvsim run` does: the same LVs and the same backups, which
also shows that each failure was put back exactly.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fast_shims import Reply, Request, compile_c, host_tools, run_command, serving
from rendered_scripts import (
    BASIC,
    READ_ONLY,
    SCENARIOS,
    dir_files,
    expects_host,
    host_env,
    left_files,
    leftovers,
    make_shims,
    render_path,
    reports,
    run_script,
    run_setup,
    saved_state,
    script_args,
    write_scenario,
)
from scenario_observe import observe

from backends.sim import SimBackend
from lvsim import dispatch
from lvsim.core import store

# `forkpt STATUS MAIN_OUT MAIN_ERR FORK_OUT FORK_ERR`, a loadable bash builtin: fork the shell.  In the
# fork it returns 1, with its own offset in the script bash reads (fd 255), every descriptor of the
# script's standard output and error (MAIN_*, found by device and inode: bash keeps copies while a
# function's output is redirected) pointing to FORK_OUT and FORK_ERR, and descriptors 1 and 2, when
# they are files, opened anew (what the fork writes there moves no offset of the shell's).  The
# shell returns 0 once the fork has exited, its status in STATUS and files 1 and 2 cut back to the
# length they had (SIGCHLD held meanwhile, so that bash's handler cannot reap the fork first); 2 if
# it cannot fork or wait, which stops the script.
FORKPT = r"""
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

typedef struct word_desc { char *word; int flags; } WORD_DESC;
typedef struct word_list { struct word_list *next; WORD_DESC *word; } WORD_LIST;
struct builtin {
    char *name;
    int (*function)(WORD_LIST *);
    int flags;
    char *const *long_doc;
    const char *short_doc;
    char *handle;
};

static int same(int fd, const struct stat *st) {
    struct stat now;
    return fstat(fd, &now) == 0 && now.st_dev == st->st_dev && now.st_ino == st->st_ino;
}

static void point_to(int fd, const char *path, int flags) {
    int keep = fcntl(fd, F_GETFD), to = open(path, flags, 0600);
    if (keep < 0 || to < 0 || dup2(to, fd) < 0 || fcntl(fd, F_SETFD, keep) < 0)
        _exit(98);
    close(to);
}

static void fork_side(char **arg) {
    off_t at = lseek(255, 0, SEEK_CUR);
    if (at >= 0)
        point_to(255, "/proc/self/fd/255", O_RDONLY), lseek(255, at, SEEK_SET);
    struct stat out, err;
    if (stat(arg[1], &out) < 0 || stat(arg[2], &err) < 0)
        _exit(97);
    int made[2] = {open(arg[3], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600),
                   open(arg[4], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    DIR *dir = opendir("/proc/self/fd");
    struct dirent *entry;
    int fds[1024], n = 0;
    while (dir && (entry = readdir(dir)) && n < 1024)
        if (entry->d_name[0] != '.')
            fds[n++] = atoi(entry->d_name);
    if (!dir || made[0] < 0 || made[1] < 0)
        _exit(96);
    closedir(dir);
    for (int i = 0; i < n; i++)
        for (int k = 0; k < 2; k++)
            if (fds[i] != made[k] && fds[i] != made[1 - k] && same(fds[i], k ? &err : &out)) {
                int keep = fcntl(fds[i], F_GETFD);
                if (keep < 0 || dup2(made[k], fds[i]) < 0 || fcntl(fds[i], F_SETFD, keep) < 0)
                    _exit(95);
            }
    close(made[0]);
    close(made[1]);
    for (int fd = 1; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && !same(fd, &out) && !same(fd, &err))
            point_to(fd, fd == 1 ? "/proc/self/fd/1" : "/proc/self/fd/2", O_WRONLY | O_APPEND);
    }
}

static int forkpt_builtin(WORD_LIST *list) {
    char *arg[5];
    for (int i = 0; i < 5; i++, list = list ? list->next : 0)
        if (!list)
            return 2;
        else
            arg[i] = list->word->word;
    off_t size[3] = {-1, -1, -1};
    for (int fd = 1; fd <= 2; fd++) {
        struct stat st;
        if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
            size[fd] = st.st_size;
    }
    /* SIGCHLD held until the fork is reaped here: bash's handler would otherwise reap it first */
    sigset_t chld, old;
    sigemptyset(&chld);
    sigaddset(&chld, SIGCHLD);
    sigprocmask(SIG_BLOCK, &chld, &old);
    pid_t pid = fork();
    if (pid == 0) {
        sigprocmask(SIG_SETMASK, &old, NULL);
        fork_side(arg);
        return 1;
    }
    int status, got = -1;
    while (pid > 0 && (got = waitpid(pid, &status, 0)) < 0 && errno == EINTR)
        ;
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (got != pid)
        return 2;
    for (int fd = 1; fd <= 2; fd++)
        if (size[fd] >= 0 && ftruncate(fd, size[fd]) < 0)
            return 2;
    FILE *file = fopen(arg[0], "w");
    if (!file)
        return 2;
    fprintf(file, "%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    fclose(file);
    return 0;
}

static char *forkpt_doc[] = {"Fork the shell: 1 in the fork, 0 once it has exited.", NULL};
struct builtin forkpt_struct = {"forkpt", forkpt_builtin, 1, forkpt_doc, "forkpt STATUS MAIN_OUT MAIN_ERR FORK_OUT FORK_ERR", 0};
"""

# What the functions in front of the commands call (names of the client, as the commands' are).
POINT, FAIL, RESTORE = "lvsim-test-point", "lvsim-test-fail", "lvsim-test-restore"
BASH_ENV = """\
enable -f {forkpt} forkpt || exit 99
lvsim_test_inject() {{
  if command {point} "$((BASHPID == $$))" "$@" </dev/null; then
    local lvsim_test_forked=0
    forkpt {files}/status {files}/main.out {files}/main.err {files}/fork.out {files}/fork.err || lvsim_test_forked=$?
    if ((lvsim_test_forked == 0)); then
      command {restore} </dev/null
    elif ((lvsim_test_forked == 1)); then
      command {fail} "$@" </dev/null
      return
    else
      echo "forkpt could not fork or wait for the fork" >&2
      exit 99
    fi
  fi
  command "$@"
}}
"""


@dataclass(frozen=True)
class Point:
    """A place to fail: the changing command's number, its command line and the script's undo stack
    when it was called (what its failure has to unwind)."""

    n: int
    cmd: str
    undo: tuple[str, ...]


@dataclass
class Injector:
    """The server's side of a run: runs the commands, picks the places to fail, checks each fork."""

    forkpt: Path  # the builtin
    env: dict[str, str] = field(default_factory=dict)
    files: Path = Path()  # the run's logs and the snapshot of its host
    host: list[str] = field(default_factory=list)  # what was there before the script ran
    count: int = 0  # changing commands so far (outside forks)
    announced: list[str] | None = None  # the command line a function asked about last
    pending: Point | None = None  # where the script forked, until that command has run for real
    forked: list[str] | None = None  # the command line of the fork running now
    outcome: list[str] = field(default_factory=list)  # what that fork did wrong
    seen: set[tuple[str, tuple[str, ...]]] = field(default_factory=set)  # situations failed
    injected: list[Point] = field(default_factory=list)
    deferred: list[Point] = field(default_factory=list)  # to fail in runs of their own
    fail_at: int = 0  # in such a run: the changing command to fail (1-based)
    dirs: dict[str, tuple[int, int]] = field(default_factory=dict)  # the host's directories at the fork
    problems: list[str] = field(default_factory=list)

    def changes(self, argv: list[str]) -> bool:
        if argv[0] in READ_ONLY:
            return False
        return not (argv[0] == "dmsetup" and argv[1:2] in (["ls"], ["info"]))

    def handle(self, request: Request) -> Reply:
        argv = [str(a) for a in request["argv"]]  # type: ignore[attr-defined]
        if self.fail_at and self.changes(argv):  # a run again from the start, to fail one command
            self.count += 1
            if self.count == self.fail_at:
                return {"rc": 1, "stdout": "", "stderr": f"injected failure: {' '.join(argv)}\n"}
        if argv[0] == POINT:
            return {"rc": self._point(argv[2:], in_shell=argv[1] == "1"), "stdout": "", "stderr": ""}
        if argv[0] == FAIL:
            return {"rc": 1, "stdout": "", "stderr": f"injected failure: {' '.join(argv[1:])}\n"}
        if argv[0] == RESTORE:
            self._restore()
            return {"rc": 0, "stdout": "", "stderr": ""}
        changes = self.changes(argv)
        if changes and not self.fail_at and argv != self.announced:
            self.problems.append(f"{' '.join(argv)}: not run through the function in front of it")
        reply = run_command(request)
        if changes and self.pending is not None and self.forked is None:
            point, self.pending = self.pending, None
            if reply["rc"] == 0:  # else the scenario expects it to fail: failing it is no injection
                self.seen.add((point.cmd.split()[0], point.undo))
                if point in self.deferred:
                    return reply
                self.injected.append(point)
                self.problems += self.outcome
            elif point in self.deferred:
                self.deferred.remove(point)
        return reply

    def _point(self, argv: list[str], in_shell: bool) -> int:
        """0 if the script is to fork here: a changing command in a situation not failed yet, in the
        script's own shell (in a subshell, it is failed in a run of its own)."""
        self.announced = argv
        if self.forked is not None or not self.changes(argv):
            return 1
        self.count += 1
        point = Point(self.count, " ".join(argv), undo_stack((self.files / "main.err").read_text()))
        if (argv[0], point.undo) in self.seen:
            return 1
        self.pending = point
        if not in_shell:
            self.deferred.append(point)
            return 1
        self.forked = argv
        self.dirs = _save(self._roots(), self.files / "snapshot")
        return 0

    def _restore(self) -> None:
        """Check what the fork at the pending point did, then put the host back as it was there."""
        point, argv = self.pending, self.forked
        assert point is not None and argv is not None
        status = int((self.files / "status").read_text())
        err = (self.files / "fork.err").read_text(errors="replace")
        self.outcome = _unwound_wrongly(point, status, err, self.env, self.host)
        moved = {
            self.dirs[path]: now for path, now in _put_back(self._roots(), self.files / "snapshot").items()
        }
        with store.transaction(Path(self.env["LVSIM_STATE"])) as state:
            for mount in state.mounts:  # a mount is its directory (the same one, made anew here)
                if tuple(mount.get("ident") or ()) in moved:
                    mount["ident"] = list(moved[tuple(mount["ident"])])
        self.forked, self.announced = None, argv

    def _roots(self) -> list[Path]:
        """Where the script and its commands make things: the state, TMPDIR, the directory parameters."""
        home = Path(self.env["HOME"])
        return [Path(self.env["LVSIM_STATE"]).parent, Path(self.env["TMPDIR"]), home / "dirs"]


def _unwound_wrongly(point: Point, status: int, err: str, env: dict[str, str], host: list[str]) -> list[str]:
    """What a run failed at `point` did wrong (exit `status`, standard error `err`): it must fail, say
    so, undo each change on the undo stack of the point, and leave nothing (beyond `host`) mounted."""
    said = f"failing command {point.n} ({point.cmd})"
    problems = []
    if status == 0:
        problems.append(f"{said} did not fail the script")
    if f"injected failure: {point.cmd.split()[0]} " not in err:
        problems.append(f"{said}: no 'injected failure' in its log:\n{err[-3000:]}")
    if f"undoing {len(point.undo)} change(s)" not in err:
        problems.append(f"{said} did not undo {len(point.undo)} change(s):\n{err[-3000:]}")
    left = [thing for thing in leftovers(saved_state(env)) if thing not in host]
    if left:
        problems.append(f"{said} left {left}:\n{err[-3000:]}")
    mounted = [p for p in Path(env["TMPDIR"]).rglob("*") if p.is_dir() and os.path.ismount(p)]
    if mounted:
        problems.append(f"{said} left {mounted} mounted")
    return problems


def _save(roots: list[Path], into: Path) -> dict[str, tuple[int, int]]:
    """Keep the trees at roots (those that exist) in `into`, each under its name: directories made
    anew, every other entry a hard link (the files that processes hold open stay the same files).
    Returns each directory's identity (device, inode) by its path."""
    dirs: dict[str, tuple[int, int]] = {}
    for root in roots:
        if root.exists():
            _link_tree(root, into / root.name, dirs)
    return dirs


def _put_back(roots: list[Path], into: Path) -> dict[str, tuple[int, int]]:
    """Make the trees at roots what `_save` kept in `into` (and forget it); the directories' new
    identities by their paths."""
    dirs: dict[str, tuple[int, int]] = {}
    for root in roots:
        shutil.rmtree(root, ignore_errors=True)
        if (into / root.name).exists():
            _link_tree(into / root.name, root, {})
            _link_tree(root, Path(os.devnull), dirs, walk_only=True)
    shutil.rmtree(into)
    return dirs


def _link_tree(src: Path, dst: Path, dirs: dict[str, tuple[int, int]], walk_only: bool = False) -> None:
    """dst: src's tree, directories made anew, the rest hard links; src's directories into `dirs`."""
    st = src.stat()
    dirs[str(src)] = (st.st_dev, st.st_ino)
    if not walk_only:
        dst.mkdir(parents=True)
    for entry in os.scandir(src):
        if entry.is_dir(follow_symlinks=False):
            _link_tree(Path(entry.path), dst / entry.name, dirs, walk_only)
        elif not walk_only:
            os.link(entry.path, dst / entry.name, follow_symlinks=False)
    if not walk_only:
        shutil.copystat(src, dst)


def undo_stack(log: str) -> tuple[str, ...]:
    """The undo stack a rendered script's log describes so far ("undo pushed: X" / "undo popped: X")."""
    stack: list[str] = []
    for line in log.splitlines():
        _, pushed, entry = line.partition(": undo pushed: ")
        if pushed:
            stack.append(entry)
            continue
        _, popped, entry = line.partition(": undo popped: ")
        if popped:
            del stack[len(stack) - 1 - stack[::-1].index(entry)]
    return tuple(stack)


@pytest.fixture(scope="session")
def forkpt(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The forkpt builtin, built once per session."""
    return compile_c(tmp_path_factory.mktemp("forkpt"), FORKPT, "forkpt.so", "-shared", "-fPIC")


@pytest.fixture
def fast_host(tmp_path: Path, fast_client: Path, forkpt: Path) -> Iterator[tuple[dict[str, str], Injector]]:
    """A simulated host with fast shims, the injectable host tools among them, served by an injector;
    yields its environment."""
    injector = Injector(forkpt=forkpt)
    names = (*host_tools(), POINT, FAIL, RESTORE)
    with serving(tmp_path, fast_client, injector.handle, names) as env:
        yield env, injector


def _inject_every_command(
    script: Path, env: dict[str, str], injector: Injector, scenario: Path | None = None
) -> None:
    """Fail each changing command in turn, once per distinct situation: commands of one kind called
    with the same undo stack (the writes of a loop, say) unwind alike, so the first stands for all.
    A scenario over existing storage runs on the host its setup makes, which must be all that is left."""
    home = Path(env["HOME"])
    args = script_args(scenario, home) if scenario else ["--loop"]
    if scenario is not None and expects_host(scenario):
        run_setup(scenario, SimBackend(state_path=env["LVSIM_STATE"]))
        injector.host = leftovers(saved_state(env))
    injector.env, injector.files = env, home / "injection"
    injector.files.mkdir()
    emulated = [*dispatch.command_names(), *host_tools()]
    functions = [
        f'{name}() {{ lvsim_test_inject {name} "$@"; }}\n' for name in emulated if name not in READ_ONLY
    ]
    bash_env = injector.files / "bash_env"
    text = BASH_ENV.format(
        forkpt=injector.forkpt, files=injector.files, point=POINT, fail=FAIL, restore=RESTORE
    )
    bash_env.write_text(text + "".join(functions))
    with (injector.files / "main.out").open("w") as out, (injector.files / "main.err").open("w") as err:
        run = subprocess.run(
            ["bash", str(script), *args],
            env={**env, "BASH_ENV": str(bash_env)},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            timeout=900,
            check=False,
        )
    assert run.returncode == 0, (injector.files / "main.err").read_text()[-3000:]
    assert injector.count, "the script changed nothing"
    assert injector.pending is None and injector.forked is None
    assert injector.injected, "no command failed"
    assert not injector.problems, "\n".join(injector.problems)
    if scenario is not None:
        _ended_like_lvsim_run(scenario, env)
    for point in injector.deferred:
        for root in injector._roots():
            shutil.rmtree(root, ignore_errors=True)
        Path(env["TMPDIR"]).mkdir()
        if scenario is not None and expects_host(scenario):
            run_setup(scenario, SimBackend(state_path=env["LVSIM_STATE"]))
        injector.fail_at, injector.count = point.n, 0
        result = run_script(script, env, *args)
        problems = _unwound_wrongly(point, result.returncode, result.stderr, env, injector.host)
        assert not problems, "\n".join(problems)


def _ended_like_lvsim_run(scenario: Path, env: dict[str, str]) -> None:
    """The script, each injected failure put back, ended as `lvsim run` does: the same LVs and VGs, the
    same files backed up (in its mktemp directories and its directory parameters)."""
    with SimBackend() as sim:
        seen, _ = observe(scenario, sim)
        assert reports(saved_state(env)) == reports(sim.state)
    left = left_files(Path(env["TMPDIR"])) + dir_files(scenario, Path(env["HOME"]))
    assert sorted(left, key=repr) == sorted(seen["files"].values(), key=repr)


def test_every_failure_of_the_basic_scenario_is_undone(
    tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    env, injector = fast_host
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    _inject_every_command(script, env, injector)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.stem)
def test_every_failure_of_a_shipped_scenario_is_undone(
    path: Path, tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    """Each shipped scenario's script, on a simulated host (its own loop disks, or for one over existing
    storage a host its setup made): every failure is undone, and the script, the failures put back,
    ends as `lvsim run` does."""
    env, injector = fast_host
    _inject_every_command(render_path(path, tmp_path), env, injector, path)


def test_fast_shims_agree_with_lvsim_shims(
    tmp_path: Path, fast_host: tuple[dict[str, str], Injector]
) -> None:
    """The fast shims are a test device only: they must give what the real shims give."""
    env, _ = fast_host
    script = render_path(write_scenario(tmp_path, BASIC), tmp_path)
    fast = run_script(script, env, "--loop")
    assert fast.returncode == 0, fast.stderr
    other = tmp_path / "real"
    other.mkdir()
    real_env = host_env(other, make_shims(other))
    real = run_script(script, real_env, "--loop")
    assert real.returncode == 0, real.stderr
    assert reports(saved_state(env)) == reports(saved_state(real_env))
    assert _masked(fast.stdout, env) == _masked(real.stdout, real_env)


def _masked(text: str, env: dict[str, str]) -> str:
    """Output with the temporary directories' random names masked."""
    return re.sub(r"tmp\.\w+", "tmp.X", text.replace(env["TMPDIR"], "T"))
