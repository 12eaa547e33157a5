"""`make bench`: issue 7's figures on SQLite and PostgreSQL, printed as a table and saved to var/bench.json.

A Prefect server is started first (its own PREFECT_HOME in a temporary folder) and stays up, as in
production; each backend then runs in a process of its own (`benchmarks.run`), against a fresh
migrated database (SQLite file; PostgreSQL `followup_bench_<pid>`, dropped afterwards).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from rich.console import Console

from benchmarks.measure import Figure, machine, peak_rss_mb, render, timed
from benchmarks.servers import postgres_database, prefect_env, prefect_server
from db.migrate import upgrade

OUT = Path("var") / "bench.json"
_FIRST_FLOW = textwrap.dedent(
    """
    from prefect import flow

    @flow(name="cold-start-probe")
    def probe() -> int:
        return 1

    assert probe() == 1
    """
)


def ephemeral_cold_start(work: Path) -> float:
    """Wall time of a process running its first flow on a fresh PREFECT_HOME and no server."""
    env = prefect_env(work / "cold-prefect-home")
    with timed() as took:
        done = subprocess.run([sys.executable, "-c", _FIRST_FLOW], env=env, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"first flow failed: {done.stderr[-2000:]}")
    return took.seconds


def run_backend(
    backend: str, url: str, work: Path, env: dict[str, str], items: int, only: str = "all"
) -> dict[str, Any]:
    """One backend's measurements in a child process; its JSON result (with `error` if it failed)."""
    out = work / f"{backend}.json"
    argv = [
        sys.executable,
        "-m",
        "benchmarks.run",
        "--backend",
        backend,
        "--url",
        url,
        "--out",
        str(out),
        "--items",
        str(items),
        "--only",
        only,
    ]
    done = subprocess.run(argv, env=env, check=False)
    if not out.exists():
        return {"backend": backend, "figures": [], "detail": {}, "error": f"exited {done.returncode}"}
    return dict(json.loads(out.read_text()))


def summary(
    results: dict[str, dict[str, Any]], cold_start: float | None, started: datetime
) -> dict[str, Any]:
    """var/bench.json: the headline keys (the slower backend's figure), then every backend in detail."""

    def slowest(key: str) -> dict[str, Any] | None:
        found = [f for r in results.values() for f in r["figures"] if f["key"] == key]
        return max(found, key=lambda f: f["value"]) if found else None

    def worst(key: str) -> float | None:
        figure = slowest(key)
        return figure["value"] if figure else None

    formats = sorted(
        {
            f["key"].split(".", 1)[1]
            for r in results.values()
            for f in r["figures"]
            if f["key"].startswith("report_10k_s.")
        }
    )
    return {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "make bench",
        "headline": "each headline figure is the slower of the backends; see `backends` for each",
        "launch_10k_s": worst("launch_10k_s"),
        "launch_raw_s": (slowest("launch_10k_s") or {}).get("baseline"),  # the same backend's baseline
        "followup_10k_s": worst("followup_10k_s"),
        "report_10k_s": {fmt: worst(f"report_10k_s.{fmt}") for fmt in formats},
        "portal_p95_ms": worst("portal_p95_ms"),
        "cli_show_10k_s": worst("cli_show_10k_s"),
        "ephemeral_cold_start_s": cold_start,
        # getrusage: a run's own peak (it runs the flows and services in-process, as `followup` does)
        # and its largest child's (portal, CLI, report processes). The headline is the larger of the
        # two, the largest single process; their sum is kept too (an upper bound: the peaks need not
        # coincide).
        "peak_rss_mb": max(
            (max(r["peak_rss_mb"]["self"], r["peak_rss_mb"]["children"]) for r in results.values()),
            default=None,
        ),
        "peak_rss_self_plus_children_mb": max(
            (r["peak_rss_mb"]["total"] for r in results.values()), default=None
        ),
        "peak_rss_all_processes_mb": peak_rss_mb(),
        "backends": results,
    }


def _backend(backend: str, work: Path, env: dict[str, str], items: int, only: str) -> dict[str, Any]:
    """One backend's run on a fresh migrated database (SQLite file, or a PostgreSQL database of its own)."""
    if backend == "sqlite":
        url = f"sqlite:///{work / 'bench.db'}"
        upgrade(url)
        return run_backend(backend, url, work, env, items, only)
    with postgres_database() as url:
        return run_backend(backend, url, work, env, items, only)


def main(argv: list[str] | None = None) -> int:
    """Measure, print the table, write var/bench.json; exit 1 if a target is missed or a run failed."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000, help="recommendations to generate")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--no-cold-start", action="store_true", help="skip the ~30 s ephemeral cold start")
    parser.add_argument(
        "--only",
        choices=["reply-page"],
        help="measure only this part: no Prefect server, no cold start (minutes instead of a quarter hour)",
    )
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 150))
    started = datetime.now(UTC)
    results: dict[str, dict[str, Any]] = {}
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
        work = Path(tmp)
        cold_start = None
        if not args.no_cold_start and not args.only:
            console.print("[bold]Ephemeral cold start[/] (first flow, fresh PREFECT_HOME, no server)...")
            cold_start = ephemeral_cold_start(work)
            console.print(f"  {cold_start:.1f} s")
        with contextlib.ExitStack() as stack:
            env = prefect_env(work / "client-home")
            if not args.only:
                console.print(
                    "[bold]Starting a Prefect server[/] on loopback (it stays up for every flow measured)..."
                )
                server = prefect_server(work / "server-home", work / "prefect-server.log")
                env["PREFECT_API_URL"] = stack.enter_context(server)
            env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            )
            for backend in args.backends.split(","):
                console.print(f"[bold]{backend}[/]: {args.items:,} recommendations...")
                results[backend] = _backend(backend, work, env, args.items, args.only or "all")
    data = summary(results, cold_start, started)
    if args.only:
        data["command"] = f"python -m benchmarks --only {args.only}"
    figures = {
        b: [Figure(**{k: v for k, v in f.items() if k not in ("ratio", "passed")}) for f in r["figures"]]
        for b, r in results.items()
    }
    render(figures, console, items=args.items)
    console.print(
        f"Ephemeral cold start (first flow on a fresh PREFECT_HOME, reported): {cold_start} s; "
        f"peak RSS of the largest process: {data['peak_rss_mb']} MB (target < 500 MB; self + largest "
        f"child: {data['peak_rss_self_plus_children_mb']} MB)"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(data, indent=2, default=str))
    console.print(f"Written to {args.out}")
    failed = [f.label for rows in figures.values() for f in rows if f.passed is False]
    errors = {b: r["error"] for b, r in results.items() if r.get("error")}
    memory_ok = (data["peak_rss_mb"] or 0) < 500
    for backend, error in errors.items():
        console.print(f"[red]{backend} run failed:[/] {error}")
    return 0 if not failed and not errors and memory_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
