"""Backends: one interface, two implementations (the simulator and real LVM on loop devices)."""
