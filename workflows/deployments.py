"""Deployments of the cycle flows with their schedules, served by `followup serve`."""

from __future__ import annotations

from typing import Any

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect import serve
from prefect.schedules import Cron, Schedule

from domain.errors import ValidationError
from workflows import flows


def deployments(*, launch_cron: str | None, deadline_days: int, followup_cron: str) -> list[Any]:
    """The deployments to serve: the daily follow-up, and the cycle launch when a cron is given."""
    if deadline_days < 1:
        raise ValidationError("--deadline-days", "must be at least 1")
    served = [
        flows.daily_follow_up.to_deployment(
            name="daily", schedule=_cron("--followup-cron", followup_cron), tags=["followup"]
        ),
        flows.collect_replies.to_deployment(name="on-demand", tags=["followup"]),
        flows.close_stocktake_cycle.to_deployment(name="on-demand", tags=["followup"]),
    ]
    launch = flows.launch_stocktake_cycle.to_deployment(
        name="scheduled" if launch_cron else "on-demand",
        schedule=_cron("--launch-cron", launch_cron) if launch_cron else None,
        parameters={"deadline_days": deadline_days},
        tags=["followup"],
    )
    return [*served, launch]


def _cron(option: str, expression: str) -> Schedule:
    problem = ValidationError(option, f"'{expression}' is not a cron expression (m h dom mon dow)")
    if len(expression.split()) != 5:
        raise problem
    try:
        return Cron(expression, timezone="UTC")
    except ValueError as exc:
        raise problem from exc


def serve_deployments(*, launch_cron: str | None, deadline_days: int, followup_cron: str) -> None:
    """Register the deployments and run them on their schedules until interrupted."""
    serve(*deployments(launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron))
