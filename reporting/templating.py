"""The Jinja2 environment of the report templates (`templates/report/`), with the report's filters."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template

from domain.stocktake import EVIDENCE_ANNEX, STATUS_ORDER, Change, StockTake, long_date, status_label
from reporting.outline import document_date, heading_lines, outline

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"


def change_label(change: Change | None) -> str:
    """The label of a change since the previous cycle ("" on a first stock-take)."""
    return change.label if change is not None else ""


# Markdown syntax an outside text could use to make emphasis, code, links, images or table cells,
# escaped with a backslash; and HTML's `&`, `<`, `>` as entities. One pass (the entities hold none
# of the escaped characters).
_MARKDOWN_ESCAPES = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", **{c: "\\" + c for c in "\\`*_[]~|"}}
)
_MARKDOWN_SPECIAL = re.compile(r"[&<>\\`*_\[\]~|]")  # most text has none: no translation then
# What opens a block at the start of a line: heading, list item, setext underline, numbered item.
_BLOCK_START = re.compile(r"^(\d*)([#+=.)-])")
# Characters of a link destination that could close it, or start a title, or read as an escape.
_URL_UNSAFE = re.compile(r"""[\s<>()"'`\\]""")


def md_text(text: object) -> str:
    """Text from outside, inert in Markdown: one line, HTML escaped as entities, Markdown syntax escaped.

    Entities (not backslashes) for `<`, `>` and `&`: every renderer shows them as text, while some
    (Python-Markdown) do not honour a backslash before `<`.
    """
    flat = " ".join(str(text).split())
    if _MARKDOWN_SPECIAL.search(flat):
        flat = flat.translate(_MARKDOWN_ESCAPES)
    block = _BLOCK_START.match(flat)
    return f"{flat[: block.start(2)]}\\{flat[block.start(2) :]}" if block else flat


def md_link(url: str) -> str:
    """A web address as a Markdown link: its text escaped, its destination percent-encoded.

    Nothing in the address can close the destination's parenthesis or quote, so no text typed into
    it leaves the link.
    """
    destination = _URL_UNSAFE.sub(lambda m: "".join(f"%{b:02X}" for b in m.group().encode()), url)
    return f"[{md_text(url)}]({destination})"


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
    env.filters.update(
        status=status_label, long_date=long_date, change=change_label, md=md_text, md_link=md_link
    )
    env.tests.update(web_link=is_web_link)
    env.globals.update(STATUS_ORDER=STATUS_ORDER, evidence_annex=EVIDENCE_ANNEX)
    return env


def report_template(stocktake: StockTake, *, html: bool, **extra: Any) -> tuple[Template, dict[str, Any]]:
    """The stock-take's template (HTML or Markdown) and what it is rendered with."""
    context = {
        "st": stocktake,
        "parts": outline(stocktake),
        "heading": heading_lines(stocktake),
        "date": document_date(stocktake),
        **extra,
    }
    name = "stocktake.html.j2" if html else "stocktake.md.j2"
    return environment(html=html).get_template(name), context


def write_template(handle: BinaryIO, template: Template, context: dict[str, Any]) -> None:
    """Stream `template` rendered with `context` into `handle` as UTF-8: a large report is never one string.

    The pieces Jinja yields are small (a cell, a word): they are joined a few thousand at a time.
    """
    batch: list[str] = []
    for piece in template.generate(**context):
        batch.append(piece)
        if len(batch) >= 4096:
            handle.write("".join(batch).encode())
            batch.clear()
    handle.write("".join(batch).encode())
