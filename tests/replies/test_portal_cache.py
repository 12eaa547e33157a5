"""The reply page cache: a cached page changes after every kind of write, and unchanged pages cost a 304."""

from __future__ import annotations

import gzip
import os
import shutil
import threading
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.answers import RawAnswer
from domain.lifecycle import MilestoneState, Transition
from portal.app import create_app
from portal.page_cache import PRUNE_EVERY, PageCache
from tests.support import (
    CYCLE,
    DEADLINE,
    TODAY,
    Scenario,
    all_items,
    bbb_saves_a_draft,
    move_to_agenda_point,
    save,
    send_back,
)
from workflows import bootstrap
from workflows.services import replies, review


class Calendar:
    """A clock whose day the test turns, as the real one does at midnight."""

    def __init__(self, today: date) -> None:
        self.day = today

    def now(self) -> datetime:
        return datetime(self.day.year, self.day.month, self.day.day, 9, 0, tzinfo=UTC)

    def today(self) -> date:
        return self.day


@pytest.fixture
def calendar() -> Calendar:
    return Calendar(TODAY)


@pytest.fixture
def client(site: Scenario, calendar: Calendar) -> Iterator[TestClient]:
    with TestClient(create_app(clock=calendar)) as test_client:
        yield test_client


def page_of(client: TestClient, site: Scenario, agency: str = "AAA") -> str:
    page = client.get(f"/r/{site.tokens[agency]}")
    assert page.status_code == 200
    return page.text


def test_an_unchanged_page_comes_from_the_cache_gzipped_with_an_etag_and_a_304_on_revalidation(
    site: Scenario, client: TestClient
) -> None:
    path = f"/r/{site.tokens['AAA']}"
    first, second = client.get(path), client.get(path)
    plain = client.get(path, headers={"Accept-Encoding": "identity"})
    again = client.get(path, headers={"If-None-Match": first.headers["etag"]})

    assert first.headers["etag"] == second.headers["etag"] and first.text == second.text == plain.text
    assert second.headers["content-encoding"] == "gzip" and "content-encoding" not in plain.headers
    assert again.status_code == 304 and again.content == b""
    for response in (second, again):
        assert response.headers["cache-control"].startswith("no-store")
        assert f"Path={path}" in response.headers["set-cookie"]  # the form still gets its CSRF cookie
        assert response.headers["x-frame-options"] == "DENY"


def test_a_cached_page_shows_a_draft_and_then_a_submission_made_elsewhere(
    site: Scenario, client: TestClient
) -> None:
    before = page_of(client, site)
    etag = client.get(f"/r/{site.tokens['AAA']}").headers["etag"]

    save(site, all_items(site), submit=False)  # e.g. a colleague, in another browser
    drafted = page_of(client, site)
    save(site, [RawAnswer(site.ids["A1.1"], "completed", "Held twice.", loaded_version=1)], submit=True)
    submitted = page_of(client, site)
    stale = client.get(f"/r/{site.tokens['AAA']}", headers={"If-None-Match": etag})

    assert "Meeting held in February." not in before
    assert "Meeting held in February." in drafted and "Your reply was submitted" not in drafted
    assert "Held twice." in submitted and "Your reply was submitted" in submitted
    assert stale.status_code == 200 and "Held twice." in stale.text


def test_a_cached_page_shows_the_secretariats_question_and_then_its_acceptance(
    site: Scenario, client: TestClient
) -> None:
    save(site, all_items(site), submit=True)
    before = page_of(client, site)

    send_back(site, "A1.2", "Started where exactly?")
    returned = page_of(client, site)
    review.accept(site.uow, site.clock, CYCLE, "A1.1", "AAA", by="secretariat")
    accepted = page_of(client, site)

    assert "Started where exactly?" not in before and "accepted this answer" not in before
    assert "Started where exactly?" in returned
    assert "The secretariat has accepted this answer." in accepted


def test_a_reissued_or_revoked_link_is_refused_even_after_its_page_was_cached(
    site: Scenario, client: TestClient
) -> None:
    page_of(client, site)
    page_of(client, site, "BBB")
    link = replies.reissue_link(
        site.uow, site.notifier(site.uow), site.clock, site.config, CYCLE, "AAA", "secretariat"
    )
    with site.uow:
        bbb = site.uow.requests.get(site.cycle_id, "BBB")
        assert bbb is not None
        bbb.revoke(at=site.clock.now(), by="secretariat")
        site.uow.commit()

    assert client.get(f"/r/{site.tokens['AAA']}").status_code == 404
    assert client.get(f"/r/{site.tokens['BBB']}").status_code == 404
    assert client.get(link.replace("http://testserver", "")).status_code == 200


def test_a_cached_page_follows_the_milestones_and_the_date(
    site: Scenario, client: TestClient, calendar: Calendar
) -> None:
    overdue = page_of(client, site)
    with site.uow:
        (milestone,) = site.uow.milestones.for_recommendation(site.ids["A1.1"])
        milestone.transition(MilestoneState.DONE, at=site.clock.now(), by="AAA")
        site.uow.commit()
    done = page_of(client, site)
    save(site, all_items(site), submit=True)
    answered = page_of(client, site)
    calendar.day = DEADLINE + timedelta(days=1)
    late = page_of(client, site)

    assert 'class="overdue"' in overdue
    assert "(done)" in done and 'class="overdue"' not in done
    assert "The deadline has passed" not in answered and "The deadline has passed" in late


def test_a_page_rendered_by_one_process_is_served_by_another_and_only_under_its_stamp(tmp_path: Path) -> None:
    first, second = PageCache(10_000_000, tmp_path), PageCache(10_000_000, tmp_path)
    stored = first.put(("hash-a", ""), ("2026-03-10", 7), b"<p>version 7</p>" * 100)

    shared = second.get(("hash-a", ""), ("2026-03-10", 7))
    newer = second.get(("hash-a", ""), ("2026-03-10", 8))
    second.put(("hash-a", ""), ("2026-03-10", 8), b"<p>version 8</p>" * 100)

    assert shared is not None and shared.body == stored.body and shared.etag == stored.etag
    assert newer is None
    assert first.get(("hash-a", ""), ("2026-03-10", 7)) is not None  # still in its own memory
    assert PageCache(10_000_000, tmp_path).get(("hash-a", ""), ("2026-03-10", 8)) is not None


def test_older_versions_of_a_shared_page_are_dropped_within_a_few_writes(tmp_path: Path) -> None:
    other, pages = PageCache(10_000_000, tmp_path), PageCache(10_000_000, tmp_path)
    other.put(("hash-a", ""), (7,), b"<p>version 7</p>")
    for old in tmp_path.iterdir():
        os.utime(old, (1_000_000_000, 1_000_000_000))  # written long before the next version
    pages.put(("hash-a", ""), (8,), b"<p>version 8</p>")
    for n in range(PRUNE_EVERY - 1):  # the directory is listed once every so many writes, not at each
        pages.put((f"hash-{n}", ""), (1,), b"<p>another page</p>")

    fresh = PageCache(10_000_000, tmp_path)
    assert fresh.get(("hash-a", ""), (7,)) is None and fresh.get(("hash-a", ""), (8,)) is not None
    assert len(list(tmp_path.iterdir())) == PRUNE_EVERY


def test_the_shared_pages_stay_within_the_byte_budget_oldest_dropped_first(tmp_path: Path) -> None:
    pages = PageCache(2_000, tmp_path)
    for n in range(10):
        pages.put((f"hash-{n}", ""), (n,), os.urandom(1_000))  # incompressible: about 1 KB a page

    assert sum(f.stat().st_size for f in tmp_path.iterdir()) <= 2_000
    assert PageCache(2_000, tmp_path).get(("hash-9", ""), (9,)) is not None
    assert PageCache(2_000, tmp_path).get(("hash-0", ""), (0,)) is None


def test_the_pages_kept_on_disk_never_hold_the_reply_token(site: Scenario, client: TestClient) -> None:
    from portal.app import page_cache_dir
    from workflows.settings import get_settings

    token = site.tokens["AAA"]
    assert token not in page_of(client, site)  # the form posts back to its own URL
    kept = list(page_cache_dir(get_settings()).iterdir())
    assert kept, "the page was not cached"
    assert all(token.encode() not in gzip.decompress(path.read_bytes()) for path in kept)


def test_another_agencys_answers_leave_a_cached_page_as_it_was(site: Scenario, client: TestClient) -> None:
    path = f"/r/{site.tokens['AAA']}"
    before = client.get(path).headers["etag"]
    bbb_saves_a_draft(site)

    again = client.get(path, headers={"If-None-Match": before})

    assert again.status_code == 304


def test_a_cached_page_follows_a_re_import_that_only_moves_an_item(
    site: Scenario, client: TestClient
) -> None:
    before = page_of(client, site)
    move_to_agenda_point(site, "A1.2", 7)

    after = page_of(client, site)

    assert "Agenda point 7: Moved on re-import" not in before
    assert "Agenda point 7: Moved on re-import" in after


def test_a_shared_change_committed_while_another_waits_is_never_missed(
    site: Scenario, client: TestClient, database_url: str
) -> None:
    # A marks a milestone done and writes its history, but has not committed yet.
    first = bootstrap.uow(database_url)
    with first:
        (milestone,) = first.milestones.for_recommendation(site.ids["A1.1"])
        milestone.transition(MilestoneState.DONE, at=site.clock.now(), by="AAA")
        first.session.flush()
        first.history.append(first.collect_events())
        # B, another shared change, tries to commit meanwhile: it has to wait for A's count.
        failures: list[BaseException] = []
        second = threading.Thread(target=announce_something, args=(site, failures))
        second.start()
        second.join(timeout=1)
        b_waited = second.is_alive()
        during = page_of(client, site)
        first.session.commit()
    second.join(timeout=30)
    after = page_of(client, site)

    assert b_waited and "(done)" not in during
    assert not second.is_alive() and failures == []
    assert "(done)" in after


def announce_something(site: Scenario, failures: list[BaseException]) -> None:
    """A shared history entry of its own, as the follow-up's announcement of returned answers makes."""
    try:
        uow = bootstrap.uow()
        with uow:
            uow.record(Transition("cycle", CYCLE, "open", "open", site.clock.now(), "follow-up", "announced"))
            uow.commit()
    except BaseException as exc:  # the test thread asserts there was none
        failures.append(exc)


def test_a_page_that_cannot_be_shared_is_still_served_from_memory(tmp_path: Path) -> None:
    pages = PageCache(10_000_000, tmp_path / "pages")
    shutil.rmtree(tmp_path / "pages")  # e.g. a newer portal emptied it

    stored = pages.put(("hash-a", 1, ""), ("2026-03-10", 7), b"<p>version 7</p>")

    assert pages.get(("hash-a", 1, ""), ("2026-03-10", 7)) == stored


def test_a_full_page_directory_is_listed_every_so_often_not_at_every_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listings: list[str] = []
    scandir = os.scandir

    def counted(path: str | os.PathLike[str]) -> Any:
        listings.append(str(path))
        return scandir(path)

    monkeypatch.setattr(os, "scandir", counted)
    pages = PageCache(200_000, tmp_path)
    for n in range(2_000):
        pages.put((f"hash-{n}", ""), (1,), os.urandom(1_000))  # ten times what the budget holds

    assert sum(f.stat().st_size for f in tmp_path.iterdir()) <= 200_000
    assert len(listings) < 100


def test_a_page_that_could_not_be_written_whole_leaves_no_file_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def disk_full(_source: object, _target: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", disk_full)
    pages = PageCache(10_000_000, tmp_path)

    stored = pages.put(("hash-a", ""), (7,), b"<p>version 7</p>")

    assert pages.get(("hash-a", ""), (7,)) == stored
    assert list(tmp_path.iterdir()) == []
