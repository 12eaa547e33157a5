"""When a stock-take cycle may open: a name, a deadline ahead, every active item owned, every owner reachable.

Pure: `check_launch` takes what the catalogue holds (`Readiness`) and says why not, or whether the
launch is a re-run of a cycle already open.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from domain.errors import ValidationError
from domain.lifecycle import CycleState
from domain.model import StockTakeCycle, check_deadline_within_reach

_MAX_LISTED = 40


@dataclass(frozen=True)
class Readiness:
    """What the catalogue holds for a launch: unowned items, owning agencies, agencies with a contact."""

    ownerless: Sequence[str]
    owners: Sequence[str]
    reachable: frozenset[str]
    # Agencies whose every contact has a placeholder address (the registry ships example.org ones).
    placeholder_only: frozenset[str] = frozenset()


# Domains reserved for examples and tests (RFC 2606, RFC 6761): mail there reaches nobody.
_PLACEHOLDER_DOMAINS = ("example.org", "example.com", "example.net")
_PLACEHOLDER_TLDS = (".example", ".invalid", ".test", ".localhost")


def is_placeholder(email: str) -> bool:
    """Whether an address is a placeholder: at a domain reserved for examples, so it reaches nobody."""
    domain = email.rpartition("@")[2].strip().lower().rstrip(".")
    return domain.endswith(_PLACEHOLDER_TLDS) or any(
        domain == reserved or domain.endswith("." + reserved) for reserved in _PLACEHOLDER_DOMAINS
    )


def listing(items: Sequence[str]) -> str:
    """Up to 40 names, then how many more."""
    shown = ", ".join(items[:_MAX_LISTED])
    return shown if len(items) <= _MAX_LISTED else f"{shown} and {len(items) - _MAX_LISTED} more"


def check_rerun(existing: StockTakeCycle, deadline: date) -> None:
    """A launch of a cycle that exists is a re-run only with the same deadline, while the cycle is open."""
    if existing.deadline != deadline:
        # Its deadline may have moved since (`cycle extend`): a re-run names the one it has now.
        resume = (
            f"to resume its launch, give --deadline {existing.deadline.isoformat()}; "
            if existing.state == CycleState.OPEN
            else ""
        )
        raise ValidationError(
            "name",
            f"a cycle named '{existing.name}' already exists with deadline {existing.deadline.isoformat()}: "
            f"{resume}for a new cycle, choose another name",
        )
    if existing.state != CycleState.OPEN:
        raise ValidationError(
            "name", f"a cycle named '{existing.name}' already exists and is {existing.state}"
        )


MAX_CYCLE_NAME = 100


def validate_cycle_name(name: str) -> str:
    """A cycle's name is printable text: it appears in e-mail subjects, pages, file names and URLs."""
    if not name:
        raise ValidationError("name", "a cycle needs a name")
    if len(name) > MAX_CYCLE_NAME:
        raise ValidationError("name", f"a cycle name is at most {MAX_CYCLE_NAME} characters")
    return printable_line(name, "name")


def printable_line(text: str, field: str) -> str:
    """`text` unless it holds a character that does not print: a name or title shown on one line."""
    # Categories C*: control (CR/LF would split e-mail headers), format (bidi overrides), unassigned.
    hidden = next((c for c in text if unicodedata.category(c).startswith("C")), None)
    if hidden is not None:
        raise ValidationError(
            field, f"contains the control character U+{ord(hidden):04X}: use printable text only"
        )
    return text


def cycle_slug(name: str) -> str:
    """The cycle's name as a URL segment: ASCII letters and digits joined by '-' ("HLCP 53/1" -> hlcp-53-1).

    A name with no Latin letter or digit gets a slug from its hash, so any printable name has one.
    """
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug or "cycle-" + hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def check_new_cycle(
    name: str,
    deadline: date,
    today: date,
    readiness: Readiness,
    *,
    allow_unowned: bool,
    other_names: Sequence[str] = (),
    allow_placeholders: bool = False,
) -> None:
    """Raise a ValidationError naming the field unless a new cycle of that name may open today."""
    validate_cycle_name(name)
    # The secretariat's page of a cycle is /cycles/<slug>: two cycles may not share one.
    clash = next((other for other in other_names if cycle_slug(other) == cycle_slug(name)), None)
    if clash is not None:
        raise ValidationError(
            "name",
            f"too close to the existing cycle '{clash}' (both would be /cycles/{cycle_slug(name)})",
        )
    if deadline < today:
        raise ValidationError(
            "deadline", f"{deadline.isoformat()} is in the past (today is {today.isoformat()})"
        )
    check_deadline_within_reach(deadline, today)
    if readiness.ownerless and not allow_unowned:
        raise ValidationError(
            "owners",
            f"{len(readiness.ownerless)} active recommendation(s) have no owner: "
            f"{listing(readiness.ownerless)}. "
            "Assign owners first (`followup owners suggest --apply`, or `followup owners apply FILE.yaml`), "
            "or launch with --allow-unowned",
        )
    if not readiness.owners:
        raise ValidationError("catalogue", "no active recommendation has an owner: there is nothing to ask")
    unreachable = sorted(set(readiness.owners) - readiness.reachable)
    if unreachable:
        raise ValidationError(
            "contacts", f"owning agencies without any contact: {listing(unreachable)}; add a focal point"
        )
    placeholders = sorted(set(readiness.owners) & readiness.placeholder_only)
    if placeholders and not allow_placeholders:
        raise ValidationError(
            "contacts",
            f"{len(placeholders)} owning agencies have only placeholder addresses (example.org and other "
            f"reserved domains), so their requests would reach nobody: {listing(placeholders)}. Set real "
            "ones (`followup agencies set-contact`, or `followup agencies load FILE.yaml`), or launch "
            "with --allow-placeholders (a rehearsal)",
        )
