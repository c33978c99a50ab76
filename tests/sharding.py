"""How `pytest --shard I/N` splits the real suite over N VMs: pure functions that conftest.py applies."""

from __future__ import annotations

import re


class ShardError(ValueError):
    """A --shard value that is not I/N with 0 <= I < N."""


def parse_shard(text: str) -> tuple[int, int]:
    """ "I/N" -> (I, N)."""
    match = re.fullmatch(r"(\d+)/(\d+)", text)
    if match is None:
        raise ShardError(f"--shard {text}: expected I/N, e.g. 0/2")
    index, count = int(match[1]), int(match[2])
    if not 0 <= index < count:
        raise ShardError(f"--shard {text}: I must be in 0..N-1")
    return index, count


def assign(groups: dict[str, list[str]], known: dict[str, float], count: int) -> list[list[str]]:
    """The group names each of `count` shards runs: the costliest group first onto the least loaded
    shard. A group costs the recorded durations of its tests (`known`, by node id); a test without one
    counts as the median recorded test."""
    typical = sorted(known.values())[len(known) // 2] if known else 1.0
    cost = {name: sum(known.get(test, typical) for test in tests) for name, tests in groups.items()}
    loads = [0.0] * count
    shards: list[list[str]] = [[] for _ in range(count)]
    for name in sorted(groups, key=lambda n: (-cost[n], n)):
        target = loads.index(min(loads))
        loads[target] += cost[name]
        shards[target].append(name)
    return shards
