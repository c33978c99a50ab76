"""Where a command's output goes: LVM's split of stdout and stderr, and its y/n prompts."""

from __future__ import annotations

import io
from typing import TextIO


class Console:
    """Collects stdout and stderr text and answers prompts from stdin (a string or a stream).

    Like LVM, stdin is read only when a prompt needs an answer.
    """

    def __init__(self, stdin: str | TextIO = "") -> None:
        self._out: list[str] = []
        self._err: list[str] = []
        self._stdin = io.StringIO(stdin) if isinstance(stdin, str) else stdin

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def print(self, msg: str) -> None:
        """log_print: an informational line on stdout, indented by two spaces."""
        self._out.append(f"  {msg}\n")

    def raw_out(self, text: str) -> None:
        self._out.append(text)

    def raw_err(self, text: str) -> None:
        self._err.append(text)

    def error(self, msg: str) -> None:
        """log_error: a line on stderr, indented by two spaces."""
        self._err.append(f"  {msg}\n")

    def warn(self, msg: str) -> None:
        self._err.append(f"  WARNING: {msg}\n")

    def read_all(self) -> str:
        """The rest of stdin (for tools that read a script, like sfdisk)."""
        return self._stdin.read()

    def prompt(self, question: str) -> bool:
        """yes_no_prompt: the question on stderr without newline; the answer is read from stdin.

        At end of input LVM prints `[n]` and a newline and takes the answer as no.
        """
        self._err.append(question)
        line = self._stdin.readline()
        if not line:
            self._err.append("[n]\n")
            return False
        return line.strip().lower().startswith("y")
