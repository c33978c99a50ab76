"""LVM's usage text, written from the command table: `CMD --help`, `lvm help`, and the syntax LVM
shows after a command line that fits no definition.

The layout follows lvm2 2.03.16 (tools/command.c print_usage and friends): a definition's
description, its required options and positionals, then (in full help) its optional options,
leaving out the options every definition of the command shares and the ones every LVM command
takes, which are listed once at the end.
"""

from __future__ import annotations

from lvsim.lvm.table import lookup
from lvsim.lvm.table.lvm2_commands import COMMANDS
from lvsim.lvm.table.lvm2_options import VALUES
from lvsim.lvm.table.records import Definition, OptionSpec

# lvcreate accepts a leading "+" in these for old scripts, but its usage does not show it.
_LVCREATE_PLAIN = {"PSizeMB": "SizeMB", "PExtents": "Extents"}
_VALUE_ORDER = {name: i for i, name in enumerate(VALUES)}

# What `lvm version` and `CMD --version` print: Debian 12's lvm2 2.03.16 as recorded in the VM
# (client-ansible, client-openstack, client-displays).
CONFIGURE = (
    "./configure "
    "--build=x86_64-linux-gnu "
    "--prefix=/usr "
    "--includedir=${prefix}/include "
    "--mandir=${prefix}/share/man "
    "--infodir=${prefix}/share/info "
    "--sysconfdir=/etc "
    "--localstatedir=/var "
    "--disable-option-checking "
    "--disable-silent-rules "
    "--libdir=${prefix}/lib/x86_64-linux-gnu "
    "--runstatedir=/run "
    "--disable-maintainer-mode "
    "--disable-dependency-tracking "
    "--libdir=/lib/x86_64-linux-gnu "
    "--sbindir=/sbin "
    "--with-usrlibdir=/usr/lib/x86_64-linux-gnu "
    "--with-optimisation=-O2 "
    "--with-cache=internal "
    "--with-device-uid=0 "
    "--with-device-gid=6 "
    "--with-device-mode=0660 "
    "--with-default-pid-dir=/run "
    "--with-default-run-dir=/run/lvm "
    "--with-default-locking-dir=/run/lock/lvm "
    "--with-thin=internal "
    "--with-thin-check=/usr/sbin/thin_check "
    "--with-thin-dump=/usr/sbin/thin_dump "
    "--with-thin-repair=/usr/sbin/thin_repair "
    "--with-udev-prefix=/ "
    "--enable-applib "
    "--enable-blkid_wiping "
    "--enable-cmdlib "
    "--enable-dmeventd "
    "--enable-editline "
    "--enable-lvmlockd-dlm "
    "--enable-lvmlockd-sanlock "
    "--enable-lvmpolld "
    "--enable-notify-dbus "
    "--enable-pkgconfig "
    "--enable-udev_rules "
    "--enable-udev_sync "
    "--disable-readline"
)
VERSION_LINES = (
    "LVM version:     2.03.16(2) (2022-05-18)",
    "Library version: 1.02.185 (2022-05-18)",
    "Driver version:  4.47.0",
    "Configuration:   " + CONFIGURE,
)


def _value_text(command: str, key: str, value: str) -> str:
    if command == "lvcreate" and key in ("size", "extents", "poolmetadatasize", "mirrors"):
        value = _LVCREATE_PLAIN.get(value, "Number" if (key, value) == ("mirrors", "PNumber") else value)
    return VALUES[value]


def _def_text(command: str, key: str, spec_value: str) -> str:
    """An option's or positional's value as usage shows it: literals first, then value types in
    lvm2's order, "_new" kept, other LV type suffixes dropped, " ..." when it repeats."""
    repeat = spec_value.endswith(" ...")
    words = spec_value.removesuffix(" ...").split("|")
    consts = [w[1:] for w in words if w.startswith("=")]
    types: dict[str, bool] = {}
    for word in words:
        if not word.startswith("="):
            base = word.split("_")[0]
            types[base] = types.get(base, False) or "_new" in word
    text = "".join(consts)
    shown = []
    for base in sorted(types, key=_VALUE_ORDER.__getitem__):
        shown.append(
            _value_text(command, key, base) + ("_new" if types[base] and base in ("VG", "LV") else "")
        )
    text += "|".join(shown)
    return text + (" ..." if repeat else "")


def _option_text(command: str, spec: OptionSpec, long_prefix: str = " ") -> str:
    """' -L|--size Size[m|UNIT]' or ' --type thin-pool' ("    --" for long-only in option lists)."""
    key, value = lookup.split_spec(spec)
    opt = lookup.option(key)
    text = f" -{opt.short}|--{opt.long}" if opt.short else f"{long_prefix}--{opt.long}"
    if value:
        text += " " + _def_text(command, key, value)
    return text


def _common_keys(defs: tuple[Definition, ...]) -> set[str]:
    """Options in the optional list of every definition of a command (lvm2's factor_common_options)."""
    sets = [{lookup.split_spec(s)[0] for s in (*lookup.common_options(), *d.optional)} for d in defs]
    return set.intersection(*sets) if sets else set()


def _desc_lines(d: Definition) -> list[str]:
    """_print_usage_description: lvm2 joins a definition's DESC lines with a space and splits them
    again at each "DESC:", so every line but the last keeps a trailing space."""
    return [f"  {line}{' ' if i < len(d.desc) - 1 else ''}\n" for i, line in enumerate(d.desc)]


def definition_usage(command: str, d: Definition, longhelp: bool, desc_first: bool) -> str:
    """One definition's usage, as lvm2's print_usage lays it out."""
    defs = lookup.definitions(command)
    out: list[str] = []
    if desc_first:
        out += _desc_lines(d)
    out.append(f"  {command}")
    include_extents = False
    for spec in d.required:
        key = lookup.split_spec(spec)[0]
        include_extents = include_extents or (key == "size" and command in lookup.ALTERNATE_EXTENTS)
        out.append(_option_text(command, spec))
    if d.any_required:
        # any one of these is required: those with a short letter first, then long-only ones
        shorts = [s for s in d.any_required if lookup.option(lookup.split_spec(s)[0]).short]
        longs = [s for s in d.any_required if not lookup.option(lookup.split_spec(s)[0]).short]
        for i, spec in enumerate([*shorts, *longs]):
            out.append("\n\t(" if i == 0 else ",\n\t ")
            out.append(_option_text(command, spec, long_prefix="    "))
        out.append(" )\n")
    if d.positionals:
        if d.any_required:
            out.append("\t")
        out += [" " + _def_text(command, "", p) for p in d.positionals]
    if longhelp:
        if d.autotypes:
            out.append(f"\n\t[ --type {'|'.join(d.autotypes)} ] (implied)")
        if include_extents:
            out.append(
                f"\n\t[ -l|--extents {_value_text(command, 'extents', lookup.value_type(command, 'extents'))} ]"
            )
        everywhere = {lookup.split_spec(s)[0] for s in lookup.common_options()}
        shared = _common_keys(defs) if len(defs) > 1 else set()
        listed = [s for s in d.optional if lookup.split_spec(s)[0] not in everywhere | shared]
        with_short = [s for s in listed if lookup.option(lookup.split_spec(s)[0]).short]
        long_only = [s for s in listed if not lookup.option(lookup.split_spec(s)[0]).short]
        out += [f"\n\t[{_option_text(command, s, long_prefix='    ')} ]" for s in [*with_short, *long_only]]
        out.append("\n\t[ COMMON_OPTIONS ]")
        if d.optional_positionals:
            out.append(
                "\n\t[" + "".join(" " + _def_text(command, "", p) for p in d.optional_positionals) + " ]"
            )
    out.append("\n")
    if not desc_first:
        out += _desc_lines(d)
    out.append("\n")
    return "".join(out)


def command_help(command: str) -> str:
    """`CMD --help`: the command's primary syntaxes (all of them when it has fewer than three),
    the options all its syntaxes share, and the options of every LVM command."""
    defs = lookup.definitions(command)
    show_all = len(defs) < 3
    out = [f"  {command} - {COMMANDS[command]}\n\n"]
    last: Definition | None = None
    for d in defs:
        if d.previous or (d.secondary and not show_all):
            continue
        out.append(definition_usage(command, d, longhelp=True, desc_first=True))
        last = d
    assert last is not None
    everywhere = [lookup.split_spec(s)[0] for s in lookup.common_options()]
    if len(defs) > 1:
        shared = _common_keys(defs) - set(everywhere)
        if shared:
            specs = {lookup.split_spec(s)[0]: s for s in last.optional}
            ordered = [k for k in lookup.option_keys() if k in shared]
            with_short = [k for k in ordered if lookup.option(k).short]
            long_only = [k for k in ordered if not lookup.option(k).short]
            out.append("  Common options for command:")
            out += [
                f"\n\t[{_option_text(command, specs[k], long_prefix='    ')} ]"
                for k in [*with_short, *long_only]
            ]
            out.append("\n\n")
    common = lookup.common_options()
    with_short = [s for s in common if lookup.option(lookup.split_spec(s)[0]).short]
    long_only = [s for s in common if not lookup.option(lookup.split_spec(s)[0]).short]
    out.append("  Common options for lvm:")
    out += [f"\n\t[{_option_text(command, s, long_prefix='    ')} ]" for s in [*with_short, *long_only]]
    out.append("\n\n")
    out.append("  Use --longhelp to show all options and advanced commands.\n")
    return "".join(out)


def version_text() -> str:
    """`CMD --version` and `lvm version`: LVM's, library's and kernel driver's versions."""
    return "".join(f"  {line}\n" for line in VERSION_LINES)


def lvm_help() -> list[str]:
    """`lvm help`: the lines LVM writes to stderr (each then indented like any LVM message)."""
    lines = ["Available lvm commands:", "Use 'lvm help <command>' for more information", " "]
    lines += [f"{name:<16.16}{desc}" for name, desc in COMMANDS.items()]
    return lines
