"""Two browser tabs of one agency saving the same item at the same moment."""

from __future__ import annotations

import threading
from typing import Any

from domain.answers import RawAnswer
from tests.support import GRACE, Scenario
from workflows import bootstrap
from workflows.services import replies


def save_in(uow: Any, site: Scenario, answer: RawAnswer) -> replies.SaveResult:
    """Save one answer through the reply service in `uow`, as the portal does."""
    notifier = bootstrap.notifier(uow, site.clock)
    return replies.save_reply(
        uow, notifier, site.clock, site.config, site.tokens["AAA"], [answer], submit=False, grace_days=GRACE
    )


def test_two_first_saves_of_one_item_at_once_give_one_save_and_one_conflict(site: Scenario) -> None:
    first, second = bootstrap.uow(), bootstrap.uow()
    holding, release = threading.Event(), threading.Event()
    commit = first.commit

    def commit_once_the_other_has_started() -> None:
        first.session.flush()  # the first tab's row is written, not yet committed
        holding.set()
        release.wait(10)
        commit()

    first.commit = commit_once_the_other_has_started  # type: ignore[method-assign]
    outcomes: dict[str, Any] = {}

    def run(name: str, uow: Any, narrative: str) -> None:
        try:
            outcomes[name] = save_in(
                uow, site, RawAnswer(site.ids["A1.1"], "in_progress", narrative, loaded_version=0)
            )
        except Exception as exc:  # the assertions below say which tab failed, and how
            outcomes[name] = exc

    tab_one = threading.Thread(target=run, args=("one", first, "Typed in the first tab."))
    tab_one.start()
    assert holding.wait(10), outcomes
    tab_two = threading.Thread(target=run, args=("two", second, "Typed in the second tab."))
    tab_two.start()
    tab_two.join(timeout=1)
    release.set()
    tab_one.join(timeout=30)
    tab_two.join(timeout=30)

    assert isinstance(outcomes["one"], replies.SaveResult) and outcomes["one"].saved == ("A1.1",)
    assert isinstance(outcomes["two"], replies.SaveResult), outcomes["two"]
    assert [c.code for c in outcomes["two"].conflicts] == ["A1.1"] and outcomes["two"].saved == ()
    stored = site.update("A1.1")
    assert stored is not None and (stored.narrative, stored.version) == ("Typed in the first tab.", 1)
