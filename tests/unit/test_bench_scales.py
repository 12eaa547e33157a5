"""`python -m benchmarks --scale` reads sizes as people write them and says which one it cannot read."""

from __future__ import annotations

import argparse

import pytest

from benchmarks.__main__ import growth, pages_in_turns, parse_scales


def test_scales_are_read_in_thousands_or_plain_and_measured_smallest_first() -> None:
    assert parse_scales("100k, 1k,10k") == [1_000, 10_000, 100_000]
    assert parse_scales("500,2k") == [500, 2_000]


def test_a_scale_that_is_not_a_count_is_named_in_the_error() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="'ten'"):
        parse_scales("1k,ten")


def _run(items: int, value: float, load: float) -> dict[str, object]:
    figure = {"key": "launch_s", "label": f"Launch {items}", "unit": "s", "value": value, "baseline": 1.0}
    return {"figures": [{**figure, "ratio": value}], "load_average": {"after": [load, 0.0, 0.0]}}


def test_growth_from_10k_to_100k_is_judged_against_twelve_times_and_keeps_the_cost_per_item() -> None:
    rows = growth(
        {
            1_000: {"sqlite": _run(1_000, 1.0, 2.0)},
            10_000: {"sqlite": _run(10_000, 2.0, 2.0)},
            100_000: {"sqlite": _run(100_000, 30.0, 3.0)},
        }
    )
    (row,) = rows
    assert row["label"] == "Launch 100000"
    assert row["growth"] == {"from": 10_000, "to": 100_000, "ratio": 15.0, "limit": 12.0, "passed": False}
    assert row["at"]["100000"]["per_item"] == 30.0 / 100_000
    assert row["at"]["100000"]["load_average_1min"] == 3.0


def _page_figure(key: str, p95_ms: float) -> dict[str, object]:
    return {"key": key, "label": key, "unit": "ms", "value": p95_ms, "baseline": None, "ratio": None}


def _page_run(p95_ms: float, *, in_turns: bool = False) -> dict[str, object]:
    figures = [_page_figure("portal_p95_ms.5", p95_ms)]
    if in_turns:
        figures.append(_page_figure("portal_p95_ms.5.in_turns", p95_ms))
    return {"figures": figures, "load_average": {"after": [1.0, 0.0, 0.0]}}


def _page_growth(runs: dict[int, dict[str, object]], key: str = "portal_p95_ms.5") -> dict[str, object]:
    rows = growth({items: {"sqlite": run} for items, run in runs.items()})
    (row,) = [row for row in rows if row["key"] == key]
    return row["growth"]


def test_the_pages_growth_from_10k_is_judged_within_a_fifth_unless_measured_in_turns() -> None:
    apart = _page_growth({10_000: _page_run(50.0), 100_000: _page_run(70.0)})
    assert (apart["limit"], apart["passed"]) == (1.2, False)
    in_turns = _page_growth({10_000: _page_run(50.0), 100_000: _page_run(70.0, in_turns=True)})
    assert in_turns["ratio"] == pytest.approx(1.4)
    assert (in_turns["limit"], in_turns["passed"]) == (None, None)


def test_the_pages_growth_from_1k_is_reported_not_judged() -> None:
    small = _page_growth({1_000: _page_run(20.0), 10_000: _page_run(50.0)})
    assert (small["ratio"], small["limit"], small["passed"]) == (2.5, None, None)


def test_figures_taken_in_turns_are_not_compared_again_across_runs() -> None:
    runs = {10_000: _page_run(50.0, in_turns=True), 100_000: _page_run(90.0, in_turns=True)}
    across = _page_growth(runs, key="portal_p95_ms.5.in_turns")
    assert (across["limit"], across["passed"]) == (None, None)


def test_a_size_loads_the_pages_of_a_tenth_its_size_in_turns_from_10k_up() -> None:
    assert pages_in_turns(10_000, 100_000)
    assert not pages_in_turns(1_000, 10_000)  # parts of a handful of items: not a page's worth
    assert not pages_in_turns(10_000, 50_000)
