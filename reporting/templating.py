"""The Jinja2 environment of the report templates (`templates/report/`), with the report's filters."""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any, BinaryIO

from jinja2 import Environment, FileSystemLoader, StrictUndefined, Template
from markupsafe import Markup

from domain.language import ENGLISH, Words, words_of
from domain.stocktake import EVIDENCE_ANNEX, STATUS_ORDER, StockTake
from reporting.outline import Wording, document_date, heading_lines, outline, wording

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "report"


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
    flat = " ".join(words_of(str(text)))
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
def environment(*, html: bool, words: Wording) -> Environment:
    """One environment per output kind and language: HTML autoescapes, Markdown does not.

    `_("...", name=value)` says a sentence in the report's language (`pybabel extract` reads the
    templates' `_` calls); `t` says one the domain made (a `Message`).
    """
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=html,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        status=words.status,
        long_date=words.long_date,
        t=words.text,
        percent=words.percent,
        answer_line=words.answer_line,
        change_note=words.change_note,
        md=md_text,
        md_link=md_link,
    )
    env.tests.update(web_link=is_web_link)
    env.globals.update(
        STATUS_ORDER=STATUS_ORDER,
        evidence_annex=words.gettext(EVIDENCE_ANNEX),
        _=_trusted(words) if html else words.say,
        lang=words.language,
    )
    return env


def _trusted(words: Wording) -> Callable[..., str]:
    """`Wording.say` for HTML: the catalogue's own words are trusted markup-free text, left as they are;
    a sentence with values from outside (a cycle's title) is escaped whole."""

    def say(msgid: str, **values: object) -> str:
        return words.say(msgid, **values) if values else Markup(words.gettext(msgid))

    return say


def report_template(
    stocktake: StockTake, *, html: bool, words: Words = ENGLISH, **extra: Any
) -> tuple[Template, dict[str, Any]]:
    """The stock-take's template (HTML or Markdown) in `words`' language, and what it is rendered with."""
    said = wording(words)
    context = {
        "st": stocktake,
        "title": said.text(stocktake.title),
        "parts": outline(stocktake, said),
        "heading": heading_lines(stocktake, said),
        "date": document_date(stocktake, said),
        **extra,
    }
    name = "stocktake.html.j2" if html else "stocktake.md.j2"
    return environment(html=html, words=said).get_template(name), context


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
