"""lvsim: an in-memory simulator of LVM2 2.03 thin provisioning and snapshots."""

__version__ = "0.1.0"
