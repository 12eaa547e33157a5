"""Commands that set up the catalogue: `init`, `agencies`, `import`, `owners`."""

from __future__ import annotations

import json
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from domain.errors import ValidationError
from domain.language import Language
from domain.model import OwnerRole
from workflows import bootstrap
from workflows.cli.base import TODAY_OPTION, app, console, day_of, owners_app, sub_app, user_errors

if TYPE_CHECKING:  # the importer and the services load only when a command needs them
    from domain.importer import ParsedReport
    from workflows.services.catalogue import ImportSummary

milestones_app = sub_app("milestones", "Milestones proposed from a report's dated commitments.")


@app.command()
def init() -> None:
    """Create or upgrade the database (alembic upgrade head), then load the agency registry."""
    from workflows.services import agencies as agency_services

    settings = bootstrap.get_settings()
    with user_errors():
        from db.migrate import upgrade  # Alembic costs ~0.4 s to import: only `init` pays it

        settings.resolved_secret_key()  # a malformed key stops `init` before anything is written
        upgrade(settings.resolved_database_url)
        bootstrap.secret_key(settings, record=True)  # records the key's fingerprint, or refuses another key
        loaded = agency_services.load_shipped_registry(bootstrap.uow())
    console.print(
        f"Database ready at [bold]{settings.resolved_database_url}[/]; "
        f"agency registry: {loaded.added} added, existing ones kept."
    )


def _by() -> str:
    """Who the history records for commands run by the secretariat."""
    return bootstrap.get_settings().secretariat_email


def _read_text(path: Path) -> str:
    """The file's text through the guarded entry: a ValidationError (exit 1) unless it is a text file."""
    from workflows.services.intake import text_file

    return text_file(path)


SHEET_SUFFIXES = (".xlsx", ".csv")


@app.command("import")
def import_command(
    path: Path = typer.Argument(
        ...,
        help="The report (.md, .txt, .docx, .pdf) or a sheet of recommendations (.xlsx, .csv); "
        "`template` writes that sheet's template",
    ),
    dry_run: bool = typer.Option(False, "--dry-run", help="Parse and show the items; write nothing"),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table"),
    source: str | None = typer.Option(None, "--source", help="Report name (default: its document symbol)"),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="With `template`: where to write it (.xlsx or .csv)"
    ),
    translation_of: str | None = typer.Option(
        None,
        "--translation-of",
        help="The file is this imported report in another language (--lang): store its texts by code",
    ),
    lang: str | None = typer.Option(None, "--lang", help="With --translation-of: fr, es (or en)"),
) -> None:
    """Import a report's recommendations (re-importing an amended report updates them in place)."""
    from workflows.services import catalogue, report_sheet

    with user_errors():
        if translation_of is not None or lang is not None:
            _import_translation(path, translation_of, lang)
            return
        if str(path) == "template" and not path.exists():
            written = report_sheet.write_template(out or Path("recommendations.xlsx"), source or "")
            console.print(
                f"Template written to {written}: one row per recommendation, then `followup import`."
            )
            return
        if path.suffix.lower() in SHEET_SUFFIXES:
            _import_sheet(path, source, dry_run=dry_run, as_json=as_json)
            return
        report = _parsed(path, source)
        if dry_run:
            _show_items(report, as_json)
            return
        summary = catalogue.store_report(bootstrap.uow(), report, clock=bootstrap.SystemClock(), by=_by())
    _show_summary(summary, as_json)


def _parsed(path: Path, source: str | None) -> ParsedReport:
    from domain.importer import parse_report
    from workflows.services.report_files import read_report

    return parse_report(read_report(path), source=source, filename=path.name)


def _import_translation(path: Path, source: str | None, lang: str | None) -> None:
    from workflows.services.translations import store_translation

    if not source or not lang:
        raise ValidationError(
            "--translation-of", "a translation needs both --translation-of REPORT and --lang"
        )
    stored = store_translation(bootstrap.uow(), _parsed(path, source), language=lang, filename=path.name)
    console.print(
        f"{stored.source} in {Language(stored.language).english_name}: {stored.translated} of "
        f"{stored.items} recommendations have a translation (from {path.name})."
    )


def _import_sheet(path: Path, source: str | None, *, dry_run: bool, as_json: bool) -> None:
    from workflows.services import report_sheet

    if dry_run:
        with bootstrap.uow() as uow:
            agencies = {agency.code for agency in uow.agencies.list()}
        _show_items(report_sheet.read_sheet(path, agencies, source).report, as_json)
        return
    summary, applied = report_sheet.import_sheet(
        bootstrap.uow(), path, source=source, clock=bootstrap.SystemClock(), by=_by()
    )
    _show_summary(summary, as_json)
    if applied is not None and not as_json:
        console.print(
            f"Owners changed on {applied.owners_changed} recommendations; "
            f"{applied.milestones_added} milestones added, {applied.milestones_updated} updated."
        )


def _show_items(report: ParsedReport, as_json: bool) -> None:
    from workflows.cli.plain_table import PlainTable

    if as_json:
        typer.echo(json.dumps([item.as_json() for item in report.items], ensure_ascii=False, indent=2))
        return
    table = PlainTable("code", "kind", "point", "theme", "parent", "text", title=f"{report.source} (dry run)")
    for item in report.items:
        table.add_row(
            item.code,
            item.kind,
            str(item.agenda_point or ""),
            item.theme or "",
            item.parent or "",
            _short(item.text),
        )
    console.print(table)
    console.print(f"{len(report.items)} recommendations; nothing written (--dry-run).")


def _show_summary(summary: ImportSummary, as_json: bool) -> None:
    from workflows.cli.plain_table import PlainTable

    if as_json:
        typer.echo(json.dumps(asdict(summary), ensure_ascii=False))
        return
    table = PlainTable("report", "items", "added", "updated", "unchanged", title="Import")
    table.add_row(
        summary.source, *(str(n) for n in (summary.items, summary.added, summary.updated, summary.unchanged))
    )
    console.print(table)
    if summary.not_in_report:
        console.print(
            f"[yellow]{len(summary.not_in_report)} stored items are not in this version of the report "
            f"(kept as they are):[/] {escape(', '.join(summary.not_in_report))}"
        )


def _short(text: str, width: int = 90) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# A table of ten thousand rows helps nobody (and takes seconds to draw): the export file has them all.
SHOWN_SUGGESTIONS = 300


@owners_app.command("suggest")
def suggest_command(
    apply: bool = typer.Option(
        False, "--apply", help="Store the suggestions for items that have no owner yet"
    ),
) -> None:
    """Suggest owners for every recommendation, with the reason for each; --apply stores them."""
    from workflows.cli.plain_table import PlainTable
    from workflows.services import catalogue

    with user_errors():
        suggestions = catalogue.suggest_owners(
            bootstrap.uow(), apply=apply, clock=bootstrap.SystemClock(), by=_by()
        )
    table = PlainTable("code", "lead", "contributors", "why", "")
    for s in suggestions[:SHOWN_SUGGESTIONS]:
        lead = [o for o in s.owners if o.role == OwnerRole.LEAD]
        contributors = [o for o in s.owners if o.role == OwnerRole.CONTRIBUTOR]
        reasons = "; ".join(dict.fromkeys(o.reason for o in s.owners))
        note = "kept (has owners)" if s.kept else ("applied" if apply else "")
        table.add_row(
            s.code,
            lead[0].agency_code if lead else "",
            ", ".join(o.agency_code for o in contributors),
            reasons,
            note,
        )
    console.print(table)
    if len(suggestions) > SHOWN_SUGGESTIONS:
        hidden = len(suggestions) - SHOWN_SUGGESTIONS
        console.print(f"… and {hidden} more: review them all with `followup owners export`.")
    stored = sum(1 for s in suggestions if not s.kept)
    if apply:
        console.print(
            f"Owners stored for {stored} recommendations; {len(suggestions) - stored} already had owners."
        )
    else:
        console.print(f"{len(suggestions)} suggestions; nothing stored (add --apply).")


@owners_app.command("export")
def export_command(
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write to FILE instead of the screen"
    ),
) -> None:
    """Export owners and milestones as YAML to review and apply back."""
    from workflows.queries import catalogue as catalogue_reads

    with user_errors():
        text = catalogue_reads.export_owners(bootstrap.uow())
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    console.print(f"Owners and milestones written to {out}.")


@owners_app.command("apply")
def apply_command(
    path: Path = typer.Argument(..., help="An owners YAML file"),
) -> None:
    """Set owners and milestones from a YAML file (as `owners export` writes it); all or nothing."""
    from workflows.services import owners as owners_file

    with user_errors():
        summary = owners_file.apply_owners(
            bootstrap.uow(), _read_text(path), clock=bootstrap.SystemClock(), by=_by(), name=path.name
        )
    console.print(
        f"{summary.recommendations} recommendations in {path.name}: "
        f"owners changed on {summary.owners_changed}, {summary.milestones_added} milestones added, "
        f"{summary.milestones_updated} updated."
    )


@app.command("catalogue")
def catalogue_command() -> None:
    """The catalogue at a glance: items per agenda point and per owner."""
    from workflows.cli.plain_table import PlainTable
    from workflows.queries import catalogue as catalogue_reads

    with user_errors():
        summary = catalogue_reads.catalogue_summary(bootstrap.uow())
    points = PlainTable("agenda point", "items", title="Recommendations")
    for label, count in summary.per_point:
        points.add_row(label, str(count))
    points.add_row("total", str(sum(c for _, c in summary.per_point)), style="bold")
    owners = PlainTable("owner", "lead", "contributor", title="Owners")
    for agency, lead, contributor in summary.per_owner:
        owners.add_row(agency, str(lead), str(contributor))
    console.print(points)
    console.print(owners)
    console.print(
        f"{summary.without_owner} recommendations without an owner; {summary.milestones} milestones."
    )


@milestones_app.command("suggest")
def suggest_milestones_command(
    path: Path = typer.Argument(..., help="The imported report (.md, .txt, .docx, .pdf)"),
    apply: bool = typer.Option(False, "--apply", help="Store the suggestions not stored yet"),
    out: Path | None = typer.Option(
        None, "--out", dir_okay=False, help="Write them as an owners file to review, then `owners apply`"
    ),
    source: str | None = typer.Option(None, "--source", help="Report name (default: its document symbol)"),
) -> None:
    """Propose milestones from the dated commitments in the report's prose, linked to their items."""
    from workflows.cli.plain_table import PlainTable
    from workflows.services import catalogue
    from workflows.services.report_files import read_report

    with user_errors():
        suggestions = catalogue.suggest_milestones(
            bootstrap.uow(),
            read_report(path),
            source=source,
            apply=apply,
            clock=bootstrap.SystemClock(),
            by=_by(),
            filename=path.name,
        )
    if out is not None:
        out.write_text(catalogue.milestones_file(suggestions), encoding="utf-8")
    table = PlainTable("code", "due", "agency", "milestone", "section", "")
    for s in suggestions:
        note = "already stored" if s.already_stored else ("stored" if apply else "")
        table.add_row(
            s.proposed.code,
            s.proposed.due.isoformat(),
            s.agency or "",
            _short(s.proposed.title, 70),
            s.proposed.section.split(" ")[0],
            note,
        )
    console.print(table)
    new = sum(1 for s in suggestions if not s.already_stored)
    if apply:
        console.print(f"{new} milestones stored; {len(suggestions) - new} were already there.")
    else:
        written = f"; written to {out} for review" if out is not None else ""
        console.print(f"{len(suggestions)} milestones proposed{written}; nothing stored (add --apply).")


REPORT_OPTION = typer.Option(None, "--report", help="The report, when several share the code.")


@app.command("close-item")
def close_item_command(
    code: str = typer.Argument(..., help="The recommendation's code, e.g. A2.5."),
    how: str = typer.Option(
        ..., "--as", help="implemented, closed (no further action) or overtaken (by events)."
    ),
    why: str = typer.Option(..., "--why", help="Why it is closed (recorded, and shown in the stock-take)."),
    by: str = typer.Option("secretariat", "--by", help="Who closes it (recorded in the history)."),
    report: str | None = REPORT_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Close a recommendation: the next cycles no longer ask about it; the stock-take lists it as closed."""
    from workflows.services.recommendations import close_item

    with user_errors():
        moved = close_item(
            bootstrap.uow(), bootstrap.clock(day_of(today)), code, how=how, why=why, by=by, source=report
        )
    console.print(f"{moved.code} closed as {moved.after}: the next cycles no longer ask about it.")


@app.command("reopen-item")
def reopen_item_command(
    code: str = typer.Argument(..., help="The recommendation's code, e.g. A2.5."),
    why: str = typer.Option(..., "--why", help="Why it is reopened (recorded in the history)."),
    by: str = typer.Option("secretariat", "--by", help="Who reopens it (recorded in the history)."),
    report: str | None = REPORT_OPTION,
    today: datetime | None = TODAY_OPTION,
) -> None:
    """Reopen a closed recommendation: the next cycle asks about it again."""
    from workflows.services.recommendations import reopen_item

    with user_errors():
        moved = reopen_item(
            bootstrap.uow(), bootstrap.clock(day_of(today)), code, why=why, by=by, source=report
        )
    console.print(f"{moved.code} reopened (was {moved.before}): the next cycle asks about it again.")
