"""The review commands as the secretariat types them; none of them imports Prefect."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.support import CYCLE, Scenario, all_items, run, save
from workflows.cli import app

pytestmark = pytest.mark.parametrize("backend", ["sqlite"])  # both backends: the service tests


def followup(*args: str, code: int = 0) -> str:
    result = CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == code, result.output
    return result.output


def test_list_shows_the_queue_and_the_counts(site: Scenario) -> None:
    save(site, all_items(site), submit=True)

    shown = followup("review", "list", CYCLE, "--agency", "AAA")

    assert "A1.1" in shown and "Completed" in shown and "Meeting held in February." in shown
    assert "Items: 0 draft, 3 submitted, 0 returned, 0 accepted, 0 not answered." in shown


def test_accept_with_an_assessment_return_and_accept_all_then_the_thread(site: Scenario) -> None:
    save(site, all_items(site), submit=True)

    assessed = followup(
        "review",
        "accept",
        CYCLE,
        "A1.1",
        "--agency",
        "AAA",
        "--assess",
        "in_progress",
        "--why",
        "One meeting.",
    )
    returned = followup(
        "review",
        "return",
        CYCLE,
        "A1.2",
        "--agency",
        "AAA",
        "--question",
        "Started where?",
        "--today",
        "2026-03-12",
    )
    rest = followup("review", "accept-all", CYCLE, "--agency", "AAA")
    thread = followup("review", "thread", CYCLE, "--agency", "AAA")

    assert "Accepted A1.1 (AAA): reported Completed, assessed In progress (disagreement)." in assessed
    assert "Returned A1.2 to AAA" in returned
    assert "Accepted 1 answer(s) of AAA: A2.1." in rest
    assert thread.index("answered") < thread.index("2026-03-12 09:00") < thread.index("Started where?")
    assert "assessed In progress (agency: Completed): One meeting." in thread
    assert site.update("A1.2").state == "returned"  # type: ignore[union-attr]


def test_rollup_shows_the_parts(site: Scenario) -> None:
    save(site, all_items(site), submit=True)

    shown = followup("review", "rollup", CYCLE, "A1.2")

    assert "A1.2: In progress" in shown
    assert "AAA (lead): In progress (submitted)" in shown and "BBB (contributor): no answer" in shown


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["review", "accept", CYCLE, "A1.1", "--agency", "AAA"], "A1.1 (AAA) cannot be reviewed"),
        (["review", "accept", "Nope", "A1.1", "--agency", "AAA"], "Nope"),
        (
            ["review", "return", CYCLE, "ZZ1", "--agency", "AAA", "--question", "?"],
            "'ZZ1' is not one of AAA's",
        ),
        (["review", "accept-all", CYCLE, "--agency", "ZZZ"], "no status request for agency 'ZZZ'"),
        (["review", "list", CYCLE, "--agency", "ZZZ"], "no status request for agency 'ZZZ'"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_status_1(site: Scenario, args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, args, env={"COLUMNS": "200"})

    assert result.exit_code == 1
    assert message in result.output and "Traceback" not in result.output


def test_an_unknown_status_to_assess_is_refused_before_anything_is_stored(site: Scenario) -> None:
    save(site, all_items(site), submit=True)

    result = CliRunner().invoke(
        app, ["review", "accept", CYCLE, "A1.1", "--agency", "AAA", "--assess", "finished", "--why", "x"]
    )

    assert result.exit_code == 1 and "'finished' is not a status" in result.output
    assert site.update("A1.1").state == "submitted"  # type: ignore[union-attr]


def test_review_commands_never_import_prefect(site: Scenario, database_url: str) -> None:
    save(site, all_items(site), submit=True)

    listed = run(database_url, "review", "list", CYCLE)
    accepted = run(database_url, "review", "accept-all", CYCLE, "--agency", "AAA")
    thread = run(database_url, "review", "thread", CYCLE, "--agency", "AAA")

    for output in (listed, accepted, thread):
        assert "exit 0" in output and "prefect imported: False" in output
    assert "Accepted 3 answer(s) of AAA" in accepted
