"""The simulated machine: state model, units, extents, thin/COW mappings, content, data path, devices.

Everything here takes a `State` (never a command context); LVM's commands and the other tools build on it.
"""
