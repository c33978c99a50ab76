"""LVM's configuration as a command reads it: `--config` strings over `$LVM_SYSTEM_DIR/lvm.conf` over
the compiled-in defaults (LVM 2.03.16).

Where lvm.conf comes from (lvsim's decision, see docs/training.md): from the directory named by the
command's own LVM_SYSTEM_DIR (`lvm.conf`, then `lvmlocal.conf` merged into it, as LVM does), a real
directory lvsim only reads; without LVM_SYSTEM_DIR, from the simulated /etc/lvm/lvm.conf kept in the
state (`state.lvm_conf`: none unless set, e.g. by SimBackend.set_lvm_conf, so the compiled-in
defaults, like the test VM, which has no /etc/lvm/lvm.conf). The host's /etc/lvm is never read. A
missing file is no error (LVM's rule too).

The syntax and its trees are lvsim.core.config_text's.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lvsim.core import config_text
from lvsim.core.config_text import ConfigSyntaxError, Tree, Value
from lvsim.core.errors import EINVALID_CMD_LINE
from lvsim.core.pool_sizing import AUTOEXTEND_PERCENT, AUTOEXTEND_THRESHOLD

SYSTEM_DIR_VAR = "LVM_SYSTEM_DIR"
SIMULATED_LVM_CONF = "/etc/lvm/lvm.conf"  # without LVM_SYSTEM_DIR: kept in the state, never the host's
EINIT_FAILED = 4  # LVM's exit code when it cannot read its configuration file
CONFIG_FILES = ("lvm.conf", "lvmlocal.conf")

# The settings the emulated commands read, with LVM 2.03.16's compiled-in defaults: the only ones
# lvsim honours (a command given any other, by --config or lvm.conf, is refused).
DEFAULTS: dict[str, Value] = {
    "activation/monitoring": 1,
    "activation/thin_pool_autoextend_threshold": AUTOEXTEND_THRESHOLD,
    "activation/thin_pool_autoextend_percent": AUTOEXTEND_PERCENT,
    "activation/snapshot_autoextend_threshold": AUTOEXTEND_THRESHOLD,
    "activation/snapshot_autoextend_percent": AUTOEXTEND_PERCENT,
    "allocation/thin_pool_zero": 1,
    "allocation/thin_pool_discards": "passdown",
    "allocation/thin_pool_chunk_size_policy": "generic",
    "report/time_format": "%Y-%m-%d %T %z",
    "log/prefix": "  ",
    # Only busy or suspended devices make these matter (os-brick's lvremove sets both): lvsim's
    # lvremove refuses an open LV before deactivating, and its devices are never left suspended.
    "activation/retry_deactivation": 1,
    "devices/ignore_suspended_devices": 0,
    # Whether metadata changes are backed up and archived (lvsim.lvm.metadata.files).
    "backup/backup": 1,
    "backup/archive": 1,
}


# Honoured too, though LVM has no default for it: the chunk size (KiB) new thin pools get.
HONOURED = frozenset({*DEFAULTS, "allocation/thin_pool_chunk_size"})

# The report/* settings lvs, vgs and pvs read (lvsim.lvm.report.engine.Settings); their defaults
# come from LVM's dump (default_value).
REPORT_SETTINGS = frozenset(
    {
        *(
            f"report/{name}"
            for name in (
                "output_format",
                "compact_output",
                "aligned",
                "buffered",
                "headings",
                "separator",
                "prefixes",
                "quoted",
                "columns_as_rows",
                "binary_values_as_numeric",
            )
        ),
        *(
            f"report/{kind}_{what}"
            for kind in ("lvs", "vgs", "pvs", "segs", "pvsegs")
            for what in ("cols", "cols_verbose", "sort")
        ),
    }
)
HONOURED |= REPORT_SETTINGS


class ConfigError(Exception):
    """A config text LVM cannot parse: `lines` are LVM's words for it (each indented as LVM logs it,
    except the first when `raw`, as for a config file, read before LVM's logging is set up)."""

    def __init__(self, *lines: str, rc: int = EINIT_FAILED, raw: bool = False) -> None:
        super().__init__("\n".join(lines))
        self.lines = lines
        self.rc = rc
        self.raw = raw


def parse(text: str) -> tuple[Tree, list[str]]:
    """The tree of a config text and LVM's warnings about it; raises ConfigError."""
    try:
        return config_text.parse(text)
    except ConfigSyntaxError as exc:
        raise ConfigError(str(exc)) from None


def find(tree: Tree, path: str) -> Any:
    """The node at a slash path (a dict for a section, else a value), or None."""
    node: Any = tree
    for part in (p for p in path.split("/") if p):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _after_first(items: list[tuple[str, Any]], item: tuple[str, Any]) -> None:
    """Put item second (first when there is none): how LVM's merge inserts a node."""
    items.insert(1 if items else 0, item)


def merge(base: Tree, top: Tree) -> Tree:
    """base with top merged in as LVM merges config trees (merge_config_tree): a section or value
    base lacks goes in second place; a value it has is replaced in place; a subsection of a section
    both have is ignored."""
    items = list(base.items())
    for key, value in top.items():
        index = next((i for i, (k, _) in enumerate(items) if k == key), None)
        if index is None:
            _after_first(items, (key, value))
        elif isinstance(value, dict) and isinstance(items[index][1], dict):
            section = list(items[index][1].items())
            for child, child_value in value.items():
                if isinstance(child_value, dict):
                    continue
                at = next((i for i, (k, _) in enumerate(section) if k == child), None)
                if at is None:
                    _after_first(section, (child, child_value))
                else:
                    section[at] = (child, child_value)
            items[index] = (key, dict(section))
        elif not isinstance(value, dict):
            items[index] = (key, value)
    return dict(items)


def settings(tree: Tree, prefix: str = "") -> dict[str, Value]:
    """Every value of a tree by its full path ("activation/monitoring")."""
    out: dict[str, Value] = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            out.update(settings(value, path))
        else:
            out[path] = value
    return out


# ---------------------------------------------------------------------------------------------
# Sources


@dataclass(frozen=True)
class Source:
    """One layer of configuration: the --config strings or a config file."""

    name: str  # "--config" or the file's path
    tree: Tree


@dataclass
class Config:
    """What one command sees: its layers, highest priority first, and the warnings reading them gave."""

    layers: list[Source] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def find(self, path: str) -> Any:
        """The value (or section) at path in the first layer that has it, else None."""
        for layer in self.layers:
            node = find(layer.tree, path)
            if node is not None:
                return node
        return None

    def value(self, path: str) -> Value:
        """A setting's value: the first layer's that sets it, else LVM's compiled-in default."""
        node = self.find(path)
        if node is None or isinstance(node, dict):
            return _default(path)
        return node

    def int(self, path: str) -> int:
        value = self.value(path)
        if isinstance(value, bool | int):
            return int(value)
        if isinstance(value, float):
            return int(value)
        return int(_default(path))  # a string where LVM wants a number: LVM uses the default

    def str(self, path: str) -> str:
        value = self.value(path)
        return value if isinstance(value, str) else str(_default(path))

    def merged(self) -> Tree:
        """All layers merged into one tree, as LVM merges its cascade (--mergedconfig, diff, full)."""
        tree: Tree = {}
        for layer in reversed(self.layers):
            tree = merge(tree, layer.tree)
        return tree

    def problems(self, command_line: bool = True) -> list[str]:
        """LVM's warnings about the settings: unknown ones, and values of the wrong type (without
        --config's when `command_line` is false)."""
        from lvsim.core import config_defaults

        known = set(config_defaults.SETTINGS)
        out = []
        for layer in self.layers:
            if not command_line and layer.name == "--config":
                continue
            for path, value in settings(layer.tree).items():
                if path not in known:
                    out.append(f'Configuration setting "{path}" unknown.')
                    continue
                default = default_value(path)
                found, expected = _type_name(value), _type_name(default) if default is not None else ""
                if expected and found != expected and not (found == "integer" and expected == "float"):
                    out.append(
                        f'WARNING: Configuration setting "{path}" has invalid type. '
                        f"Found {found} but expected {expected}."
                    )
        return out

    def unhonoured(self) -> list[tuple[str, str]]:
        """(source, path) of each known setting lvsim does not honour set to other than its default:
        "--config" or "lvm.conf", the path."""
        from lvsim.core import config_defaults

        known = set(config_defaults.SETTINGS)
        return [
            ("--config" if layer.name == "--config" else "lvm.conf", path)
            for layer in self.layers
            for path, value in settings(layer.tree).items()
            if path in known and path not in HONOURED and value != default_value(path)
        ]


def system_dir(env: Mapping[str, str]) -> Path | None:
    """The directory LVM reads its config from, if the environment names one."""
    value = env.get(SYSTEM_DIR_VAR)
    return Path(value) if value else None


def read_files(directory: Path | None) -> Source | None:
    """lvm.conf (and lvmlocal.conf merged into it) from a system directory; None when there is none."""
    if directory is None:
        return None
    tree: Tree = {}
    found = False
    warnings: list[str] = []
    for name in CONFIG_FILES:
        path = directory / name
        try:
            text = path.read_text(errors="replace")
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise ConfigError(f"{path}: {exc.strerror}") from None
        parsed, more = _parse_file(text, str(path))
        warnings += more
        tree = merge(tree, parsed)  # LVM merges its files into a fresh tree: this is its order
        found = True
    return Source(str(directory / CONFIG_FILES[0]), tree) if found else None


def _parse_file(text: str, path: str) -> tuple[Tree, list[str]]:
    try:
        return parse(text)
    except ConfigError as exc:
        raise ConfigError(*exc.lines, f"Failed to load config file {path}", raw=True) from None


def load(env: Mapping[str, str], overrides: Sequence[object] = (), simulated: str | None = None) -> Config:
    """The configuration a command sees: the `--config` string over the files of $LVM_SYSTEM_DIR, or
    without LVM_SYSTEM_DIR over `simulated`, the text of the simulated /etc/lvm/lvm.conf (if any)."""
    config = Config()
    if overrides:
        try:
            tree, warnings = parse(str(overrides[-1]))
        except ConfigError as exc:
            raise ConfigError(
                *exc.lines, "Failed to set overridden configuration entries.", rc=EINVALID_CMD_LINE
            ) from None
        config.layers.append(Source("--config", tree))
        config.warnings += warnings
    directory = system_dir(env)
    files = read_files(directory) if directory is not None else _simulated(simulated)
    if files is not None:
        config.layers.append(files)
    return config


def _simulated(text: str | None) -> Source | None:
    if text is None:
        return None
    tree, _ = _parse_file(text, SIMULATED_LVM_CONF)
    return Source(SIMULATED_LVM_CONF, merge({}, tree))


def _type_name(value: Any) -> str:
    """LVM's word for a value's type ("" for an array, which lvsim does not check)."""
    if isinstance(value, list):
        return ""
    if isinstance(value, bool | int):
        return "integer"
    return "float" if isinstance(value, float) else "string"


_DEFAULT_VALUES: dict[str, Value] = {}


def _default(path: str) -> Value:
    """A honoured setting's default: DEFAULTS, else LVM's dump."""
    if path in DEFAULTS:
        return DEFAULTS[path]
    value = default_value(path)
    if value is None:
        raise KeyError(path)
    return value


def default_value(path: str) -> Value | None:
    """LVM 2.03.16's compiled-in default of any setting (None when it has none), from its own dump."""
    if not _DEFAULT_VALUES:
        from lvsim.core import config_defaults

        text = re.sub(r"^(\s*)# ", r"\1", config_defaults.DEFAULT_DUMP, flags=re.M)
        tree, _ = parse(text.replace("{sysdir}", "/etc/lvm"))
        _DEFAULT_VALUES.update(settings(tree))
    return _DEFAULT_VALUES.get(path)


def environment() -> dict[str, str]:
    """The parts of this process's environment LVM's configuration depends on."""
    return {k: v for k, v in os.environ.items() if k == SYSTEM_DIR_VAR}
