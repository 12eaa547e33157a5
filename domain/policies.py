"""Pure rules of the follow-up, with `today` always passed in (never read from a clock here)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from domain.dates import utc_day
from domain.model import FINISHED_STATUSES, OwnerRole, ReportedStatus

DEFAULT_REMINDER_DAYS: tuple[int, ...] = (14, 7, 2)
DEFAULT_ESCALATION_DAYS = 3


@dataclass(frozen=True)
class FollowUpSchedule:
    """When to remind (days before the deadline) and escalate (days after it)."""

    reminder_days: tuple[int, ...] = DEFAULT_REMINDER_DAYS
    escalation_days: int = DEFAULT_ESCALATION_DAYS

    def reminder_due(
        self, *, deadline: date, sent_on: date, today: date, already_sent: Iterable[int]
    ) -> int | None:
        """The reminder point (days before deadline) to send today, or None.

        Only points that fall after the request went out count, and only the latest point
        reached is sent, so a follow-up that missed a day catches up with one reminder, not several.
        """
        if today > deadline:
            return None
        days_left = (deadline - today).days
        reached = [p for p in self.reminder_days if days_left <= p and deadline - timedelta(days=p) > sent_on]
        if not reached:
            return None
        point = min(reached)
        return None if point in set(already_sent) else point

    def escalation_due(self, *, deadline: date, today: date) -> bool:
        """Whether an unanswered request is past the escalation date."""
        return today >= deadline + timedelta(days=self.escalation_days)


def counted_on(closed_at: datetime | None, today: date) -> date:
    """The day a cycle's figures are counted on: `today` while it is open; once closed, the day it
    closed (in UTC), so that its report, the CLI, the API and the public record state the same
    figures whenever they are asked (overdue milestones and requests depend on the day)."""
    return utc_day(closed_at) or today


def request_overdue(*, deadline: date, today: date, answered: bool) -> bool:
    """A request is overdue when unanswered after its deadline (on the deadline day it is not yet)."""
    return not answered and today > deadline


def roll_up(parts: Sequence[tuple[OwnerRole | str, ReportedStatus | str | None]]) -> ReportedStatus | None:
    """The recommendation's status from its owners' parts.

    Rule: `completed` only when every part is completed or no longer applicable (and at least one
    is completed); `no_longer_applicable` when all parts are; otherwise the lead's status, or
    the first answered part's when the lead has not answered.
    """
    return PartsTally.of(parts).rolled_up


@dataclass(frozen=True)
class PartsTally:
    """What the roll-up and the figures read of a recommendation's owner parts, and nothing more.

    Few values, so a grouped query can count recommendations by them and the figures still come
    from the rules here (`roll_up`, `reported_status`).
    """

    head: ReportedStatus | str | None
    """The answered lead's status, else the first answered part's (None: no part answered)."""
    all_finished: bool
    """Every part answered completed or no longer applicable."""
    all_not_applicable: bool
    """Every part answered no longer applicable."""
    lead_answered: bool | None
    """Whether the (first) lead answered; None when the recommendation has no lead."""

    @classmethod
    def of(cls, parts: Sequence[tuple[OwnerRole | str, ReportedStatus | str | None]]) -> PartsTally:
        """The tally of (role, status or None) parts, in the order owners are listed: lead first."""
        answered = [(OwnerRole(r), ReportedStatus(s)) for r, s in parts if s is not None]
        every = len(answered) == len(parts)
        leads = [s for r, s in parts if r == OwnerRole.LEAD]
        return cls(
            head=next((s for r, s in answered if r == OwnerRole.LEAD), answered[0][1] if answered else None),
            all_finished=every and all(s in FINISHED_STATUSES for _, s in answered),
            all_not_applicable=every and all(s == ReportedStatus.NO_LONGER_APPLICABLE for _, s in answered),
            lead_answered=leads[0] is not None if leads else None,
        )

    @property
    def rolled_up(self) -> ReportedStatus | None:
        """The recommendation's status (rule: `roll_up`)."""
        if self.head is None:
            return None
        if self.all_finished:
            return (
                ReportedStatus.NO_LONGER_APPLICABLE if self.all_not_applicable else ReportedStatus.COMPLETED
            )
        lead = ReportedStatus(self.head)
        if lead in FINISHED_STATUSES:
            # The lead is done but another part is not: the item as a whole is still in progress.
            return ReportedStatus.IN_PROGRESS
        return lead

    @property
    def reported_status(self) -> ReportedStatus | None:
        """The rolled-up status if the recommendation counts as reported (its lead answered; with no
        lead, any owner), else None."""
        return None if self.lead_answered is False else self.rolled_up
