"""The command table: one declarative description of LVM 2.03.16's command surface, and of what
lvsim emulates of it.

LVM's facts, written by `vm/lvm2_table.py` from lvm2's own sources (do not edit them by hand):

- `lvm2_commands`: every command, whether lvm2 installs it as a program, the common options;
- `syntax/<command>_syntax`: each command's definitions (required and optional options and
  positionals, descriptions), imported only when that command runs;
- `lvm2_options`: every option's long and short name and value type, and the value types;
- `lvm2_fields`: every report field.

lvsim's own part: `emulated` (what lvsim emulates; the rest is refused), `records` (the record
types), `lookup` (reading the table), `matching` (which definition a command line means, and LVM's
syntax errors), `helptext` (`--help`, `lvm help`, `--version`), `coverage` (COVERAGE.md).
"""
