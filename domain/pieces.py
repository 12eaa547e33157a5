"""Cutting a long list into near-equal pieces: a long request into parts, a long chart into pages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")


def near_equal_pieces(items: Sequence[T], most: int) -> list[Sequence[T]]:
    """`items` in order, in the fewest near-equal pieces of at most `most` each (one, empty, for none).

    Near-equal rather than full pieces and a remainder: 41 items in parts of 40 read as 21 and 20,
    not as 40 and a lone 1.
    """
    pieces = max(1, -(-len(items) // most))
    size = -(-len(items) // pieces)
    return [items[n * size : (n + 1) * size] for n in range(pieces)]
