"""Deployments of the cycle flows with their schedules: served by `followup serve`, or on a work pool.

`followup serve` names its deployments after their schedule (`daily`, `scheduled`, `on-demand`) and
runs them itself. `followup deploy --pool NAME` names each flow's deployment after the pool, so both
sets coexist: deploying to a pool never overwrites what `followup serve` registered.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from workflows import prefect_env  # noqa: F401  (sets Prefect's defaults before Prefect is imported)

# isort: split
from prefect import serve
from prefect.schedules import Cron, Schedule

from domain.errors import ValidationError
from workflows import flows

TAG = "followup"
# Deployment names `followup serve` uses; a pool of that name would collide with them.
SERVED_NAMES = frozenset({"daily", "scheduled", "on-demand"})


@dataclass(frozen=True)
class Planned:
    """One flow's deployment before it is named: schedule (or none), parameters, name under `serve`."""

    flow: Any
    served_as: str
    schedule: Schedule | None
    parameters: dict[str, Any]


def _planned(*, launch_cron: str | None, deadline_days: int, followup_cron: str) -> list[Planned]:
    if deadline_days < 1:
        raise ValidationError("--deadline-days", "must be at least 1")
    daily = _cron("--followup-cron", followup_cron)
    launch = _cron("--launch-cron", launch_cron) if launch_cron else None
    return [
        Planned(flows.daily_follow_up, "daily", daily, {}),
        Planned(flows.collect_replies, "on-demand", None, {}),
        Planned(flows.close_stocktake_cycle, "on-demand", None, {}),
        Planned(
            flows.launch_stocktake_cycle,
            "scheduled" if launch else "on-demand",
            launch,
            {"deadline_days": deadline_days},
        ),
    ]


def deployments(*, launch_cron: str | None, deadline_days: int, followup_cron: str) -> list[Any]:
    """The deployments to serve: the daily follow-up, and the cycle launch when a cron is given."""
    return [
        plan.flow.to_deployment(
            name=plan.served_as, schedule=plan.schedule, parameters=plan.parameters, tags=[TAG]
        )
        for plan in _planned(
            launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron
        )
    ]


def pool_deployments(
    *, pool: str, launch_cron: str | None, deadline_days: int, followup_cron: str
) -> list[Any]:
    """The four deployments for a work pool, each named after the pool.

    The entrypoint is the module path (`workflows.flows.daily_follow_up`) and there is no pull step:
    a worker imports the flows from the installed package, wherever the checkout that deployed them is.
    """
    from prefect.types.entrypoint import EntrypointType

    if pool in SERVED_NAMES:
        raise ValidationError(
            "--pool", f"'{pool}' is a deployment name of `followup serve`; name the pool otherwise"
        )
    return [
        plan.flow.to_deployment(
            name=pool,
            schedule=plan.schedule,
            parameters=plan.parameters,
            tags=[TAG],
            work_pool_name=pool,
            entrypoint_type=EntrypointType.MODULE_PATH,
        )
        for plan in _planned(
            launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron
        )
    ]


@dataclass(frozen=True)
class Deployed:
    """A deployment as `followup deploy` left it: its full name, schedule, and whether it is new."""

    name: str
    schedule: str
    created: bool


def deploy_to_pool(
    *, pool: str, launch_cron: str | None, deadline_days: int, followup_cron: str
) -> list[Deployed]:
    """Create or update the four deployments on an existing work pool (re-running updates them)."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    planned = pool_deployments(
        pool=pool, launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron
    )
    with get_client(sync_client=True) as client:
        try:
            client.read_work_pool(pool)
        except ObjectNotFound:
            raise ValidationError(
                "--pool",
                f"no work pool '{pool}' on {str(client.api_url).rstrip('/')}: create it with "
                f"`prefect work-pool create {pool} --type process`",
            ) from None
        existing = set()
        for deployment in planned:
            try:
                client.read_deployment_by_name(deployment.full_name)
                existing.add(deployment.full_name)
            except ObjectNotFound:
                pass
    done = []
    for deployment in planned:
        deployment.apply(work_pool_name=pool)
        crons = [schedule.schedule.cron for schedule in deployment.schedules]
        done.append(
            Deployed(
                name=deployment.full_name,
                schedule=", ".join(f"cron {cron} UTC" for cron in crons) or "on demand",
                created=deployment.full_name not in existing,
            )
        )
    return done


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
