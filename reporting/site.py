"""The public record as a static site: one page per recommendation, agenda point and agency, an index.

Takes a `PublicRecord` and returns every page as (relative path -> bytes); it never touches the
database or the disk (the public evidence files are copied in by `workflows.services.publish`, to
the paths `evidence_path` gives). The same record gives the same bytes (no clock, everything in a
fixed order), so a site re-published without changes is identical and a diff shows only what changed.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from domain.errors import ValidationError
from domain.evidence import StoredFile, site_name
from domain.model import RecommendationKind
from domain.publication import PublicRecord, RecommendationRecord, page_slug, status_label
from domain.stocktake import condense, long_date
from reporting.templating import is_web_link

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "site"
STYLESHEET = "style.css"
SUMMARY_CHARACTERS = 160


@dataclass(frozen=True)
class Section:
    """An agenda point of one report (or its strategic or other recommendations): one page."""

    source: str
    heading: str
    path: str
    recommendations: tuple[RecommendationRecord, ...]


def recommendation_path(rec: RecommendationRecord) -> str:
    """Where a recommendation's page is, relative to the site's root."""
    return f"recommendations/{page_slug(rec.source)}/{page_slug(rec.code)}.html"


def evidence_path(file: StoredFile) -> str:
    """Where a public evidence file is copied, relative to the site's root: a folder per content."""
    return f"evidence/{file.sha256}/{site_name(file.name)}"


def agency_path(code: str) -> str:
    """Where an agency's page is, relative to the site's root."""
    return f"agencies/{page_slug(code)}.html"


def _section_path(rec: RecommendationRecord) -> str:
    if rec.kind == RecommendationKind.STRATEGIC:
        name = "strategic"
    elif rec.agenda_point is None:
        name = "other"
    else:
        name = f"point-{rec.agenda_point}"
    return f"agenda/{page_slug(rec.source)}/{name}.html"


def sections(record: PublicRecord) -> list[Section]:
    """The agenda sections of every report, in report order (the recommendations come in that order)."""
    grouped: dict[str, list[RecommendationRecord]] = defaultdict(list)
    for rec in record.recommendations:
        grouped[_section_path(rec)].append(rec)
    return [
        Section(recs[0].source, recs[0].heading, path, tuple(recs))
        for path, recs in sorted(grouped.items(), key=lambda item: _section_order(item[1][0]))
    ]


def _section_order(rec: RecommendationRecord) -> tuple[str, int, int]:
    # Strategic recommendations first, as in the reports; then agenda points in order; then the rest.
    if rec.kind == RecommendationKind.STRATEGIC:
        return (rec.source, 0, 0)
    return (rec.source, 1, rec.agenda_point) if rec.agenda_point is not None else (rec.source, 2, 0)


@cache
def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        status_label=status_label,
        long_date=long_date,
        summary=lambda text: condense(text, SUMMARY_CHARACTERS),
    )
    env.globals.update(
        recommendation_path=recommendation_path,
        agency_path=agency_path,
        evidence_path=evidence_path,
        section_path=_section_path,
        is_web_link=is_web_link,
    )
    return env


def _page(template: str, path: str, **context: Any) -> bytes:
    # Links are relative (the site works from a folder, a file:// URL or any sub-path of a server).
    root = "../" * path.count("/")
    return _environment().get_template(template).render(root=root, **context).encode("utf-8")


def render_site(record: PublicRecord) -> dict[str, bytes]:
    """Every file of the site, by path relative to its root."""
    by_section = sections(record)
    owned: dict[str, list[tuple[RecommendationRecord, str]]] = defaultdict(list)
    for rec in record.recommendations:
        for owner in rec.owners:
            owned[owner.code].append((rec, owner.role))
    agencies = [(code, name) for code, name in record.agencies if code in owned]
    standings = Counter((_standing_order(rec), rec.standing) for rec in record.recommendations)
    files: dict[str, bytes] = {
        STYLESHEET: (TEMPLATES / STYLESHEET).read_bytes(),
        "index.html": _page(
            "index.html.j2",
            "index.html",
            record=record,
            sections=by_section,
            agencies=[(code, name, len(owned[code])) for code, name in agencies],
            standings=[(label, count) for (_, label), count in sorted(standings.items())],
        ),
    }
    for section in by_section:
        files[section.path] = _page("section.html.j2", section.path, section=section)
        for rec in section.recommendations:
            path = _unclaimed(files, recommendation_path(rec), "code", rec.code, "recommendation")
            files[path] = _page("recommendation.html.j2", path, rec=rec)
    for code, name in agencies:
        path = _unclaimed(files, agency_path(code), "agency", code, "agency")
        files[path] = _page("agency.html.j2", path, code=code, name=name, owned=owned[code])
    return dict(sorted(files.items()))


def _standing_order(rec: RecommendationRecord) -> tuple[int, str]:
    # The index lists the latest statuses, then the ways of closing, then the recommendations never reported.
    if rec.closure is not None:
        return (1, rec.closure.how)
    return (0, rec.status) if rec.status is not None else (2, "")


def _unclaimed(files: dict[str, bytes], path: str, field: str, name: str, kind: str) -> str:
    """`path`, unless another page has it: two codes that make one file name are refused, not overwritten."""
    if path in files:
        raise ValidationError(field, f"{name} would share the page {path} with another {kind}")
    return path
