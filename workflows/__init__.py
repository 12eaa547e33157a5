"""Use cases, Prefect flows and the `followup` command line."""
