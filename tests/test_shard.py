"""`pytest --shard I/N`: the split of the real suite over N VMs (tests/sharding.py)."""

from __future__ import annotations

import json

import pytest
from conftest import DURATIONS
from sharding import ShardError, assign, parse_shard


def test_every_group_lands_in_exactly_one_shard() -> None:
    groups = {f"g{i}": [f"t{i}a", f"t{i}b"] for i in range(7)}
    shards = assign(groups, {}, 3)
    assert sorted(name for shard in shards for name in shard) == sorted(groups)
    assert all(shards)


def test_costliest_first_onto_the_least_loaded_shard() -> None:
    known = {"a": 10.0, "b": 6.0, "c": 5.0, "d": 4.0, "e": 1.0}
    shards = assign({t: [t] for t in known}, known, 2)
    assert shards == [["a", "d"], ["b", "c", "e"]]


def test_a_test_without_a_duration_counts_as_the_median_one() -> None:
    known = {"a": 1.0, "b": 2.0, "c": 9.0}
    shards = assign({"a": ["a"], "b": ["b"], "c": ["c"], "new": ["new"]}, known, 2)
    assert shards == [["c"], ["b", "new", "a"]]


def test_a_group_stays_together_and_costs_its_tests() -> None:
    known = {"x1": 3.0, "x2": 3.0, "y": 5.0}
    shards = assign({"x": ["x1", "x2"], "y": ["y"]}, known, 2)
    assert shards == [["x"], ["y"]]


def test_recorded_durations_give_balanced_shards() -> None:
    known = json.loads(DURATIONS.read_text())
    shards = assign({t: [t] for t in known}, known, 2)
    loads = [sum(known[t] for t in shard) for shard in shards]
    assert max(loads) - min(loads) <= max(known.values())


@pytest.mark.parametrize("text", ["2/2", "-1/2", "x", "1/0", "1/2/3"])
def test_a_bad_shard_is_refused(text: str) -> None:
    with pytest.raises(ShardError, match=rf"--shard {text}: "):
        parse_shard(text)


def test_a_good_shard_is_parsed() -> None:
    assert parse_shard("1/4") == (1, 4)
