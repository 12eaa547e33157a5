"""`followup publish`: the public record as a static site, with only what the secretariat accepted."""

from __future__ import annotations

import stat
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy.orm import sessionmaker

from db.engine import make_engine
from db.unit_of_work import SqlUnitOfWork
from domain.errors import ValidationError
from domain.review import accept
from tests.support import (
    DRAFT_ANSWER,
    NOT_ACCEPTED,
    OPEN_CYCLE_ANSWER,
    RECORD_CLOSED,
    RECORD_OPEN,
    RECORD_REPORT,
    build_public_record,
    run,
)
from workflows.bootstrap import FixedClock
from workflows.queries.public_record import public_record_of
from workflows.services.publish import MARKER, publish
from workflows.services.recommendations import close_item


def site_text(site: Path) -> str:
    """Every file of a published site, concatenated."""
    return "\n".join(p.read_text(encoding="utf-8") for p in sorted(site.rglob("*")) if p.is_file())


def tree(site: Path) -> dict[str, bytes]:
    return {str(p.relative_to(site)): p.read_bytes() for p in sorted(site.rglob("*")) if p.is_file()}


@pytest.fixture
def site(uow: SqlUnitOfWork, tmp_path: Path) -> Path:
    """The public record of the two-cycle data set, published to a folder of the test's own."""
    build_public_record(uow)
    publish(public_record_of(uow, date.today()), tmp_path / "public" / "site")
    return tmp_path / "public" / "site"


def test_only_answers_the_secretariat_accepted_in_closed_cycles_are_published(site: Path) -> None:
    published = site_text(site)
    assert "Joint strategy drafted." in published
    assert "Waiting for funds." in published
    for hidden in (
        NOT_ACCEPTED,
        OPEN_CYCLE_ANSWER,
        DRAFT_ANSWER,
        "Submitted in the open cycle.",
        RECORD_OPEN,
    ):
        assert hidden not in published


def test_a_recommendation_page_shows_its_text_owners_and_the_accepted_status_of_each_closed_cycle(
    site: Path,
) -> None:
    page = (site / "recommendations" / "ceb-2014-4-annex-v" / "a1-2.html").read_text()
    assert "Recommendation A1.2: do the thing." in page
    assert 'href="../../agencies/aaa.html">Agency AAA (AAA)</a>, lead' in page
    assert 'href="../../agencies/bbb.html">Agency BBB (BBB)</a>, contributor' in page
    assert f"<h3>{RECORD_CLOSED}</h3>" in page
    # The lead's answer was not accepted: as in the stock-take, a recommendation is reported by its
    # lead, whatever its contributors said (the contributor's accepted answer is shown, with its status).
    assert "Status: <strong>No accepted answer from its lead</strong>" in page
    assert "Agency BBB (BBB), contributor: Blocked" in page


def test_the_secretariats_assessment_is_the_status_shown_and_text_is_escaped(site: Path) -> None:
    page = (site / "recommendations" / "ceb-2014-4-annex-v" / "a1-1.html").read_text()
    assert "Latest status: <strong>In progress</strong>" in page
    assert "Toolkit launched &lt;in Geneva&gt; &amp; online." in page


def test_public_evidence_links_are_published_as_links(site: Path) -> None:
    page = (site / "recommendations" / "ceb-2014-4-annex-v" / "sr1.html").read_text()
    assert '<a href="https://example.org/strategy" rel="nofollow noopener">' in page


def test_every_recommendation_agenda_point_and_agency_has_a_page_and_the_index_counts_them(
    site: Path,
) -> None:
    pages = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
    assert pages == [
        "agencies/aaa.html",
        "agencies/bbb.html",
        "agenda/ceb-2014-4-annex-v/point-1.html",
        "agenda/ceb-2014-4-annex-v/point-2.html",
        "agenda/ceb-2014-4-annex-v/strategic.html",
        "index.html",
        "recommendations/ceb-2014-4-annex-v/a1-1.html",
        "recommendations/ceb-2014-4-annex-v/a1-2.html",
        "recommendations/ceb-2014-4-annex-v/a2-1.html",
        "recommendations/ceb-2014-4-annex-v/sr1.html",
    ]
    index = (site / "index.html").read_text()
    assert '<tr><th scope="row">Recommendations</th><td>4</td></tr>' in index
    assert '<tr><th scope="row">Closed stock-takes</th><td>1</td></tr>' in index
    assert '<tr><th scope="row">In progress</th><td>2</td></tr>' in index  # SR1, A1.1
    assert (
        '<tr><th scope="row">No accepted answer</th><td>2</td></tr>' in index
    )  # A1.2 (its lead's is not), A2.1


def test_the_index_says_its_stocktake_figures_count_answers_the_pages_may_not_show_yet(site: Path) -> None:
    index = " ".join((site / "index.html").read_text().split())
    assert "they count every answer an agency had submitted by then" in index
    assert "may still show no accepted answer" in index


def test_a_closed_recommendation_is_shown_closed_with_why_and_counted_apart_from_the_reported_statuses(
    uow: SqlUnitOfWork, tmp_path: Path
) -> None:
    build_public_record(uow)
    clock = FixedClock(date(2025, 11, 3))
    close_item(
        uow, clock, "A1.1", how="implemented", why="The toolkit is in use everywhere.", by="secretariat"
    )
    publish(public_record_of(uow, clock.today()), tmp_path / "site")
    site = tmp_path / "site"

    page = " ".join((site / "recommendations" / "ceb-2014-4-annex-v" / "a1-1.html").read_text().split())
    assert (
        "<strong>Closed as implemented</strong> on 3 November 2025 by the secretariat: the stock-takes no "
        "longer ask about it. Why: The toolkit is in use everywhere." in page
    )
    assert "Last reported status: <strong>In progress</strong>" in page  # what its lead said, kept
    index = (site / "index.html").read_text()
    # Before the close, 2 in progress (SR1, A1.1); the never reported come last, as before.
    assert (
        '<tr><th scope="row">In progress</th><td>1</td></tr>\n'
        '<tr><th scope="row">Closed as implemented</th><td>1</td></tr>\n'
        '<tr><th scope="row">No accepted answer</th><td>2</td></tr>\n'
    ) in index
    point = (site / "agenda" / "ceb-2014-4-annex-v" / "point-1.html").read_text()
    assert ">A1.1</a></th>" in point and "<td>Closed as implemented</td>" in point
    assert "<td>Closed as implemented</td>" in (site / "agencies" / "aaa.html").read_text()


def test_publishing_the_same_record_twice_writes_the_same_bytes(
    uow: SqlUnitOfWork, site: Path, tmp_path: Path
) -> None:
    publish(public_record_of(uow, date.today()), tmp_path / "again")
    assert tree(tmp_path / "again") == tree(site)


def test_a_publish_that_fails_midway_leaves_the_previous_site_and_no_debris(
    uow: SqlUnitOfWork, site: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree(site)
    written = 0
    real_write = Path.write_bytes

    def disk_full_after_two_files(path: Path, data: bytes) -> int:
        nonlocal written
        written += 1
        if written > 2:
            raise OSError(28, "No space left on device")
        return real_write(path, data)

    monkeypatch.setattr(Path, "write_bytes", disk_full_after_two_files)
    with pytest.raises(OSError, match="No space left"):
        publish(public_record_of(uow, date.today()), site)
    assert tree(site) == before
    assert [p.name for p in site.parent.iterdir()] == ["site"]


def test_a_folder_that_is_not_a_published_site_is_never_replaced(uow: SqlUnitOfWork, tmp_path: Path) -> None:
    mine = tmp_path / "documents"
    mine.mkdir()
    (mine / "thesis.txt").write_text("years of work")
    with pytest.raises(ValidationError, match="is not a site published by Follow-up"):
        publish(public_record_of(uow, date.today()), mine)
    assert (mine / "thesis.txt").read_text() == "years of work"


def test_publishing_again_replaces_the_site_with_what_was_accepted_since(
    uow: SqlUnitOfWork, site: Path
) -> None:
    assert (site / MARKER).exists()
    with uow:
        rec = uow.recommendations.get(RECORD_REPORT, "A1.2")
        closed = uow.cycles.require(RECORD_CLOSED)
        assert rec is not None and rec.id is not None and closed.id is not None
        update = uow.updates.get(closed.id, rec.id, "AAA")
        assert update is not None
        accept(update, label="A1.2", at=datetime(2025, 10, 1, tzinfo=UTC), by="secretariat")
        uow.commit()
    publish(public_record_of(uow, date.today()), site)
    assert NOT_ACCEPTED in site_text(site)
    assert [p.name for p in site.parent.iterdir()] == ["site"]


def test_followup_publish_prints_one_line_naming_the_index_of_a_site_the_web_server_can_read(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    build_public_record(SqlUnitOfWork(sessionmaker(bind=engine, expire_on_commit=False)))
    engine.dispose()
    output = run(database_url, "publish", "--out", str(tmp_path / "out"))
    lines = output.splitlines()
    assert lines[0].startswith("Published 10 pages (4 recommendations, 1 closed stock-takes) to ")
    assert lines[0].endswith("index.html")
    assert (tmp_path / "out" / "index.html").exists()
    assert "prefect imported: False" in output
    # Follow-up writes owner-only; a web server serving the site runs as another user.
    site = tmp_path / "out"
    modes = {str(p.relative_to(site)): stat.S_IMODE(p.stat().st_mode) for p in [site, *site.rglob("*")]}
    assert len(modes) > 10
    assert {
        name: mode for name, mode in modes.items() if mode != (0o755 if (site / name).is_dir() else 0o644)
    } == {}
