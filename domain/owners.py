"""Who should own a recommendation: the actors its text names, else a thematic default.

Pure suggestion logic: recommendations and the agency registry in, suggested owners (one lead,
the rest contributors, each with a reason) out. The secretariat reviews them before they count.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.errors import ValidationError
from domain.model import Agency, OwnerRole, Recommendation, RecommendationKind


@dataclass(frozen=True)
class ThematicRule:
    """A theme (label) recognised by a pattern, and the agencies that own it by default."""

    label: str
    pattern: re.Pattern[str]
    agencies: tuple[str, ...]


def _rule(label: str, pattern: str, *agencies: str) -> ThematicRule:
    return ThematicRule(label, re.compile(pattern, re.IGNORECASE), agencies)


# Checked in order against an item's theme (else its text), then its agenda point's title: first match wins.
THEMATIC_RULES: tuple[ThematicRule, ...] = (
    _rule("health", r"\bhealth", "WHO"),
    _rule("refugees", r"refugee|asylum|stateless", "UNHCR"),
    _rule("trafficking", r"traffick|smuggl|organized crime", "UNODC"),
    _rule("remittances", r"remittance|financial (?:services|inclusion)|diaspora", "WORLD-BANK", "UNCTAD"),
    _rule("children", r"\bchild|adolescen|\byouth", "UNICEF"),
    _rule("women", r"\bwomen\b|\bgirls\b|\bgender", "UN-WOMEN"),
    _rule("education", r"educat|qualification|\bstudents?\b", "UNESCO"),
    _rule("labour", r"labou?r|recruitment|migrant workers|employment|social security|decent work", "ILO"),
    _rule("data", r"\bdata\b|statistic|evidence|indicator|research|survey", "UN-DESA"),
    _rule("human rights", r"human rights|discriminat|xenophob|racism|detention|justice", "OHCHR"),
    _rule("crises", r"cris[ie]s|stranded|humanitarian|disaster|displacement", "IOM"),
    _rule("perceptions", r"perception|campaign", "IOM"),
    _rule("development", r"development (?:agenda|plan|strateg)|post-2015|mainstream", "UNDP"),
    _rule("partnerships", r"partnership|cooperation", "GMG"),
)
# Strategic recommendations address the system's coordination bodies; when none is named, the
# GMG (which coordinates the system's follow-up on migration) is the default.
FALLBACK_AGENCY = "GMG"
FALLBACK_REASON = "default: the GMG coordinates the system's follow-up"
# "Request the UNDG to ...", "ask the GMG to ...": the body asked to act leads.
_ASKED = re.compile(
    r"\b(?:request|requests|ask|asks|invite|invites|call(?:s)? (?:on|upon))\s+(?:the\s+)?$", re.I
)


@dataclass(frozen=True)
class SuggestedOwner:
    """One suggested owner of one recommendation, and why."""

    agency_code: str
    role: OwnerRole
    reason: str


class AliasIndex:
    """Finds the agencies a text names, by their aliases (acronyms match case-sensitively)."""

    def __init__(self, agencies: Sequence[Agency]) -> None:
        self._exact: dict[str, str] = {}
        self._folded: dict[str, str] = {}
        names = []
        for agency in agencies:
            for alias in {agency.code, *agency.aliases}:
                alias = alias.strip()
                if not alias:
                    continue
                if _is_acronym(alias):
                    self._exact.setdefault(alias, agency.code)
                    names.append((alias, re.escape(alias)))
                else:
                    self._folded.setdefault(alias.casefold(), agency.code)
                    names.append((alias, f"(?i:{re.escape(alias)})"))
        # Longest first, so "Office of the High Commissioner for Human Rights" wins over "High Commissioner".
        names.sort(key=lambda pair: -len(pair[0]))
        body = "|".join(pattern for _, pattern in names) or "(?!)"
        self._pattern = re.compile(rf"(?<!\w)(?:{body})(?!\w)")

    def named_in(self, text: str) -> list[tuple[str, str, bool]]:
        """(agency code, the words that named it, asked to act?) in order of first mention."""
        found: dict[str, tuple[str, str, bool]] = {}
        for match in self._pattern.finditer(text):
            words = match.group(0)
            code = self._exact.get(words) or self._folded.get(words.casefold())
            if code is None:
                continue
            asked = bool(_ASKED.search(text[max(0, match.start() - 40) : match.start()]))
            if code not in found:
                found[code] = (code, words, asked)
            elif asked:
                found[code] = (code, found[code][1], True)
        return list(found.values())


def _is_acronym(alias: str) -> bool:
    return alias == alias.upper() and any(c.isalpha() for c in alias)


def suggest(
    recommendations: Sequence[Recommendation], agencies: Sequence[Agency]
) -> dict[str, list[SuggestedOwner]]:
    """Suggested owners per recommendation code: at least one each, the first one the lead."""
    registered = {agency.code for agency in agencies}
    if FALLBACK_AGENCY not in registered:
        raise ValidationError(
            "agencies", f"the registry has no {FALLBACK_AGENCY}, the default owner: run `followup init`"
        )
    index = AliasIndex(agencies)
    by_code = {rec.code: rec for rec in recommendations}
    named = {rec.code: index.named_in(rec.text) for rec in recommendations}
    suggestions: dict[str, list[SuggestedOwner]] = {}
    for rec in recommendations:
        owners = _from_names(named[rec.code], "named in the text")
        if not owners and rec.kind == RecommendationKind.STRATEGIC.value:
            owners = _from_ancestors(rec, by_code, named)
        if not owners and rec.kind == RecommendationKind.ANNEX.value:
            owners = _thematic(rec, registered)
        suggestions[rec.code] = owners or [SuggestedOwner(FALLBACK_AGENCY, OwnerRole.LEAD, FALLBACK_REASON)]
    return suggestions


def _from_names(named: list[tuple[str, str, bool]], why: str) -> list[SuggestedOwner]:
    if not named:
        return []
    lead = next((entry for entry in named if entry[2]), named[0])
    ordered = [lead] + [entry for entry in named if entry is not lead]
    return [
        SuggestedOwner(code, OwnerRole.LEAD if n == 0 else OwnerRole.CONTRIBUTOR, f"{why}: '{words}'")
        for n, (code, words, _) in enumerate(ordered)
    ]


def _from_ancestors(
    rec: Recommendation,
    by_code: dict[str, Recommendation],
    named: dict[str, list[tuple[str, str, bool]]],
) -> list[SuggestedOwner]:
    parent = rec.parent_code
    while parent is not None and parent in by_code:
        if named[parent]:
            return _from_names(named[parent], f"named in {parent}")
        parent = by_code[parent].parent_code
    return []


def _thematic(rec: Recommendation, registered: set[str]) -> list[SuggestedOwner]:
    """The theme's (else the text's, else the agenda point's) default owners; the point's own
    default joins as a contributor, so an item on health under "trafficking" reaches both."""
    where = f"point {rec.agenda_point}" if rec.agenda_point is not None else rec.code
    owners: list[SuggestedOwner] = []
    for subject in (rec.theme or rec.text, rec.agenda_title):
        rule = _first_rule(subject, registered)
        if rule is None:
            continue
        for code in rule.agencies:
            if code in registered and all(o.agency_code != code for o in owners):
                role = OwnerRole.CONTRIBUTOR if owners else OwnerRole.LEAD
                owners.append(SuggestedOwner(code, role, f"thematic default for {where} / {rule.label}"))
    return owners


def _first_rule(subject: str | None, registered: set[str]) -> ThematicRule | None:
    for rule in THEMATIC_RULES:
        if subject and rule.pattern.search(subject) and any(code in registered for code in rule.agencies):
            return rule
    return None
