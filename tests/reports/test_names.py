"""The report names agencies as people do ("the World Bank"), in running text; codes only in code columns."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from reporting.markdown import render_markdown
from tests.reports.demo_like import demo_like_stocktake

REGISTRY = Path(__file__).resolve().parents[2] / "db" / "seed" / "agencies.yaml"


def _codes_unlike_their_names() -> set[str]:
    """Registry codes that are not what running text calls the body (WORLD-BANK, NGO-CM, UN-WOMEN...)."""
    agencies = yaml.safe_load(REGISTRY.read_text(encoding="utf-8"))["agencies"]
    return {a["code"] for a in agencies if a["code"] != (a.get("short_name") or a["name"])}


def test_the_reports_running_text_names_every_agency_and_never_shows_a_code() -> None:
    markdown = render_markdown(demo_like_stocktake())
    running = "\n".join(line for line in markdown.splitlines() if not line.startswith("|"))
    codes = _codes_unlike_their_names()
    assert {"WORLD-BANK", "NGO-CM", "UN-WOMEN"} <= codes
    shown = {code for code in codes if re.search(rf"(?<![\w-]){re.escape(code)}(?![\w-])", running)}
    assert shown == set()
    assert "**The CEB" in running  # a name with its article, at the start of a sentence
