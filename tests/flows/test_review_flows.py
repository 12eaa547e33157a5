"""Review in the flows: collect-replies publishes the queue size and announces each return once."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.support import LAUNCH_DAY, latest_artifact, launch, sent_messages, submit_answers
from workflows import bootstrap
from workflows.services import review

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("prefect_harness")]


def test_collect_replies_publishes_the_review_queue_and_sends_and_announces_a_return_once(
    catalogue: dict[str, int],
) -> None:
    from workflows import flows

    launch()
    day = LAUNCH_DAY + timedelta(days=5)
    submit_answers("Spring 2026", "IOM", [catalogue["SR1"], catalogue["A1.1"], catalogue["A1.2"]], day)
    clock = bootstrap.FixedClock(day)
    uow = bootstrap.uow()
    review.return_item(
        uow,
        bootstrap.notifier(uow, clock),
        clock,
        bootstrap.cycle_config(),
        "Spring 2026",
        "A1.1",
        "IOM",
        question="Which guidance?",
        by="secretariat",
    )

    first = flows.collect_replies("Spring 2026", today=day)
    second = flows.collect_replies("Spring 2026", today=day)

    assert (first["review_queue"], first["returned"]) == (2, ["IOM:A1.1"])
    assert (second["review_queue"], second["returned"]) == (2, [])
    summary = str(latest_artifact("collect-replies-summary").data)
    assert "Answers waiting for the secretariat's review: 2" in summary
    assert ("returned", "IOM") in sent_messages()
