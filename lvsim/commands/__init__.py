"""Command emulators, one module per family; each registers with lvsim.emulator.command."""
