"""lvmconfig (also `lvm config`, `lvm dumpconfig`): what LVM reads from lvm.conf and --config.

Emulated: `--type current` (the default: the configuration as given, the --config string alone when
there is one, both merged with --mergedconfig), `--type diff` (what differs from the compiled-in
defaults), `--type default` and `--type full` for the settings lvsim knows the defaults of, and
`--validate`; with or without paths of sections and settings. Output in LVM's format (`key=value`,
sections in braces, tabs). Other types are refused.
"""

from __future__ import annotations

from typing import Any

from lvsim.core import config
from lvsim.core.context import Ctx, command
from lvsim.core.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.lvm.parser import LvmSpec
from lvsim.lvm.refusal import refuse

TYPES = (
    "current",
    "default",
    "diff",
    "full",
    "list",
    "missing",
    "new",
    "profilable",
    "profilable-command",
    "profilable-metadata",
)
EMULATED_TYPES = ("current", "default", "diff", "full")


def _scalar(value: config.Scalar) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, float):
        return f"{value:f}"
    return str(value)


def _value(value: config.Value) -> str:
    if isinstance(value, list):
        return "[" + ",".join(_scalar(v) for v in value) + "]"
    return _scalar(value)


def write(key: str, node: Any, level: int = 0) -> list[str]:
    """A node as LVM writes it: `key=value`, or a section in braces with its children one tab in."""
    indent = "\t" * level
    if not isinstance(node, dict):
        return [f"{indent}{key}={_value(node)}"]
    lines = [f"{indent}{key} {{"]
    for child, value in node.items():
        lines += write(child, value, level + 1)
    lines.append(f"{indent}}}")
    return lines


def defaults_tree() -> config.Tree:
    """The compiled-in defaults lvsim knows, as a tree."""
    tree: config.Tree = {}
    for path, value in config.DEFAULTS.items():
        node, key = config.make_path(tree, path)
        node[key] = value
    return tree


def _diff(tree: config.Tree, prefix: str = "") -> config.Tree:
    """The settings of `tree` whose value is not the compiled-in default (sections that hold any)."""
    out: config.Tree = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            sub = _diff(value, path)
            if sub:
                out[key] = sub
        elif path not in config.DEFAULTS or config.DEFAULTS[path] != value:
            out[key] = value
    return out


def _tree(ctx: Ctx, kind: str) -> config.Tree:
    cfg = ctx.config
    merged = cfg.merged()
    if kind == "current":
        if ctx.args.has("mergedconfig") or not cfg.layers:
            return merged
        return cfg.layers[0].tree  # the top of LVM's cascade: --config when given, else lvm.conf
    if kind == "diff":
        return _diff(merged)
    if kind == "default":
        return defaults_tree()
    return config.merge(defaults_tree(), merged)  # full


def _check_known(ctx: Ctx, kind: str) -> None:
    """default and full list every setting LVM has: lvsim knows only those it emulates."""
    if kind not in ("default", "full"):
        return
    if not ctx.args.pos:
        refuse(f"lvmconfig --type {kind} of the whole configuration")
    for path in ctx.args.pos:
        if config.find(defaults_tree(), path) is None and not any(
            p.startswith(path.strip("/") + "/") for p in config.DEFAULTS
        ):
            refuse(f"lvmconfig --type {kind} {path}")


def lvmconfig(ctx: Ctx) -> int:
    args = ctx.args
    if args.has("configtype") and args.has("validate"):
        raise LvmError("Only one of --type and --validate permitted.", rc=EINVALID_CMD_LINE)
    kind = args.str("configtype", "current")
    if args.has("mergedconfig") and kind not in ("current", "full"):
        raise LvmError(
            "--mergedconfig has no effect without --type current or --type full", rc=EINVALID_CMD_LINE
        )
    if args.has("validate"):
        ctx.console.print("LVM configuration valid.")  # a config LVM cannot parse stops every command before
        return 0
    if kind not in TYPES:
        raise LvmError(
            "Incorrect type of configuration specified. Expected one of: "
            "current, default, diff, full, list, missing, new, profilable, "
            "profilable-command, profilable-metadata.",
            rc=EINVALID_CMD_LINE,
        )
    if kind not in EMULATED_TYPES:
        refuse(f"lvmconfig --type {kind}")
    _check_known(ctx, kind)
    tree = _tree(ctx, kind)
    lines: list[str] = []
    rc = 0
    if not args.pos:
        for key, node in tree.items():
            lines += write(key, node)
    for path in args.pos:
        node = config.find(tree, path)
        if node is None:
            ctx.console.raw_out("".join(f"{line}\n" for line in lines))
            lines = []
            ctx.console.error(f"Configuration node {path} not found")
            rc = ECMD_FAILED
            continue
        lines += write([p for p in path.split("/") if p][-1], node)
    ctx.console.raw_out("".join(f"{line}\n" for line in lines))
    return rc


for _name in ("lvmconfig", "config", "dumpconfig"):
    command(LvmSpec(_name))(lvmconfig)
