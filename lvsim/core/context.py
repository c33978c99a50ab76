"""What a command handler works with (`Ctx`), and the registry handlers join with `@command(spec)`.

Both LVM's commands (`lvsim.lvm`) and the other tools (`lvsim.tools`) register here; a spec
knows how to turn the command's arguments into `Args` (LVM's option parser, or none at all).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from lvsim.core.console import Console
from lvsim.core.model import State

if TYPE_CHECKING:
    from lvsim.core.config import Config


@dataclass
class Args:
    """Parsed options (long name -> list of values, None for flags) and positional arguments."""

    opts: dict[str, list[object]]
    pos: list[str]
    given: list[str]  # option names in command-line order

    def has(self, long: str) -> bool:
        return long in self.opts

    def count(self, long: str) -> int:
        return len(self.opts.get(long, []))

    def get(self, long: str, default: object = None) -> object:
        values = self.opts.get(long)
        return values[-1] if values else default

    def str(self, long: str, default: str = "") -> str:
        value = self.get(long)
        return default if value is None else str(value)


class Spec(Protocol):
    """A command's name and how its arguments are parsed."""

    name: str

    def parse(self, argv: Sequence[str]) -> Args: ...


@dataclass
class RawSpec:
    """No option parsing: every argument is positional (tools that parse their own, like dd)."""

    name: str

    def parse(self, argv: Sequence[str]) -> Args:
        return Args({}, list(argv), [])


@dataclass
class Ctx:
    """What a command handler works with."""

    state: State
    console: Console
    args: Args
    command: str
    env: Mapping[str, str] = field(default_factory=dict)  # the command's environment (LVM_SYSTEM_DIR)
    words: Sequence[str] = ()  # the arguments as given (LVM's cmd_line, which metadata backups quote)
    _config: Config | None = field(default=None, repr=False)

    @property
    def config(self) -> Config:
        """LVM's configuration as this command sees it (--config over $LVM_SYSTEM_DIR/lvm.conf)."""
        if self._config is None:
            from lvsim.core import config

            simulated = self.state.lvm_conf  # the simulated /etc/lvm/lvm.conf
            self._config = config.load(self.env, self.args.opts.get("config", []), simulated)
        return self._config


Handler = Callable[[Ctx], int]
COMMANDS: dict[str, tuple[Spec, Handler]] = {}


def command(spec: Spec) -> Callable[[Handler], Handler]:
    """Register a handler for spec.name."""

    def register(fn: Handler) -> Handler:
        COMMANDS[spec.name] = (spec, fn)
        return fn

    return register
