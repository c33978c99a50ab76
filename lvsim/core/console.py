"""Where a command's output goes: LVM's split of stdout and stderr, and its y/n prompts."""

from __future__ import annotations

import io
from typing import BinaryIO, TextIO

MAX_ANSWER = 4096  # bytes of a prompt's answer line that are read


class Console:
    """Collects stdout and stderr text and answers prompts from stdin (a string, a text stream or a
    byte stream: the shims hand over the raw bytes, decoded here as argv is, with surrogateescape).

    Like LVM, stdin is read only when a prompt needs an answer.
    """

    def __init__(self, stdin: str | TextIO | BinaryIO = "") -> None:
        self._out: list[str] = []
        self._err: list[str] = []
        self._given = stdin  # made a stream only when a command reads it (most never do)
        self._stream: TextIO | BinaryIO | None = None
        self.silent = False  # LVM's silent mode (-qq): see print and prompt
        self.prefix = "  "  # what LVM's logger puts before each line (log/prefix)

    def _stdin(self) -> TextIO | BinaryIO:
        if self._stream is None:
            given = self._given
            self._stream = (
                io.BytesIO(given.encode("utf-8", "surrogateescape")) if isinstance(given, str) else given
            )
        return self._stream

    @property
    def stdout(self) -> str:
        return "".join(self._out)

    @property
    def stderr(self) -> str:
        return "".join(self._err)

    def print(self, msg: str) -> None:
        """log_print: an informational line on stdout after the log prefix (none in silent mode: lvsim
        emulates that mode only for lvremove, whose messages are all of this kind)."""
        if not self.silent:
            self._out.append(f"{self.prefix}{msg}\n")

    def raw_out(self, text: str) -> None:
        self._out.append(text)

    def raw_err(self, text: str) -> None:
        self._err.append(text)

    def error(self, msg: str) -> None:
        """log_error: a line on stderr, after the log prefix."""
        self._err.append(f"{self.prefix}{msg}\n")

    def warn(self, msg: str) -> None:
        self._err.append(f"{self.prefix}WARNING: {msg}\n")

    def read_all(self) -> str:
        """The rest of stdin (for tools that read a script, like sfdisk)."""
        return _text(self._stdin().read())

    def read_bytes(self, limit: int) -> bytes:
        """At most `limit` bytes of stdin, as bytes (dd reading a pipe stops where its output ends)."""
        chunks: list[bytes] = []
        left = limit
        while left > 0:
            chunk = self._stdin().read(min(left, 1 << 20))
            if not chunk:
                break
            raw = chunk.encode("utf-8", "surrogateescape") if isinstance(chunk, str) else bytes(chunk)
            chunks.append(raw)
            left -= len(raw)
        return b"".join(chunks)

    def prompt(self, question: str) -> bool:
        """yes_no_prompt: the question on stderr without newline; the answer is read from stdin.

        At end of input LVM prints `[n]` and a newline and takes the answer as no; in silent mode it
        does so without reading.
        """
        self._err.append(question)
        line = "" if self.silent else _text(self._stdin().readline(MAX_ANSWER))
        if not line:
            self._err.append("[n]\n")
            return False
        return line.strip().lower().startswith("y")


def _text(data: str | bytes) -> str:
    return data.decode("utf-8", "surrogateescape") if isinstance(data, bytes) else data
