"""Existing hosts: `capture` reads a real host's LVM (root, read-only) into a bundle, `importer` builds
a simulated host from vgcfgbackup files or such a bundle, `replay` replays the bundle's pool and
snapshot usage.
"""
