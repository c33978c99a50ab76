"""lvs, vgs and pvs: LVM's reporter (tools/reporter.c) over the simulator state.

The flow follows LVM: merge -o/-O/-S with the defaults, resolve field names in two
passes (report types first, then fields), pick the final report type from the fields
used, walk the objects named on the command line (errors as process_each_* prints
them), filter by the selection, sort, and print in the chosen format.
"""

from __future__ import annotations

from typing import Any, NoReturn

from lvsim.core.console import Console
from lvsim.core.context import Args
from lvsim.core.errors import ECMD_FAILED, EINVALID_CMD_LINE, LvmError
from lvsim.core.model import LV, PV_MIN_SIZE, LVKind, State
from lvsim.core.partial import missing_pvs
from lvsim.lvm.refusal import check_fields
from lvsim.lvm.report import layout
from lvsim.lvm.report.field_names import ReportError, all_types, field_help, find_field
from lvsim.lvm.report.fields import (
    FIELDS,
    LABEL,
    LV_TYPES,
    LVS,
    PVS,
    PVSEGS,
    SEGS,
    SPECIAL,
    TYPE_PREFIX,
    VGS,
    Env,
    Field,
    Row,
    free_space_getter,
)
from lvsim.lvm.report.view import VgView, system_pvs, system_vgs
from lvsim.lvm.tags import lv_selected, matches, split_args

DEFAULT_COLS = {
    LVS: "lv_name,vg_name,lv_attr,lv_size,pool_lv,origin,data_percent,metadata_percent,move_pv,mirror_log,"
    "copy_percent,convert_lv",
    VGS: "vg_name,pv_count,lv_count,snap_count,vg_attr,vg_size,vg_free",
    LABEL: "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free",
    SEGS: "lv_name,vg_name,lv_attr,stripes,segtype,seg_size",
    PVSEGS: "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,pvseg_start,pvseg_size",
}
VERBOSE_COLS = {
    LVS: "lv_name,vg_name,seg_count,lv_attr,lv_size,lv_major,lv_minor,lv_kernel_major,lv_kernel_minor,pool_lv,"
    "origin,data_percent,metadata_percent,move_pv,copy_percent,mirror_log,convert_lv,lv_uuid,lv_profile",
    VGS: "vg_name,vg_attr,vg_extent_size,pv_count,lv_count,snap_count,vg_size,vg_free,vg_uuid,vg_profile",
    LABEL: "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,dev_size,pv_uuid",
    SEGS: "lv_name,vg_name,lv_attr,seg_start,seg_size,stripes,segtype,stripesize,chunksize",
    PVSEGS: "pv_name,vg_name,pv_fmt,pv_attr,pv_size,pv_free,pvseg_start,pvseg_size,lv_name,seg_start_pe,segtype,"
    "seg_pe_ranges",
}
DEFAULT_SORT = {
    LVS: "vg_name,lv_name",
    VGS: "vg_name",
    LABEL: "pv_name",
    SEGS: "vg_name,lv_name,seg_start",
    PVSEGS: "pv_name,pvseg_start",
}
REPORT_PREFIX = {LVS: "lv", SEGS: "seg", VGS: "vg", LABEL: "pv", PVS: "pv", PVSEGS: "pvseg"}
JSON_NAME = {LVS: "lv", SEGS: "seg", VGS: "vg", LABEL: "pv", PVS: "pv", PVSEGS: "pvseg"}

# ---------------------------------------------------------------------------------------------
# Report definition


class Column:
    """A field in the report: displayed or hidden (only sorted or selected on)."""

    __slots__ = ("desc", "field", "hidden", "sort")

    def __init__(self, field: Field, hidden: bool) -> None:
        self.field = field
        self.hidden = hidden
        self.sort = -1  # position among the sort keys
        self.desc = False


class Definition:
    """The parsed -o/-O/-S of one report (dm_report_init_with_selection)."""

    def __init__(self, console: Console, base: int, options: str, keys: str, selection: str) -> None:
        self.console = console
        self.prefix = TYPE_PREFIX[base]
        self.types = base
        self.columns: list[Column] = []
        self.help = False
        words = [w for w in options.split(",") if w] if options else []
        for word in words:  # pass 1: report types only
            self.types |= self._type_of(word)
        key_words = _key_words(keys)
        for raw, (_, word) in zip(_key_items(keys), key_words, strict=True):
            if raw and not word:
                self.console.error("dm_report: Missing sort field name")
            f = find_field(word, self.prefix)
            if f is None:
                self._fail(f"dm_report: Unrecognised field: {raw}")
            self.types |= f.otype
        for word in words:  # pass 2
            f = find_field(word, self.prefix)
            if f is not None:
                self.columns.append(Column(f, False))
                self.help = self.help or f.name in ("help", "?")
            else:
                wanted = all_types(word, self.prefix, self.types)
                self.columns += [Column(f, False) for f in FIELDS if f.otype & wanted]
        self.sort_keys: list[Column] = []
        for descending, word in key_words:
            f = find_field(word, self.prefix)
            column = self.column(f)
            if column.sort >= 0:
                console.error(f"dm_report: Ignoring duplicate sort field: {f.name}.")
                continue
            column.sort = len(self.sort_keys)
            column.desc = descending
            self.sort_keys.append(column)
        if self.help:
            console.raw_err("".join(f"  {line}\n" for line in [*field_help(True, False), " "]))
        self.selection = None
        if selection.lower() == "help" or selection == "?":
            from lvsim.lvm.report.select import selection_help

            lines = [*field_help(False, True), " ", *selection_help()]
            console.raw_err("".join(f"  {line}\n" for line in lines))
            self.help = True
        elif selection and selection.lower() != "all":
            from lvsim.lvm.report.select import parse_selection

            self.selection = parse_selection(self, selection)
        self.types &= ~SPECIAL

    def selected_columns(self) -> set[Column]:
        """Columns the selection compares (and the special "selected" column it fills in)."""
        used = {c for c in self.columns if c.field.name == "selected"}
        if self.selection is not None:
            used |= {self.columns[i] for i in self.selection.indexes()}
        return used

    def _type_of(self, word: str) -> int:
        f = find_field(word, self.prefix)
        if f is not None:
            return f.otype
        types = all_types(word, self.prefix, self.types)
        if not types:
            self._fail(f"Unrecognised field: {word}")
        return types

    def _fail(self, message: str) -> NoReturn:
        self.console.raw_err("".join(f"  {line}\n" for line in [*field_help(True, False), " "]))
        self.console.error(message)
        raise ReportError

    def column(self, field: Field) -> Column:
        """The field's column, added as a hidden one if it is not displayed."""
        for column in self.columns:
            if column.field is field:
                return column
        column = Column(field, True)
        self.columns.append(column)
        self.types |= field.otype
        return column


def _key_items(keys: str) -> list[str]:
    """-O split as _parse_keys does: runs of commas separate keys, a trailing one leaves an empty key."""
    items, i = [], 0
    while i < len(keys):
        while i < len(keys) and keys[i] == ",":
            i += 1
        j = keys.find(",", i)
        j = len(keys) if j < 0 else j
        items.append(keys[i:j])
        i = j
    return items


def _key_words(keys: str) -> list[tuple[bool, str]]:
    """(descending, field name) for each -O key."""
    return [(item[:1] == "-", item[1:] if item[:1] in ("+", "-") else item) for item in _key_items(keys)]


def merge_options(args: Args, default: str) -> str:
    """-o values in order: replace, +append, -remove, #compact (_get_report_options)."""
    if not args.has("options"):
        return default
    items = [w for w in default.split(",") if w]
    for value in args.opts["options"]:
        text = str(value)
        if not text:
            raise LvmError(f"Invalid options string: {text}")  # EINVALID_CMD_LINE, which reporter.c loses
        action = text[0] if text[0] in "+-#" else ""
        words = [w for w in (text[1:] if action else text).split(",") if w]
        if action == "+":
            items += words
        elif action == "-":
            for word in words:
                _remove_option(items, word)
        elif action == "":
            items = words
    return ",".join(items)


def _remove_option(items: list[str], word: str) -> None:
    def bare(name: str) -> str:
        for prefix in ("lv_", "vg_", "pv_", "seg_", "pvseg_"):
            if name.startswith(prefix):
                return name[len(prefix) :]
        return name

    for i in range(len(items) - 1, -1, -1):
        if items[i] == word or bare(items[i]) == bare(word):
            del items[i]
            return


# ---------------------------------------------------------------------------------------------
# Walking the objects


def final_type(types: int, command: str) -> int:
    """_get_final_report_type (after the LV/PV mixing check)."""
    if types & SEGS:
        types |= LVS
    if types & PVSEGS:
        types |= PVS
    if types & LV_TYPES and types & (PVS | LABEL) and command != "pvs":
        return -1
    if types & PVSEGS or (types & (PVS | LABEL) and types & LV_TYPES):
        return PVSEGS
    if types & PVS or (types & LABEL and types & VGS):
        return PVS
    if types & SEGS:
        return SEGS
    if types & LV_TYPES:
        return LVS
    return types


def _pv_tagged(state: State, device: str, tags: list[str]) -> bool:
    """A PV taken for @tag arguments: it or its VG carries one of the tags."""
    pv = state.pvs[device]
    vg = state.vgs.get(pv.vg) if pv.vg else None
    return bool(tags) and (matches(pv.tags, tags) or (vg is not None and matches(vg.tags, tags)))


class Walker:
    """process_each_vg / process_each_lv / process_each_pv over the simulator state."""

    def __init__(self, state: State, console: Console, env: Env, args: Args) -> None:
        self.state = state
        self.console = console
        self.env = env
        self.args = args
        self.rc = 0
        self._views: dict[str, VgView] = {}

    def view(self, name: str) -> VgView:
        view = self._views.get(name)
        if view is None:
            view = self._views[name] = VgView(self.state, self.state.vgs[name], not self.args.has("readonly"))
            if view.missing_count:  # LVM warns as it reads the VG
                from lvsim.lvm.missing_pvs import warn_missing

                warn_missing(self.console, self.state, view.vg)
        return view

    def _missing_vg(self, name: str) -> None:
        self.console.error(f'Volume group "{name}" not found')
        self.console.error(f"Cannot process volume group {name}")
        self.rc = ECMD_FAILED

    def vg_names(self) -> list[str]:
        args, tags, _ = split_args(self.console, self.args.pos)
        names: list[str] = []
        for arg in args:
            name = arg[5:] if arg.startswith("/dev/") else arg
            if name not in names:
                names.append(name)
        if not self.args.pos:
            names = system_vgs(self.state)
        found = []
        for name in names:
            if name in self.state.vgs:
                found.append(name)
            else:
                self._missing_vg(name)
        if tags:  # every VG is read, in the system's order: the named ones and those with a tag
            found = [n for n in system_vgs(self.state) if n in found or matches(self.state.vgs[n].tags, tags)]
        return found

    def vgs(self) -> list[Row]:
        return [Row(self.env, self.view(name)) for name in self.vg_names()]

    def lvs(self, segments: bool) -> list[Row]:
        from lvsim.core.names import split_lv_arg

        order: list[str] = []
        wanted: dict[str, list[str] | None] = {}
        args, tags, _ = split_args(self.console, self.args.pos)
        for arg in args:
            if arg.startswith("/") and not arg.startswith("/dev/"):
                self.console.error(f'"{arg}": Invalid path for Logical Volume.')
                self.rc = ECMD_FAILED
                continue
            vg, lv = split_lv_arg(arg)
            if not vg:
                vg, lv = lv, ""
            if vg not in wanted:
                order.append(vg)
                wanted[vg] = []
            names = wanted[vg]
            if not lv and "/" not in arg.removeprefix("/dev/"):
                wanted[vg] = None
            elif names is not None and lv not in names:
                names.append(lv)
        if not self.args.pos:
            order = system_vgs(self.state)
            wanted = dict.fromkeys(order)
        elif tags:  # every VG is read, in the system's order
            missing = [n for n in order if n not in self.state.vgs]
            order = system_vgs(self.state)
            for name in order:
                wanted.setdefault(name, [])
            order += missing
        show_all = self.args.has("all")
        rows: list[Row] = []
        for vg_name in order:
            vg = self.state.vgs.get(vg_name)
            if vg is None:
                self._missing_vg(vg_name)
                continue
            view = self.view(vg_name)
            names = wanted.get(vg_name)
            pools: list[LV] = []
            others: list[LV] = []
            every = names is None or (bool(tags) and matches(vg.tags, tags))
            for lv in vg.lvs.values():
                if every or (names is not None and lv.name not in names and lv_selected(vg, lv, tags)):
                    if not lv.visible and not show_all:
                        continue
                elif names is None or lv.name not in names:
                    continue
                if lv.kind == LVKind.THIN_POOL:
                    pools.insert(0, lv)
                else:
                    others.append(lv)
            # the metadata lists visible LVs first (lvm2's _print_lvs), and each command reads it anew
            ordered = pools + others
            for lv in [lv for lv in ordered if lv.visible] + [lv for lv in ordered if not lv.visible]:
                if segments:
                    rows += [Row(self.env, view, lv, seg) for seg in view.segments(lv)]
                else:
                    rows.append(Row(self.env, view, lv))
            for name in names or ():
                if name not in vg.lvs:
                    self.console.error(f'Failed to find logical volume "{vg_name}/{name}"')
                    self.rc = ECMD_FAILED
        return rows

    def pvs(self, segments: bool, by_vg: bool) -> list[Row]:
        """PV rows: pvs takes PV names (and -a), vgs with PV fields takes VG names."""
        state = self.state
        if by_vg:
            devices = [d for name in self.vg_names() for d in state.vgs[name].pvs]
        else:
            for name in system_vgs(state):  # pvs reads every VG, whatever PVs it names
                if missing_pvs(state, state.vgs[name]):
                    self.view(name)
            devices = system_pvs(state)
            args, tags, _ = split_args(self.console, self.args.pos)
            if self.args.pos:
                tagged = [d for d in devices if _pv_tagged(state, d, tags)]
                devices, missing = [], []
                for arg in args:
                    disk = state.disks.get(arg)
                    if arg in state.pvs:
                        devices.append(arg)
                    elif disk is None or disk.size < PV_MIN_SIZE:
                        reason = "device not found" if disk is None else "device is too small (pv_min_size)"
                        self.console.error(f"Cannot use {arg}: {reason}")
                        self.rc = ECMD_FAILED
                    else:
                        missing.append(arg)
                for arg in missing:
                    self.console.error(f'Failed to find physical volume "{arg}".')
                    self.rc = ECMD_FAILED
                if tags:
                    devices = [d for d in system_pvs(state) if d in devices or d in tagged]
        rows: list[Row] = []
        for device in devices:
            pv = state.pvs[device]
            view = self.view(pv.vg) if pv.vg and pv.vg in state.vgs else None
            dev = state.disks.get(device)
            if not segments:
                rows.append(Row(self.env, view, pv=pv, dev=dev))
                continue
            rows += self._pv_segments(view, pv, dev)
        if self.args.has("all") and not by_vg and not self.args.pos and not segments:
            for path, disk in state.disks.items():
                if path not in state.pvs and disk.size >= PV_MIN_SIZE:
                    rows.append(Row(self.env, None, dev=disk))
        return rows

    def _pv_segments(self, view: VgView | None, pv: Any, dev: Any) -> list[Row]:
        from lvsim.core.alloc import Area, pv_areas

        if view is None:
            return [Row(self.env, None, pv=pv, dev=dev, area=Area(pv.device, 0, 0))]
        rows = []
        for area in pv_areas(view.vg, pv.device, pv.pe_count) or [Area(pv.device, 0, 0)]:
            lv = view.vg.lvs.get(area.lv) if area.lv else None
            seg = None
            if lv is not None:
                seg = next((s for s in view.segments(lv) if s.le == area.le_start), None)
            rows.append(Row(self.env, view, lv, seg, pv=pv, dev=dev, area=area))
        return rows


# ---------------------------------------------------------------------------------------------
# The command


# With --readonly LVM asks the kernel nothing: recorded are lv_attr's X state and the empty
# percentages (Cpy%Sync is empty for every LV lvsim has, raid and mirrors alone fill it); what the
# other kernel fields show then was not recorded.
READONLY_RECORDED = frozenset({"lv_attr", "data_percent", "metadata_percent", "snap_percent", "copy_percent"})
KERNEL_FIELDS = frozenset(
    {"lv_active", "lv_active_locally", "lv_active_remotely", "lv_active_exclusively", "lv_permissions"}
)


def check_readonly_fields(command: str, definition: Definition) -> None:
    from lvsim.lvm.refusal import refuse
    from lvsim.lvm.report.fields import LVSINFO, LVSINFOSTATUS, LVSSTATUS

    for column in definition.columns:
        f = column.field
        kernel = f.otype in (LVSINFO, LVSSTATUS, LVSINFOSTATUS) or f.name in KERNEL_FIELDS
        if kernel and f.name not in READONLY_RECORDED:
            refuse(f"{command} --readonly with field {f.name}")


def _base_type(command: str, args: Args) -> int:
    if command == "lvs":
        return SEGS if args.has("segments") else LVS
    if command == "vgs":
        return VGS
    return PVSEGS if args.has("segments") else LABEL


def report_fields(command: str, args: Args) -> list[str]:
    """The fields a report command line shows, sorts or selects on (nothing when LVM rejects it)."""
    base = _base_type(command, args)
    cols = VERBOSE_COLS if args.has("verbose") else DEFAULT_COLS
    try:
        options = merge_options(args, cols[base])
        definition = Definition(
            Console(), base, options, args.str("sort", DEFAULT_SORT[base]), args.str("select")
        )
    except (LvmError, ReportError):
        return []
    return [c.field.name for c in definition.columns]


CONFIG_NAME = {LVS: "lvs", SEGS: "segs", VGS: "vgs", LABEL: "pvs", PVSEGS: "pvsegs"}


class Settings:
    """The report/* settings merged with the command line, as reporter.c's _config_report does:
    the config gives the defaults, --separator clears aligned, --aligned sets it, --nameprefixes
    clears aligned and sets prefixes, --noheadings, --unquoted, --rows, --unbuffered (without -O)."""

    def __init__(self, args: Args, base: int, config: Any = None) -> None:
        def flag(name: str, default: int) -> bool:
            return bool(config.int(f"report/{name}") if config is not None else default)

        def text(name: str, default: str) -> str:
            return config.str(f"report/{name}") if config is not None else default

        verbose = args.has("verbose")
        name = CONFIG_NAME[base]
        cols = (VERBOSE_COLS if verbose else DEFAULT_COLS)[base]
        self.cols = text(f"{name}_cols_verbose" if verbose else f"{name}_cols", cols)
        self.keys = args.str("sort", text(f"{name}_sort", DEFAULT_SORT[base]))
        self.aligned = flag("aligned", 1)
        self.buffered = flag("buffered", 1)
        self.headings = flag("headings", 1)
        self.separator = args.str("separator", text("separator", " "))
        self.prefixes = flag("prefixes", 0)
        self.quoted = flag("quoted", 1)
        self.rows = flag("columns_as_rows", 0) or args.has("rows")
        self.compact = flag("compact_output", 0)
        self.binary = flag("binary_values_as_numeric", 0) or args.has("binary")
        self.json = args.str("reportformat", text("output_format", "basic")) == "json"
        if args.has("separator"):
            self.aligned = False
        if args.has("aligned"):
            self.aligned = True
        if args.has("unbuffered") and not args.has("sort"):
            self.buffered = False
        if args.has("noheadings"):
            self.headings = False
        if args.has("nameprefixes"):
            self.aligned = False
            self.prefixes = True
        if args.has("unquoted"):
            self.quoted = False
        if self.json or self.rows:
            self.buffered = True


def run_report(
    command: str,
    state: State,
    console: Console,
    args: Args,
    time_format: str = "%Y-%m-%d %T %z",
    monitoring: int = 1,
    config: Any = None,
) -> int:
    """One lvs/vgs/pvs invocation; returns the exit code. `config` (lvsim.core.config.Config) gives
    the report/* settings."""
    units = args.str("units", "r")
    if args.has("units"):
        from lvsim.core.units import units_factor

        if units_factor(units) is None:
            raise LvmError(
                "Invalid units specification",
                f"Run `{command} --help' for more information.",
                rc=EINVALID_CMD_LINE,
            )
    base = _base_type(command, args)
    settings = Settings(args, base, config)
    json = settings.json
    try:
        options = merge_options(args, settings.cols)
    except LvmError:
        if json:  # the report group is still closed: just its outer braces
            console.raw_out("  {\n  }\n")
        raise
    keys = settings.keys
    selection = args.str("select")
    out: list[str] = list(layout.JSON_OPEN) if json else []
    try:
        rc = _report(
            command,
            state,
            console,
            args,
            base,
            options,
            keys,
            selection,
            units,
            out,
            settings,
            time_format,
            monitoring,
        )
    except ReportError:
        rc = ECMD_FAILED
    if json:
        out += layout.JSON_CLOSE
    if console.prefix != "  ":  # every line went through LVM's logger
        out = [console.prefix + line[2:] if line.startswith("  ") else line for line in out]
    console.raw_out("".join(out))
    return rc


def _report(
    command: str,
    state: State,
    console: Console,
    args: Args,
    base: int,
    options: str,
    keys: str,
    selection: str,
    units: str,
    out: list[str],
    settings: Settings,
    time_format: str,
    monitoring: int = 1,
) -> int:
    definition = Definition(console, base, options, keys, selection)
    check_fields(command, [c.field.name for c in definition.columns])
    if args.has("readonly"):
        check_readonly_fields(command, definition)
    rtype = final_type(definition.types, command)
    if rtype < 0:
        console.error(
            f'Can\'t report LV and PV fields at the same time in report type "{REPORT_PREFIX[base]}".'
        )
        return ECMD_FAILED
    env = Env(state, units, not args.has("nosuffix"), settings.binary, time_format)
    env.monitoring = monitoring
    walker = Walker(state, console, env, args)
    if rtype == VGS:
        rows = walker.vgs()
    elif rtype in (LVS, SEGS):
        rows = walker.lvs(rtype == SEGS)
    else:
        rows = walker.pvs(rtype == PVSEGS, by_vg=command != "pvs")
    if definition.help:
        rows = []
    columns = definition.columns
    if any(row.view is not None and row.view.missing_count for row in rows):
        from lvsim.lvm.missing_pvs import check_report_fields

        check_report_fields(command, [c.field.name for c in columns])
    visible = [c.field for c in columns if not c.hidden]
    # columns only displayed need just their text; sorted or selected columns need values too
    used = set(definition.sort_keys) | definition.selected_columns()
    getter = free_space_getter if rtype == PVSEGS else (lambda f: f.get)
    plan = [(c.field, getter(c.field), c in used, layout.text_of(c.field, env)) for c in columns]
    selection = definition.selection
    sel_index = next((i for i, c in enumerate(columns) if c.field.name == "selected"), -1)
    table: list[list[Any]] = []
    for row in rows:
        cells = [layout.cell(f, get(row), env) if need else text(get(row)) for f, get, need, text in plan]
        if selection is not None:
            ok = selection.matches(cells)
            if not ok and sel_index < 0:
                continue
            if sel_index >= 0:
                cells[sel_index] = layout.cell(columns[sel_index].field, int(ok), env)
        table.append(cells)
    buffered = settings.buffered
    if buffered and definition.sort_keys:
        for column in reversed(definition.sort_keys):
            i = columns.index(column)
            f = column.field
            table.sort(key=lambda cells, i=i, f=f: layout.sort_key(f, *cells[i]), reverse=column.desc)
    shown = [(i, c in used) for i, c in enumerate(columns) if not c.hidden]
    texts = [[cells[i][0] if need else cells[i] for i, need in shown] for cells in table]
    tail = ""  # report/compact_output: hidden columns after the last shown leave its separator
    if settings.compact and texts:
        keep = [j for j in range(len(visible)) if any(values[j] for values in texts)]
        if keep and keep[-1] != len(visible) - 1:
            tail = settings.separator
        visible = [visible[j] for j in keep]
        texts = [[values[j] for j in keep] for values in texts]
    if settings.json:
        out += layout.json_report(JSON_NAME[base], visible, texts)
        return walker.rc
    if not texts:
        return walker.rc
    headings = settings.headings
    separator = settings.separator
    prefixes = settings.prefixes
    aligned = settings.aligned
    quoted = settings.quoted
    if settings.rows:
        out += layout.row_lines(visible, texts, headings=headings, separator=separator)
    elif buffered:
        lines = layout.text_lines(
            visible,
            texts,
            headings=headings,
            aligned=aligned,
            separator=separator,
            prefixes=prefixes,
            quoted=quoted,
        )
        if tail and headings:
            lines[0] = lines[0][:-1] + tail + "\n"
        out += lines
    else:
        for n, values in enumerate(texts):
            lines = layout.text_lines(
                visible,
                [values],
                headings=headings,
                aligned=aligned,
                separator=separator,
                prefixes=prefixes,
                quoted=quoted,
            )
            out += lines if n == 0 or not headings else lines[1:]
    return walker.rc
