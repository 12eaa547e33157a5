"""What the e-mails say: the contexts their templates get, the items they list, the keys they go by.

The launch, the follow-up, the close and a re-issued link build their messages from here, out of
what the repositories read.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from domain.answers import last_answer
from domain.figures import StocktakeFigures, headline
from domain.language import Language, RunningName
from domain.model import Agency, StatusRequest, StockTakeCycle, text_in
from domain.ports import AgencyRepository, CodeToList, CycleItemRepository, ItemToAsk
from domain.stocktake import sentence_start
from workflows.config import CycleConfig


def bodies_of(
    agencies: AgencyRepository, requests: Sequence[StatusRequest]
) -> dict[str, tuple[Agency, Agency | None]]:
    """Each request's body and, when another answers for it in this cycle (the GMG's chair), that
    one too, by the body's code: whom its messages are about and whom they go to. One read."""
    found = agencies.by_codes(
        [r.agency_code for r in requests] + [r.answered_through for r in requests if r.answered_through]
    )
    return {
        r.agency_code: (found[r.agency_code], found[r.answered_through] if r.answered_through else None)
        for r in requests
    }


def status_request_key(request: StatusRequest, moves: int = 0) -> str:
    """The status request's idempotency key: one per link (a re-issued link gets a new one) and
    deadline (written again with a moved one: the key ends in the deadline's moves, as a reminder's)."""
    key = f"status-request:{request.cycle_id}:{request.agency_code}:{request.token_nonce[:8]}"
    return f"{key}:{moves}" if moves else key


def common_context(cycle: StockTakeCycle, config: CycleConfig, language: str | None = None) -> dict[str, Any]:
    """What every cycle e-mail shows: the cycle, the secretariat's address, the language it is written in.

    Without a `language`, the secretariat's own (the cycle summary).
    """
    return {
        "cycle": {"name": cycle.name, "hlcp_session": cycle.hlcp_session, "deadline": cycle.deadline},
        "secretariat_email": config.secretariat_email,
        "lang": language or config.secretariat_language,
    }


def agency_names(agency: Agency, language: str = Language.EN) -> dict[str, str]:
    """How messages name a body: its code (for codes' columns), full name, and running-text names
    in `language` ("the ILO", "l’OIT")."""
    return names_of(agency.code, agency.name, agency.name_in(language), agency.short_name)


def names_of(code: str, name: str, display: str, short_name: str = "") -> dict[str, str]:
    """A body's names as messages use them: code, full name, running-text name (at a sentence's start
    too) and the full name where it says more (`name_in_full`)."""
    return {
        "code": code,
        "name": name,
        "display": RunningName(display),
        "display_start": RunningName(sentence_start(display)),
        "in_full": name_in_full(name, display, short_name),
    }


def name_in_full(name: str, display: str, short_name: str = "") -> str:
    """The registry's name when it says more than the running-text one ("UNESCO" and "United Nations
    Educational, ..."), else "": not when they differ by an article alone ("the World Bank"). A name
    that ends with its short one in brackets ("... (UN Women)") goes without them, since it is
    written in brackets."""

    def bare(text: str) -> str:
        return text.casefold().removeprefix("the ")

    full = name
    for short in {display, short_name} - {""}:
        full = full.removesuffix(f" ({short})")
    return full if bare(full) != bare(display) else ""


def agency_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    agency: Agency,
    through: Agency | None = None,
    *,
    language: str | None = None,
) -> dict[str, Any]:
    """What an e-mail to one agency shows: the cycle, the secretariat, the agency (and who answers for it).

    Written in `language`, by default the one of the people who answer (the body's or its chair's).
    """
    lang = language or (through or agency).reply_language
    return {
        **common_context(cycle, config, lang),
        "agency": agency_names(agency, lang),
        "through": agency_names(through, lang) if through else None,
    }


def status_request_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    agency: Agency,
    request: StatusRequest,
    items: list[dict[str, Any]],
    through: Agency | None = None,
    *,
    moves: int,
) -> dict[str, Any]:
    """What the status-request e-mail shows: the link, the items (codes only if in parts), the event.

    `moves` is how often the deadline moved (`uow.cycles.deadline_moves`), the calendar event's SEQUENCE.
    """
    assert cycle.id is not None
    return {
        **agency_context(cycle, config, agency, through),
        "deadline_moves": moves,
        "reply_url": config.reply_url(cycle.id, agency.code, request.token_nonce),
        "item_count": request.item_count,
        "in_parts": config.in_parts(request.item_count),
        "items_by_point": items,
        # Whether "No change since last time" can apply (a request in parts lists no answers: it may).
        "reported_before": config.in_parts(request.item_count)
        or any(item["last_status"] for group in items for item in group.get("items", ())),
    }


def summary_context(
    cycle: StockTakeCycle,
    config: CycleConfig,
    overdue: Sequence[Agency],
    figures: StocktakeFigures,
    paths: Mapping[str, Path],
    report_url: Callable[[Path], str],
) -> dict[str, Any]:
    """What the cycle summary to the secretariat shows: the stock-take's figures, who is late (the
    `overdue` agencies), the reports.

    Every number comes from the report's figures, so the e-mail and the report cannot disagree.
    """
    first_report = next(iter(paths.values()), None)
    return {
        **common_context(cycle, config),
        "figures": figures.as_dict(),
        "headline": [{"label": label, "value": value} for label, value in headline(figures)],
        "overdue_agencies": [agency_names(agency, config.secretariat_language) for agency in overdue],
        "report_paths": [str(path) for path in paths.values()],
        "report_url": report_url(first_report) if first_report else None,
    }


def items_to_list(
    cycle_items: CycleItemRepository,
    cycle: StockTakeCycle,
    requests: Sequence[StatusRequest],
    languages: Mapping[str, str],
    config: CycleConfig,
) -> dict[str, list[dict[str, Any]]]:
    """Per agency, its items grouped by agenda point as its status request lists them.

    A request of up to `config.part_size` items lists each in full with what was said of it last
    cycle (in the agency's language in `languages`, where translated); a longer one, answered in
    parts, lists codes only: `codes` instead of `items`.
    """
    full = [r.agency_code for r in requests if not config.in_parts(r.item_count)]
    in_parts = [r.agency_code for r in requests if config.in_parts(r.item_count)]
    assert cycle.id is not None
    listed = _items_by_point(cycle_items.with_last_answers(cycle, full), languages) if full else {}
    if in_parts:
        listed.update(_codes_by_point(cycle_items.codes_in_report_order(cycle.id, in_parts)))
    return listed


def _group(
    points: dict[int | None, dict[str, Any]], kind: str, point: int | None, title: str | None
) -> dict[str, Any]:
    """The group of agenda point `point` among an agency's `points`, made on first use."""
    group = points.get(point)
    if group is None:
        group = points[point] = {"kind": kind, "agenda_point": point, "agenda_title": title or ""}
    return group


def _items_by_point(
    rows: Iterable[ItemToAsk], languages: Mapping[str, str]
) -> dict[str, list[dict[str, Any]]]:
    """Each agency's items grouped by agenda point, with what it said last cycle, in its language."""
    points: dict[str, dict[int | None, dict[str, Any]]] = defaultdict(dict)
    for row in rows:
        group = _group(points[row.agency_code], row.kind, row.agenda_point, row.agenda_title)
        last = last_answer(
            row.reported_status or "", row.assessed_status, row.narrative or "", row.assessment_rationale
        )
        group.setdefault("items", []).append(
            {
                "code": row.code,
                "text": text_in(row.text, row.translations, languages.get(row.agency_code, "")),
                "role": row.role,
                "last_status": last.status or None,
                "last_narrative": last.narrative,
                "last_assessed": last.assessed,  # None unless the secretariat assessed it otherwise
            }
        )
    return {code: list(by_point.values()) for code, by_point in points.items()}


def _codes_by_point(rows: Iterable[CodeToList]) -> dict[str, list[dict[str, Any]]]:
    """Each agency's item codes grouped by agenda point (for a request in parts)."""
    points: dict[str, dict[int | None, dict[str, Any]]] = defaultdict(dict)
    for agency_code, code, kind, point, title in rows:
        _group(points[agency_code], kind, point, title).setdefault("codes", []).append(code)
    return {agency: list(by_point.values()) for agency, by_point in points.items()}
