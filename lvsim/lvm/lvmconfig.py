"""lvmconfig (also `lvm config`, `lvm dumpconfig`): what LVM reads from lvm.conf and --config.

Emulated, in LVM 2.03.16's words and order (lvsim.core.config.merge):

* `--type current` (the default): the configuration as given: the --config string alone when there
  is one, else lvm.conf (as LVM merges its files: the first section, then the others last first);
  with `--mergedconfig`, both merged;
* `--type diff`: the settings, merged, whose value is not the compiled-in default;
* `--type default` (every value commented out, as LVM prints it) and `--type list`, of anything,
  from LVM's own dump (lvsim.core.config_defaults); `--withcomments` for the settings lvsim honours;
* `--type full` of single settings (the value in force);
* `--validate`.

Other types, and `--type full` of sections, are refused.
"""

from __future__ import annotations

import re
from typing import Any

from lvsim.core import config, config_defaults
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


def _diff(tree: config.Tree, prefix: str = "") -> config.Tree:
    """The settings of `tree` whose value is not the compiled-in default (sections that hold any)."""
    out: config.Tree = {}
    for key, value in tree.items():
        path = f"{prefix}/{key}" if prefix else key
        if isinstance(value, dict):
            sub = _diff(value, path)
            if sub:
                out[key] = sub
        elif config.default_value(path) != value:
            out[key] = value
    return out


def _dump_lines(ctx: Ctx) -> list[str]:
    sysdir = ctx.env.get(config.SYSTEM_DIR_VAR) or "/etc/lvm"
    return config_defaults.DEFAULT_DUMP.replace("{sysdir}", sysdir).splitlines()


def _default_node(ctx: Ctx, path: str) -> list[str] | None:
    """The lines `lvmconfig --type default PATH` prints (from LVM's dump), or None if unknown."""
    parts = [p for p in path.split("/") if p]
    lines = _dump_lines(ctx)
    depth, start = 0, 0
    for i, line in enumerate(lines):
        body = line.strip().removeprefix("# ")
        indent = len(line) - len(line.lstrip("\t"))
        if indent != depth:
            continue
        m = re.match(r"([A-Za-z0-9_]+)(=| \{)", body)
        if not m or m.group(1) != parts[depth]:
            continue
        if depth + 1 < len(parts):
            if m.group(2) != " {":
                return None
            depth += 1
            continue
        if m.group(2) == "=":
            return [line.lstrip("\t")]
        start = i
        end = next(
            j
            for j in range(start + 1, len(lines))
            if lines[j].strip().removeprefix("# ") == "}"
            and len(lines[j]) - len(lines[j].lstrip("\t")) == depth
        )
        return [entry[depth:] for entry in lines[start : end + 1]]
    return None


def _current_tree(ctx: Ctx, kind: str) -> config.Tree:
    cfg = ctx.config
    if kind == "diff":
        return _diff(cfg.merged())
    if ctx.args.has("mergedconfig") or not cfg.layers:
        return cfg.merged()
    return cfg.layers[0].tree  # the top of LVM's cascade: --config when given, else lvm.conf


def _is_section(path: str) -> bool:
    path = path.strip("/")
    return any(s.startswith(path + "/") for s in config_defaults.SETTINGS)


def _known(path: str) -> bool:
    return path.strip("/") in config_defaults.SETTINGS or _is_section(path)


def _node_lines(ctx: Ctx, kind: str, tree: config.Tree, path: str) -> list[str] | None:
    """What `lvmconfig --type KIND PATH` prints for one path; None when LVM has no such node."""
    name = [p for p in path.split("/") if p][-1]
    if kind == "default":
        found = _default_node(ctx, path)
        if found is None:
            return [] if _known(path) else None  # a setting without a default prints nothing
        return _comments(ctx, path) + found
    if kind == "full":
        if _is_section(path):
            refuse(f"lvmconfig --type full of the section {path}")
        node = ctx.config.find(path)
        value = node if node is not None else config.default_value(path)
        if value is None:
            return [] if _known(path) else None
        return write(name, value)
    node = config.find(tree, path)
    return None if node is None else write(name, node)


def _paths(ctx: Ctx, kind: str, tree: config.Tree) -> tuple[list[str], int]:
    """The output lines for the positional paths (everything when none), and the exit code."""
    if not ctx.args.pos:
        if kind == "default":
            return _dump_lines(ctx), 0
        return [line for key, node in tree.items() for line in write(key, node)], 0
    lines: list[str] = []
    rc = 0
    for path in ctx.args.pos:
        found = _node_lines(ctx, kind, tree, path) if path.strip("/") else None
        if found is not None:
            lines += found
            continue
        ctx.console.raw_out("".join(f"{line}\n" for line in lines))
        lines = []
        ctx.console.error(f"Configuration node {path} not found")
        rc = ECMD_FAILED
    return lines, rc


def _comments(ctx: Ctx, path: str) -> list[str]:
    if not ctx.args.has("withcomments"):
        return []
    block = config_defaults.COMMENTS.get(path.strip("/"))
    if block is None:
        refuse(f"lvmconfig --withcomments {path}")
    return block.splitlines()[:-1]  # the value line comes from the dump


def lvmconfig(ctx: Ctx) -> int:
    args = ctx.args
    usage = f"Run `{ctx.command} --help' for more information."
    if args.has("typeconfig") and args.has("validate"):
        raise LvmError("Only one of --type and --validate permitted.", usage, rc=EINVALID_CMD_LINE)
    kind = args.str("typeconfig", "current")
    if args.has("mergedconfig") and kind not in ("current", "full"):
        raise LvmError(
            "--mergedconfig has no effect without --type current or --type full", usage, rc=EINVALID_CMD_LINE
        )
    if args.has("validate"):
        if ctx.config.problems(command_line=False):  # said already; --config's are not checked (recorded)
            raise LvmError("LVM configuration invalid.")
        ctx.console.print("LVM configuration valid.")
        return 0
    if kind not in TYPES:
        raise LvmError(
            "Incorrect type of configuration specified. Expected one of: "
            "current, default, diff, full, list, missing, new, profilable, "
            "profilable-command, profilable-metadata.",
            usage,
            rc=EINVALID_CMD_LINE,
        )
    if args.has("withcomments") and kind != "default":
        refuse(f"lvmconfig --withcomments --type {kind}")
    if kind == "list":
        wanted = [p.strip("/") for p in args.pos]
        shown = [
            s
            for s in config_defaults.SETTINGS
            if not wanted or any(s == w or s.startswith(w + "/") for w in wanted)
        ]
        ctx.console.raw_out("".join(f"{s}\n" for s in shown))
        return 0
    if kind not in ("current", "diff", "default", "full"):
        refuse(f"lvmconfig --type {kind}")
    if kind == "full" and not args.pos:
        refuse("lvmconfig --type full of the whole configuration")
    tree = _current_tree(ctx, kind) if kind in ("current", "diff") else {}
    lines, rc = _paths(ctx, kind, tree)
    ctx.console.raw_out("".join(f"{line}\n" for line in lines))
    return rc


for _name in ("lvmconfig", "config", "dumpconfig"):
    command(LvmSpec(_name))(lvmconfig)
