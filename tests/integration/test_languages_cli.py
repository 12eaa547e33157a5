"""`followup agencies set-language`, `set-contact --lang`, `import --translation-of`, as a user runs them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import select

from db import tables
from tests.support import CliRun, followup_in_process, said
from workflows import bootstrap

SEED = Path(__file__).resolve().parents[2] / "db" / "seed"
SAMPLE = SEED / "CEB-2014-4-Annex-V.md"
FRENCH = SEED / "CEB-2014-4-Annex-V.fr.md"
REPORT = "CEB/2014/4 Annex V"


@pytest.fixture
def followup(database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[CliRun]:
    """Run `followup ...` in-process against this test's own database (registry loaded)."""
    yield from followup_in_process(database_url, tmp_path / "home", monkeypatch)


def _translations() -> dict[str, dict[str, str]]:
    r = tables.recommendations
    with bootstrap.uow() as uow:
        rows = uow.session.execute(select(r.c.code, r.c.translations).where(r.c.source == REPORT))
        return {code: translations for code, translations in rows if translations}


def test_the_secretariat_sets_an_agencys_language_and_a_contacts_own(followup: CliRun) -> None:
    assert followup("agencies", "set-language", "UNHCR", "fr").exit_code == 0
    contact = followup(
        "agencies", "set-contact", "UNHCR", "--email", "head.office@unhcr.example.org",
        "--role", "head_of_office", "--lang", "en",
    )  # fmt: skip
    listed = said(followup("agencies", "list").output)

    assert contact.exit_code == 0, contact.output
    assert "UNHCR" in listed and "fr" in listed and "head.office@unhcr.example.org (en)" in listed
    with bootstrap.uow() as uow:
        unhcr = uow.agencies.require("UNHCR")
        assert (unhcr.reply_language, unhcr.escalation_language) == ("fr", "en")


def test_an_unknown_language_is_refused_naming_the_languages_and_nothing_changes(followup: CliRun) -> None:
    refused = followup("agencies", "set-language", "UNHCR", "de")
    contact = followup("agencies", "set-contact", "UNHCR", "--email", "x@unhcr.example.org", "--lang", "pt")

    assert (refused.exit_code, contact.exit_code) == (1, 1)
    assert "'de' is not a language Follow-up writes in: choose en (English), fr (French) or es" in said(
        refused.output
    )
    with bootstrap.uow() as uow:
        unhcr = uow.agencies.require("UNHCR")
        assert unhcr.language == "en"
        assert "x@unhcr.example.org" not in [c.email for c in unhcr.contacts]


def test_a_french_translation_of_the_report_gives_its_items_their_french_text_by_code(
    followup: CliRun,
) -> None:
    assert followup("import", str(SAMPLE)).exit_code == 0

    result = followup("import", str(FRENCH), "--translation-of", REPORT, "--lang", "fr")

    assert result.exit_code == 0, result.output
    assert "19 of 85 recommendations have a translation" in said(result.output)
    stored = _translations()
    strategic = ["SR1", "SR1.i", "SR1.ii", "SR1.ii.a", "SR1.ii.b", "SR1.iii"]
    annex = ["A1.1", *(f"A1.1.{n}" for n in range(1, 7)), *(f"A1.{n}" for n in range(2, 8))]
    assert sorted(stored) == sorted(strategic + annex)
    assert stored["A1.5"]["fr"].startswith("Promouvoir auprès des États l'abolition")


def test_a_translation_with_a_code_the_report_lacks_is_refused_whole(
    followup: CliRun, tmp_path: Path
) -> None:
    assert followup("import", str(SAMPLE)).exit_code == 0
    extra = tmp_path / "traduction.md"
    extra.write_text(
        FRENCH.read_text(encoding="utf-8")
        + "\nRecommandation 9 : Une recommandation que l'original n'a pas\n",
        encoding="utf-8",
    )

    refused = followup("import", str(extra), "--translation-of", REPORT, "--lang", "fr")
    no_report = followup("import", str(FRENCH), "--translation-of", "CEB/2099/1", "--lang", "fr")
    no_language = followup("import", str(FRENCH), "--translation-of", REPORT, "--lang", "it")

    assert (refused.exit_code, no_report.exit_code, no_language.exit_code) == (1, 1, 1)
    assert "traduction.md: 1 items are not in CEB/2014/4 Annex V: SR9; nothing was stored" in said(
        refused.output
    )
    assert "no report 'CEB/2099/1' is imported" in said(no_report.output)
    assert "'it' is not a language" in said(no_language.output)
    assert _translations() == {}
