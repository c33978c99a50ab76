"""lvs, vgs and pvs: the reporting commands (the engine is `lvsim.lvm.report.engine`)."""

from __future__ import annotations

from lvsim.core.context import Ctx, command
from lvsim.lvm.parser import CommandSpec

# OO_REPORT in LVM's command-lines.in, plus the options each command adds
_REPORT_OPTIONS: dict[str, str | None] = {
    "aligned": None,
    "all": "a",
    "binary": None,
    "configreport": None,
    "foreign": None,
    "ignorelockingfailure": None,
    "logonly": None,
    "nameprefixes": None,
    "noheadings": None,
    "nosuffix": None,
    "options": "o",
    "readonly": None,
    "reportformat": None,
    "rows": None,
    "select": "S",
    "separator": None,
    "shared": None,
    "sort": "O",
    "unbuffered": None,
    "units": None,
    "unquoted": None,
    # IO: options accepted for compatibility
    "partial": "P",
    "ignoreskippedcluster": None,
    "trustcache": None,
    # OO_ALL entries the common table lacks
    "commandprofile": None,
    "driverloaded": None,
    "nolocking": None,
    "lockopt": None,
    "longhelp": None,
    "profile": None,
    "devicesfile": None,
    "devices": None,
    "nohints": None,
    "journal": None,
}
_VALUE_TYPES = {
    "units": "string",
    "configreport": "string",
    "commandprofile": "string",
    "driverloaded": "yes_no",
    "lockopt": "string",
    "profile": "string",
    "devicesfile": "string",
    "devices": "string",
    "journal": "string",
}

LVS = CommandSpec("lvs", {**_REPORT_OPTIONS, "history": "H", "segments": None}, _VALUE_TYPES)
VGS = CommandSpec("vgs", dict(_REPORT_OPTIONS), _VALUE_TYPES)
PVS = CommandSpec("pvs", {**_REPORT_OPTIONS, "segments": None}, _VALUE_TYPES)


def _run(ctx: Ctx) -> int:
    from lvsim.lvm.report.engine import run_report

    return run_report(ctx.command, ctx.state, ctx.console, ctx.args)


command(LVS)(_run)
command(VGS)(_run)
command(PVS)(_run)
