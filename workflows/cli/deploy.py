"""Operations on a Prefect server: `followup deploy` to a work pool, `followup automations install`."""

from __future__ import annotations

import typer

from domain.errors import ValidationError
from workflows.cli.base import app, console, sub_app, user_errors

# Shared with `followup serve`: the same schedules, whether served here or run by workers.
LAUNCH_CRON_OPTION = typer.Option(
    None, "--launch-cron", help="When to launch a cycle, as cron (e.g. '0 8 1 2,8 *'); none by default."
)
DEADLINE_DAYS_OPTION = typer.Option(
    28, "--deadline-days", help="Reply deadline of a scheduled launch, in days."
)
FOLLOWUP_CRON_OPTION = typer.Option(
    "0 7 * * *", "--followup-cron", help="When the daily follow-up runs (cron)."
)

automations_app = sub_app("automations", "Prefect automations that alert the secretariat.")


def _require_prefect_server(command: str) -> str:
    """The configured Prefect API URL; a temporary server would forget what `command` registers."""
    from workflows import prefect_env  # noqa: F401  (Prefect's defaults first)

    # isort: split
    from prefect.settings import get_current_settings

    url = get_current_settings().api.url
    if not url:
        raise ValidationError(
            "PREFECT_API_URL",
            f"not set: `followup {command}` registers on a Prefect server (`make server`, then "
            "export PREFECT_API_URL=http://127.0.0.1:4200/api)",
        )
    return url


@app.command("deploy")
def deploy(
    pool: str = typer.Option(..., "--pool", help="The work pool whose workers run the flows."),
    launch_cron: str | None = LAUNCH_CRON_OPTION,
    deadline_days: int = DEADLINE_DAYS_OPTION,
    followup_cron: str = FOLLOWUP_CRON_OPTION,
) -> None:
    """Create or update the four flows' deployments on a work pool (named after it; safe to re-run)."""
    from workflows.cli.plain_table import PlainTable

    with user_errors():
        url = _require_prefect_server("deploy")
        from workflows.deployments import deploy_to_pool

        done = deploy_to_pool(
            pool=pool, launch_cron=launch_cron, deadline_days=deadline_days, followup_cron=followup_cron
        )
    table = PlainTable("deployment", "schedule", "", title=f"Deployments on work pool '{pool}' ({url})")
    for line in done:
        table.add_row(line.name, line.schedule, "created" if line.created else "updated")
    console.print(table)
    console.print(
        f"Workers run them: `prefect worker start --pool {pool}` on machines with Follow-up installed and "
        "its settings (FOLLOWUP_DATABASE_URL, FOLLOWUP_MAIL_URL, ...) in their environment."
    )


@automations_app.command("install")
def install_automations(
    block: str = typer.Option(
        ...,
        "--block",
        help="The notification block to alert through, as TYPE/NAME (`prefect block ls`) or NAME.",
    ),
) -> None:
    """Alert if no follow-up completed in 26 hours, a flow run failed, or mail failed (re-run updates)."""
    from workflows.cli.plain_table import PlainTable

    with user_errors():
        url = _require_prefect_server("automations install")
        from workflows.automations import install

        done = install(block)
    table = PlainTable("automation", "", title=f"Automations notifying through '{block}' ({url})")
    for line in done:
        state = "created" if line.created else "updated"
        if line.duplicates_removed:
            state += f", {line.duplicates_removed} copies removed"
        table.add_row(line.name, state)
    console.print(table)
