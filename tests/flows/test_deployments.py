"""`followup serve` deployments: the daily follow-up on its cron, the launch on the secretariat's."""

from __future__ import annotations

import pytest

from domain.errors import ValidationError


def test_the_launch_is_scheduled_only_when_the_secretariat_gives_a_cron() -> None:
    from workflows.deployments import deployments

    served = {
        d.name: d for d in deployments(launch_cron="0 8 1 2,8 *", deadline_days=28, followup_cron="0 7 * * *")
    }
    assert set(served) == {"daily", "scheduled", "on-demand"}
    assert [s.schedule.cron for s in served["daily"].schedules] == ["0 7 * * *"]
    assert [s.schedule.cron for s in served["scheduled"].schedules] == ["0 8 1 2,8 *"]
    assert served["scheduled"].parameters == {"deadline_days": 28}
    unscheduled = deployments(launch_cron=None, deadline_days=28, followup_cron="0 7 * * *")
    assert [d.name for d in unscheduled if not d.schedules] == ["on-demand", "on-demand", "on-demand"]


def test_a_malformed_cron_is_refused_naming_the_option() -> None:
    from workflows.deployments import deployments

    with pytest.raises(ValidationError, match="--launch-cron: '0 8 1' is not a cron expression"):
        deployments(launch_cron="0 8 1", deadline_days=28, followup_cron="0 7 * * *")
