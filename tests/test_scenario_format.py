"""The scenario format: schema, error messages with file and line, variables, bc arithmetic, translation."""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import jsonschema
import pytest

from lvsim.scenarios import ScenarioError, commands, load
from lvsim.scenarios.arith import ArithError, evaluate
from lvsim.scenarios.loader import schema, substitute
from lvsim.scenarios.runner import SCENARIO_DIR, find

SHIPPED = sorted(SCENARIO_DIR.glob("*.yaml"))


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def errors(path: Path, **overrides: str) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load(path, overrides)
    return info.value.messages


HEAD = """\
name: t
description: a test
vars:
  vg: vg0
disks:
  d1: 64M
steps:
"""


def test_schema_is_valid() -> None:
    jsonschema.Draft202012Validator.check_schema(schema())


def test_the_shipped_scenarios() -> None:
    names = {p.stem for p in SHIPPED}
    assert names == {
        "thin-provisioning",
        "pool-conversion",
        "xfs-snapshot-backup",
        "vm-disk-backup",
        "pool-exhaustion",
        "snapshot-overflow",
        "nightly-xfs-backup",
        "nightly-vm-disk-backup",
        "thin-pool-guard",
    }


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.stem)
def test_shipped_scenarios_load(path: Path) -> None:
    scenario = load(path)
    assert scenario.name == path.stem
    assert scenario.steps


def test_find_by_name_or_path(tmp_path: Path) -> None:
    assert find("thin-provisioning") == SCENARIO_DIR / "thin-provisioning.yaml"
    assert find(str(tmp_path / "x.yaml")) == tmp_path / "x.yaml"


@pytest.mark.parametrize(
    ("steps", "line", "fragment"),
    [
        ("  - run: pvcreate ${disk.d1}\n  - bogus: 1\n", 9, "needs one of: run, expect_failure"),
        ("  - run: lvs\n    exepct_rc: 3\n", 9, "unknown key 'exepct_rc'"),
        ("  - run: lvs\n    write: {device: /dev/x, size: 1M}\n", 8, "more than one of run, write"),
        ("  - write: {device: /dev/x}\n", 8, "'size' is a required property"),
        ("  - run: lvs\n  - mkfs: {device: /dev/x, type: btrfs}\n", 9, "'btrfs' is not one of"),
        ("  - run: lvs ${nope}\n", 8, "unknown variable ${nope}"),
        (
            "  - run: lvs\n    save: out\n  - run: lvs ${out} ${later}\n  - run: lvs\n    save: later\n",
            10,
            "${later}",
        ),
        ("  - mkfs: {device: /dev/x, type: xfs}\n    save: out\n", 9, "'save' does not apply to a mkfs step"),
        ("  - compute: {var: x, expr: '1+1'}\n    expect_rc: 0\n", 9, "'expect_rc' does not apply"),
        (
            "  - assert: {lv: vg0/lv, field: lv_size}\n",
            8,
            "assert on lv takes field+op+value [+units] | absent",
        ),
        ("  - assert: {file: /x, contains: a, equals: b}\n", 8, "assert on file takes"),
        ("  - expect_failure: lvs\n    expect_rc: 0\n", 9, "expect_failure with expect_rc 0"),
    ],
)
def test_errors_name_file_and_line(tmp_path: Path, steps: str, line: int, fragment: str) -> None:
    path = write(tmp_path, HEAD + steps)
    messages = errors(path)
    assert any(m.startswith(f"{path}:{line}: ") and fragment in m for m in messages), messages


def test_top_level_errors(tmp_path: Path) -> None:
    path = write(tmp_path, "name: Bad Name\nvars:\n  1x: 2\nsteps: []\n")
    messages = errors(path)
    assert any(m.startswith(f"{path}:1: ") and "'description' is a required property" in m for m in messages)
    assert any(m.startswith(f"{path}:1: name:") for m in messages)
    assert any(m.startswith(f"{path}:3: vars:") for m in messages)
    assert any(m.startswith(f"{path}:4: steps:") for m in messages)


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  - run: lvs\n    expect_stdout_contains: a: b\n")
    assert errors(path) == [f"{path}:9: invalid YAML: mapping values are not allowed here"]


def test_missing_file() -> None:
    assert errors(Path("/nonexistent/x.yaml")) == [
        "/nonexistent/x.yaml: cannot read: No such file or directory"
    ]


def test_unknown_override(tmp_path: Path) -> None:
    path = write(tmp_path, HEAD + "  - run: lvs\n")
    assert errors(path, vgg="x") == [f"{path}: --var vgg: no such variable (declared: vg)"]


def test_variables_computed_and_overridden(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """\
        name: t
        description: d
        vars:
          unit: 32
          name: vg_${unit}
          size: {expr: "${unit} * 20 / 3", scale: 2}
          price: 5$$
        disks:
          d1: ${unit}M
        steps:
          - run: lvcreate -L ${size}M -n "lv ${name}" ${name}
        """,
    )
    scenario = load(path)
    assert scenario.vars == {"unit": "32", "name": "vg_32", "size": "213.33", "price": "5$"}
    assert scenario.disks == {"d1": "32M"}
    scenario = load(path, {"unit": "64"})
    assert scenario.vars["size"] == "426.66"
    assert scenario.disks == {"d1": "64M"}
    argv = commands(scenario.steps[0], scenario.vars)[0].argv
    assert argv == ("lvcreate", "-L", "426.66M", "-n", "lv vg_64", "vg_64")
    assert load(path, {"size": "1"}).vars["size"] == "1"


def test_values_with_spaces_stay_one_argument() -> None:
    assert substitute("${a}-$${b}", {"a": "x y"}) == "x y-${b}"
    with pytest.raises(ScenarioError, match=r"unknown variable \$\{b\}"):
        substitute("${b}", {})


BC_CASES = [
    ("1024.00 * 20 / 100", 0),
    ("1024.00 * 20", 0),
    ("1/3", 2),
    ("-1/3", 3),
    ("0.5 * 1", 2),
    ("1.5 * 1.25", 0),
    ("1.55 * 1.25", 1),
    ("0.001 * 1000", 0),
    ("7 - 7.00", 0),
    ("(2 + 3) * -4", 0),
    ("10 / 4 * 4", 0),
    ("512.00 * 20 / 100", 2),
    ("- -3", 0),
]
BC_EXPECTED = [
    "204",
    "20480.00",
    ".33",
    "-.333",
    ".5",
    "1.87",
    "1.93",
    "1.000",
    "0",
    "-20",
    "8",
    "102.40",
    "3",
]


@pytest.mark.parametrize(("case", "expected"), list(zip(BC_CASES, BC_EXPECTED, strict=True)))
def test_arithmetic_is_bc(case: tuple[str, int], expected: str) -> None:
    assert evaluate(*case) == expected


@pytest.mark.skipif(shutil.which("bc") is None, reason="bc not installed")
@pytest.mark.parametrize("case", BC_CASES)
def test_arithmetic_matches_real_bc(case: tuple[str, int]) -> None:
    expr, scale = case
    bc = subprocess.run(["bc"], input=f"scale={scale}; {expr}\n", capture_output=True, text=True, check=True)
    assert evaluate(expr, scale) == bc.stdout.strip()


@pytest.mark.parametrize("expr", ["", "1 +", "2 ** 3", "__import__('os')", "(1", "1)", "1 / 0", "a"])
def test_arithmetic_rejects(expr: str) -> None:
    with pytest.raises(ArithError):
        evaluate(expr)


def test_translation_to_command_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEAD
        + """\
  - write: {device: /dev/vg0/lv, offset: 1M, size: 3M}
  - write: {device: /dev/vg0/lv, size: 1536b, pattern: "ab"}
  - write: {device: /dev/vg0/lv, size: 8M, fill: random}
  - mkfs: {device: /dev/vg0/lv, type: xfs, force: true, label: db}
  - mount: {device: /dev/vg0/s, mountpoint: /mnt/x, options: [ro, nouuid], verbose: true, type: auto}
  - umount: /mnt/x
  - write_file: {path: /mnt/x/f, content: "hello\\n"}
  - rsync: {from: /a/, to: /b/, delete: true}
  - assert: {file: /b/f, same_as: /a/f}
""",
    )
    scenario = load(path)
    cmds = [c for step in scenario.steps for c in commands(step, scenario.vars)]
    assert [c.cmdline for c in cmds] == [
        "dd if=/dev/zero of=/dev/vg0/lv bs=1M count=3 seek=1 oflag=direct status=none",
        "dd if=/dev/stdin of=/dev/vg0/lv bs=512 count=3 iflag=fullblock oflag=direct status=none",
        "dd if=/dev/urandom of=/dev/vg0/lv bs=4M count=2 oflag=direct status=none",
        "mkfs.xfs -q -f -L db /dev/vg0/lv",
        "mount -v -t auto -o ro,nouuid /dev/vg0/s /mnt/x",
        "umount /mnt/x",
        "cp /dev/stdin /mnt/x/f",
        "rsync -aq --delete /a/ /b/",
        "diff -r /b/f /a/f",
    ]
    assert cmds[1].stdin == "ab" * 768
    assert [c.host for c in cmds] == [False] * 6 + [True, False, True]


@pytest.mark.parametrize(
    ("size", "message"), [("1000b", "invalid size '1000b'"), ("0", "write offset and size must be non-zero")]
)
def test_write_sizes_must_be_sectors(tmp_path: Path, size: str, message: str) -> None:
    path = write(tmp_path, HEAD + f"  - write: {{device: /dev/x, size: {size}}}\n")
    scenario = load(path)
    with pytest.raises(ScenarioError, match=rf"s\.yaml:8: {message}"):
        commands(scenario.steps[0], scenario.vars)


# -- a scenario file is data: hostile files fail fast with one clear, short error ---------

BOMB = 'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]\n' + "".join(
    f"{name}: &{name} [{', '.join([f'*{prev}'] * 9)}]\n"
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
)


def test_alias_bomb_fails_fast(tmp_path: Path) -> None:
    import time

    path = write(tmp_path, BOMB)
    assert path.stat().st_size < 450
    start = time.monotonic()
    assert errors(path) == [f"{path}:6: more than 100000 YAML nodes once aliases are expanded"]
    assert time.monotonic() - start < 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("a: &a [*a]\n", "{path}:1: a recursive alias"),
        ("[" * 3000 + "]" * 3000 + "\n", "{path}: invalid YAML: nested too deeply"),
        ("[" * 70 + "]" * 70 + "\n", "{path}:1: nested more than 64 levels deep"),
        (
            "name: x\n\tdescription: y\n",
            "{path}:2: invalid YAML: found character '\\t' that cannot start any token",
        ),
        (
            "a: !!python/object:os.system x\n",
            "{path}:1: invalid YAML: could not determine a constructor for the tag 'tag:yaml.org,2002:python/object:os.system'",
        ),
        (
            "name: x\ndescription: y\x07\n",
            "{path}:2: invalid YAML: unacceptable character #x0007: special characters are not allowed",
        ),
        (
            "a: " + "9" * 5000 + "\n",
            "{path}: invalid YAML: Exceeds the limit (4300 digits) for integer string conversion: value has 5000 digits; use sys.set_int_max_str_digits() to increase the limit",
        ),
    ],
)
def test_hostile_yaml_is_one_error(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert errors(path) == [message.format(path=path)]


def test_non_utf8_file(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_bytes(b"name: t\ndescription: \xff\xfe\n")
    assert errors(path) == [f"{path}:2: not UTF-8 text (byte 0xff)"]


def test_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text("# " + "x" * (2 << 20) + "\n")
    assert errors(path) == [f"{path}: too large for a scenario (more than 1048576 bytes)"]


def test_messages_are_truncated_and_bounded(tmp_path: Path) -> None:
    long = "x" * 10_000
    steps = "".join(f"  - {{bogus{i}: {long}}}\n" for i in range(50))
    msgs = errors(write(tmp_path, HEAD + steps))
    assert len(msgs) == 21 and msgs[-1] == "... and 80 more"  # two messages per bad step
    assert all(len(m) <= 400 for m in msgs)


def test_cli_prints_hostile_file_errors_without_traceback(tmp_path: Path) -> None:
    import sys

    path = write(tmp_path, BOMB)
    for command in ("plan", "render", "run"):
        out = subprocess.run(
            [sys.executable, "-m", "lvsim.cli", command, str(path)],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 2, command
        assert out.stderr == f"lvsim: {path}:6: more than 100000 YAML nodes once aliases are expanded\n"
