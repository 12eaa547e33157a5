"""What the use cases take from configuration, and the name they act under when no person does."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from domain.policies import FollowUpSchedule

# Who the history names for moves the system makes on its own (reminders, overdue marks).
SYSTEM = "follow-up"


@dataclass(frozen=True)
class CycleConfig:
    """What the cycle use cases take from configuration: links, schedule, the secretariat's address."""

    secretariat_email: str
    reply_token: Callable[[int, str, str], str]
    reply_url: Callable[[int, str, str], str]
    # The keyed mark of an agency's reply sheet (cycle id, agency code), under the secret key.
    sheet_mark: Callable[[int, str], str]
    schedule: FollowUpSchedule = field(default_factory=FollowUpSchedule)
    # Items on one reply page: a longer request is answered in parts, and its e-mail lists codes only
    # (200 full texts made a 340 KB e-mail that nobody reads through, while the reply page shows them).
    part_size: int = 40
    # What the secretariat's own messages (the cycle summary) are written in.
    secretariat_language: str = "en"

    def in_parts(self, item_count: int) -> bool:
        """Whether a request of `item_count` items is answered in parts (its e-mail lists codes only)."""
        return item_count > self.part_size
