"""Scenarios: YAML scripts of LVM work (disks, variables, steps) run on any backend.

`load()` reads and validates one (lvsim/schema/scenario.schema.json); `Runner` runs it and prints a
transcript; `steps.commands()` gives the command lines each step stands for (what the renderer
writes into bash).  The format is described in scenarios/README.md.
"""

from lvsim.scenarios.loader import Scenario, ScenarioError, Step, load
from lvsim.scenarios.runner import Runner, find
from lvsim.scenarios.steps import Command, commands

__all__ = ["Command", "Runner", "Scenario", "ScenarioError", "Step", "commands", "find", "load"]
