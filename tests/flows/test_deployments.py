"""Deployments: `followup serve`'s, and `followup deploy`'s on a work pool (the same as prefect.yaml's)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from domain.errors import ValidationError

ROOT = Path(__file__).resolve().parents[2]


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


def test_pool_deployments_are_named_after_the_pool_and_load_the_flows_from_the_installed_package() -> None:
    from workflows.deployments import deployments, pool_deployments

    pooled = pool_deployments(pool="followup", launch_cron=None, deadline_days=28, followup_cron="0 7 * * *")
    assert {(d.flow_name, d.name, d.work_pool_name) for d in pooled} == {
        ("daily-follow-up", "followup", "followup"),
        ("collect-replies", "followup", "followup"),
        ("close-stocktake-cycle", "followup", "followup"),
        ("launch-stocktake-cycle", "followup", "followup"),
    }
    # A module path, not a file path relative to this checkout: no worker needs the checkout.
    assert {d.entrypoint for d in pooled} == {
        "workflows.flows.daily_follow_up",
        "workflows.flows.collect_replies",
        "workflows.flows.close_stocktake_cycle",
        "workflows.flows.launch_stocktake_cycle",
    }
    assert all(d.storage is None and d._path is None for d in pooled)
    served = deployments(launch_cron=None, deadline_days=28, followup_cron="0 7 * * *")
    assert not {d.full_name for d in pooled} & {d.full_name for d in served}


def test_a_pool_named_like_a_served_deployment_is_refused() -> None:
    from workflows.deployments import pool_deployments

    with pytest.raises(ValidationError, match="--pool: 'daily' is a deployment name of `followup serve`"):
        pool_deployments(pool="daily", launch_cron=None, deadline_days=28, followup_cron="0 7 * * *")


def test_prefect_yaml_declares_the_deployments_followup_deploy_creates_on_the_followup_pool() -> None:
    from workflows.deployments import pool_deployments

    project = yaml.safe_load((ROOT / "prefect.yaml").read_text())
    assert project["pull"] == []  # an explicit empty list: `prefect deploy` adds no checkout path
    declared = {
        (d["entrypoint"], d["name"], d["work_pool"]["name"]): (
            [(s["cron"], s["timezone"]) for s in d.get("schedules", [])],
            d.get("parameters", {}),
            d["tags"],
        )
        for d in project["deployments"]
    }
    pooled = pool_deployments(pool="followup", launch_cron=None, deadline_days=28, followup_cron="0 7 * * *")
    assert declared == {
        (d.entrypoint, d.name, d.work_pool_name): (
            [(s.schedule.cron, s.schedule.timezone) for s in d.schedules],
            d.parameters,
            d.tags,
        )
        for d in pooled
    }


def test_the_docker_image_copies_every_package_and_compose_runs_a_worker_on_the_deployed_pool() -> None:
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    copied = {
        line.split()[1] for line in (ROOT / "Dockerfile").read_text().splitlines() if line.startswith("COPY")
    }
    assert {pattern.rstrip("*") for pattern in packages["include"]} <= copied
    services = yaml.safe_load((ROOT / "compose.yaml").read_text())["services"]
    assert services["worker"]["command"] == "prefect worker start --pool followup"
    assert "followup deploy --pool followup" in services["setup"]["command"]
