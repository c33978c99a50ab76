"""--readahead values (lvcreate, lvchange): auto, none, or sectors rounded down to whole pages."""

from __future__ import annotations

from lvsim.core.console import Console

PAGE_SECTORS = 8  # read-ahead is a multiple of the 4 KiB page


def sectors(console: Console, value: object) -> int | str:
    """The read-ahead an option value asks for ("auto" or sectors; none is 0), with LVM's warning
    when it rounds a value to a multiple of the page size."""
    if value == "auto":
        return "auto"
    if value == "none":
        return 0
    wanted = int(getattr(value, "value", 0))
    if wanted % PAGE_SECTORS:
        wanted = max(PAGE_SECTORS, wanted // PAGE_SECTORS * PAGE_SECTORS)
        console.warn(
            f"Overriding readahead to {wanted} sectors, a multiple of {PAGE_SECTORS // 2}K page size."
        )
    return wanted
