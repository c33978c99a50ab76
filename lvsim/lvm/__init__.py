"""LVM's commands: the option parser, one module per command or command family, the reports."""
