"""The stock-take's figures: every number the report, the e-mail, the artifact and the CLI show.

Each figure is defined once, here, and computed in one place (`domain.stocktake.tally_figures`),
from the assembled stock-take or from a database's grouped counts of the same tallies
(`workflows.queries.figures`); every format and every sentence reads it from `StocktakeFigures`
instead of counting for itself, so two places can never disagree. The definitions (the docstrings
of the fields) are the ones the method annex states in words.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields

from domain.language import N_


def percent(part: int, whole: int) -> int:
    """Whole percent, rounded half up; 0 of 0 is 0%."""
    return (part * 200 + whole) // (2 * whole) if whole else 0


@dataclass(frozen=True)
class StocktakeFigures:
    """The headline figures of one stock-take, each defined in its field's docstring."""

    items: int
    """Recommendations in the cycle (each counted once, whatever its number of owners)."""
    reported: int
    """Recommendations whose lead agency answered (submitted to the secretariat; drafts do not count).
    An item with no lead counts as reported when any owner answered. Contributors' parts are apart."""
    contributor_parts: int
    """Contributing agencies' parts of the recommendations (one per recommendation and contributor)."""
    contributor_parts_answered: int
    """Contributors' parts that were answered."""
    status_counts: Mapping[str, int]
    """Reported recommendations by rolled-up status, plus `no_answer` for the unreported: sums to `items`."""
    compared: bool
    """Whether there is a previous cycle to compare with (the change figures are 0 when not)."""
    changed: int
    """Reported now and before, with a different status (includes newly completed and newly blocked)."""
    newly_completed: int
    """Changed recommendations now Completed."""
    newly_blocked: int
    """Changed recommendations now Blocked."""
    unchanged: int
    """Reported now and before, with the same status."""
    first_report: int
    """Reported now, not before."""
    not_reported: int
    """Not reported now (the lead did not answer): `items - reported`, in a first cycle too. With the
    three change categories above it sums to `items` when compared."""
    agencies: int
    """Agencies asked for at least one part."""
    agencies_answered: int
    """Agencies that answered at least one of their parts."""
    agencies_answered_in_full: int
    """Agencies that answered every one of their parts."""
    overdue_requests: int
    """Agencies' requests still incomplete after the reply deadline (one per agency)."""
    overdue_milestones: int
    """Milestones due before the report date and neither done nor cancelled."""
    items_with_overdue_milestones: int
    """Recommendations with at least one overdue milestone."""
    newly_overdue_items: int
    """Recommendations with an overdue milestone now that had none at the previous cycle's deadline."""
    disagreements: int
    """Answers whose status the secretariat assessed differently from the agency's own."""
    items_with_disagreement: int
    """Recommendations with at least one such answer."""

    confirmed: int = 0
    """Reported recommendations whose lead chose *No change since last time*: a confirmation of last
    cycle's status, with no new text (not news)."""

    with_news: int = 0
    """Reported recommendations whose lead wrote what changed (not a confirmation): `confirmed` and
    `with_news` sum to `reported`."""

    closed: int = 0
    """Recommendations the secretariat has closed (implemented, closed or overtaken): no longer asked."""

    bodies_answered_by_secretariat: int = 0
    """Coordination bodies (the CEB, the HLCP), not among `agencies`, on whose items the secretariat
    reported (one item or more), as `agencies_answered` counts agencies."""

    @property
    def reported_rate(self) -> int:
        """`reported` as a whole percent of `items`."""
        return percent(self.reported, self.items)

    @property
    def change_counts(self) -> dict[str, int]:
        """The change categories, which partition the items (in the order the report lists them)."""
        return {
            "changed": self.changed,
            "unchanged": self.unchanged,
            "first_report": self.first_report,
            "not_reported": self.not_reported,
        }

    def as_dict(self) -> dict[str, object]:
        """Every figure by name (for the e-mail, the Prefect artifact and the CLI)."""
        values: dict[str, object] = {f.name: getattr(self, f.name) for f in fields(self)}
        values["status_counts"] = dict(self.status_counts)
        values["reported_rate"] = self.reported_rate
        return values


# The figures a short summary shows (the e-mail, the Prefect artifact, `followup cycle show`).
HEADLINE: tuple[str, ...] = (
    "items",
    "reported",
    "changed",
    "confirmed",
    "newly_completed",
    "newly_blocked",
    "not_reported",
    "overdue_requests",
    "overdue_milestones",
    "disagreements",
)


# Figures that compare with the previous cycle: 0 when there is none, so a summary leaves them out
# (a first cycle's "Confirmed with no change: 0" says nothing: there was no last time to confirm;
# nor does "Reported with news", its complement, which is then every report).
CHANGE_FIGURES = frozenset(
    {
        "changed",
        "newly_completed",
        "newly_blocked",
        "unchanged",
        "first_report",
        "confirmed",
        "with_news",
        "newly_overdue_items",
    }
)


def headline(figures: StocktakeFigures) -> list[tuple[str, object]]:
    """The headline figures as (label, value) pairs, in HEADLINE order; change figures only when compared."""
    return _shown(figures, HEADLINE)


def every_figure(figures: StocktakeFigures) -> list[tuple[str, object]]:
    """Every figure as (label, value), for a table of them all; change figures only when compared."""
    return _shown(figures, _LABELS)


def _shown(figures: StocktakeFigures, names: Iterable[str]) -> list[tuple[str, object]]:
    values = figures.as_dict()
    return [(_LABELS[name], values[name]) for name in names if figures.compared or name not in CHANGE_FIGURES]


_LABELS: Mapping[str, str] = {
    "items": N_("Recommendations"),
    "reported": N_("Reported on by their lead"),
    "reported_rate": N_("Reported on by their lead (%)"),
    "contributor_parts": N_("Contributors' parts"),
    "contributor_parts_answered": N_("Contributors' parts answered"),
    "changed": N_("Changed status"),
    "newly_completed": N_("Newly completed"),
    "newly_blocked": N_("Newly blocked"),
    "unchanged": N_("Unchanged"),
    "first_report": N_("Reported for the first time"),
    "not_reported": N_("Not reported on by their lead"),
    "agencies": N_("Agencies asked"),
    "agencies_answered": N_("Agencies that answered"),
    "agencies_answered_in_full": N_("Agencies that answered in full"),
    "overdue_requests": N_("Overdue requests"),
    "overdue_milestones": N_("Overdue milestones"),
    "items_with_overdue_milestones": N_("Recommendations with overdue milestones"),
    "newly_overdue_items": N_("Recommendations newly overdue"),
    "disagreements": N_("Answers assessed differently"),
    "items_with_disagreement": N_("Recommendations with a disagreement"),
    "confirmed": N_("Confirmed with no change"),
    "with_news": N_("Reported with news"),
    "closed": N_("Closed by the secretariat"),
    "bodies_answered_by_secretariat": N_("Bodies answered by the secretariat"),
}
