"""Numbers that come from outside (query strings, form fields, spreadsheet cells).

`str.isdigit()` accepts '²' and other Unicode digits that `int()` then refuses, and `int()` of thousands
of digits is slow or refused: outside numbers are ASCII decimal with a length cap, or nothing.
"""

from __future__ import annotations

ASCII_DIGITS = frozenset("0123456789")


def ascii_number(text: str, *, max_digits: int) -> int | None:
    """The whole number `text` spells in ASCII digits (at most `max_digits` of them), else None."""
    if not 0 < len(text) <= max_digits or not set(text) <= ASCII_DIGITS:
        return None
    return int(text)
