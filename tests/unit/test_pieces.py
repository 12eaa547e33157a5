"""Cutting a long list into near-equal pieces."""

from __future__ import annotations

from domain.pieces import near_equal_pieces


def test_a_list_just_over_the_size_is_cut_into_near_equal_pieces_not_a_lone_remainder() -> None:
    assert [len(piece) for piece in near_equal_pieces(range(41), 40)] == [21, 20]
    assert [len(piece) for piece in near_equal_pieces(range(100), 36)] == [34, 34, 32]


def test_the_pieces_keep_every_item_once_in_order() -> None:
    items = list(range(95))
    assert [x for piece in near_equal_pieces(items, 10) for x in piece] == items


def test_a_short_list_is_one_piece_and_an_empty_one_one_empty_piece() -> None:
    assert near_equal_pieces([1, 2, 3], 40) == [[1, 2, 3]]
    assert near_equal_pieces([], 40) == [[]]
