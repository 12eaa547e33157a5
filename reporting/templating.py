"""The Jinja2 environment of the report templates (`templates/report/`), with the report's filters."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from domain.stocktake import STATUS_ORDER, Change, long_date, status_label

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"


def change_label(change: Change | None) -> str:
    """The label of a change since the previous cycle ("" on a first stock-take)."""
    return change.label if change is not None else ""


def md_cell(text: object) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")


def is_web_link(text: str) -> bool:
    """Only http(s) evidence becomes a link: agencies type these, and `javascript:` must stay text."""
    return text.lower().startswith(("https://", "http://"))


@cache
def environment(*, html: bool) -> Environment:
    """One environment per output kind: HTML autoescapes, Markdown does not."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(status=status_label, long_date=long_date, change=change_label, md_cell=md_cell)
    env.tests.update(web_link=is_web_link)
    env.globals.update(STATUS_ORDER=STATUS_ORDER)
    return env
