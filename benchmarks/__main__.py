"""`make bench`: the figures of issues 7, 13 and 17 on SQLite and PostgreSQL at each scale, printed as
tables with their growth, and saved to var/bench.json.

A Prefect server is started first (its own PREFECT_HOME in a temporary folder) and stays up, as in
production; each backend at each scale then runs in a process of its own (`benchmarks.run`), against
a fresh migrated database (SQLite file; PostgreSQL `followup_bench_<items>_<pid>`, dropped afterwards).
Scales up to 10,000 items run every figure; larger ones the main figures (`benchmarks.run` part
`main`). Before them, `followup check` runs twice with no Prefect server configured: the first
starts Follow-up's local server in the background, the second is measured beside `followup cycle
list`.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from rich.console import Console
from rich.table import Table

from benchmarks.measure import Figure, machine, peak_rss_mb, render
from benchmarks.run import (
    FOLLOWUP,
    IN_TURNS,
    PAGE_GROWTH_JUDGED_FROM_ITEMS,
    PAGE_GROWTH_MAX,
    SECRET_KEY,
    portal_key,
    whole_process,
    whole_processes,
)
from benchmarks.servers import postgres_database, prefect_env, prefect_server
from db.migrate import upgrade
from workflows.command_client import SOCKET_NAME

OUT = Path("var") / "bench.json"
# Issue 17: every figure at most 12x from 10,000 to 100,000 items (10x the items); the reply page
# p95 at 5 clients within 20 % of its 10,000-item figure (a page shows one agency's part, whatever
# the system's size), judged on the two sizes' pages loaded in turns when the run has them.
GROWTH_MAX = 12.0
PAGE_KEY = portal_key("p95", 5)
# Scales above this run the main figures only (the rest takes its preparation minutes at 100k).
FULL_SCALE_MAX = 10_000


def parse_scales(text: str) -> list[int]:
    """`1k,10k,100k` (or plain numbers) as item counts, smallest first."""
    scales = []
    for part in text.split(","):
        token = part.strip().lower()
        factor = 1000 if token.endswith("k") else 1
        digits = token.removesuffix("k")
        if not digits.isdigit() or int(digits) == 0:
            raise argparse.ArgumentTypeError(f"--scale: {part!r} is not a count such as 1k, 10k or 100000")
        scales.append(int(digits) * factor)
    return sorted(set(scales))


def _label(items: int) -> str:
    return f"{items // 1000}k" if items % 1000 == 0 else str(items)


def flow_commands(work: Path, console: Console) -> tuple[list[Figure], dict[str, Any]]:
    """`followup check` with no Prefect server configured: the first (which starts the local server
    and the command server in the background) and the next, beside `followup cycle list` on the same
    small database. The next ones are measured once the command server listens, as a user meets it
    seconds later; how many of them it ran is kept (all, unless something went wrong)."""
    url = f"sqlite:///{work / 'flow-commands.db'}"
    upgrade(url)
    env = prefect_env(work / "local-prefect-home")
    env.update(
        {
            "FOLLOWUP_DATABASE_URL": url,
            "FOLLOWUP_HOME": str(work / "local-home"),
            "FOLLOWUP_SECRET_KEY": SECRET_KEY,
            "PYTHONPATH": os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")]).rstrip(os.pathsep),
        }
    )
    console.print("[bold]Flow commands with no server configured[/] (the first starts the local server)...")
    try:
        first = whole_process([FOLLOWUP, "check"], env, repeat=1)
        console.print(f"  first `followup check`: {first:.1f} s")
        prefect_home = Path(env["PREFECT_HOME"])
        waited = _until_listening(prefect_home / SOCKET_NAME)
        log = prefect_home / "commands.log"
        before = log.read_text().count(": followup check\n")
        second, listing = whole_processes([[FOLLOWUP, "check"], [FOLLOWUP, "cycle", "list"]], env, repeat=5)
        served = log.read_text().count(": followup check\n") - before
    finally:
        subprocess.run([FOLLOWUP, "server", "stop"], env=env, capture_output=True, check=False)
    figures = [
        Figure(
            "flow_second_s",
            "Second flow command with no server configured (`followup check`, whole process)",
            second,
            baseline=listing,
            baseline_label="`followup cycle list`",
            max_ratio=3.0,
        )
    ]
    detail = {"first_flow_command_s": first, "command_server_ready_after_s": waited}
    return figures, {**detail, "run_by_the_command_server": f"{served} of 5", "load_average": os.getloadavg()}


def _until_listening(path: Path, timeout: float = 120.0) -> float:
    """Seconds waited until the command server accepts connections at `path` (it imports first)."""
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        with socket.socket(socket.AF_UNIX) as probe:
            try:
                probe.connect(str(path))
                return time.monotonic() - began
            except OSError:
                time.sleep(0.1)
    raise RuntimeError(f"no command server listening at {path} after {timeout:.0f} s")


def run_backend(
    backend: str,
    url: str,
    work: Path,
    env: dict[str, str],
    items: int,
    only: str,
    smaller: tuple[str, int] | None = None,
) -> dict[str, Any]:
    """One backend's measurements in a child process; its JSON result (with `error` if it failed).

    `smaller`: the next smaller size's database (URL, items), whose reply pages it loads in turns.
    """
    out = work / f"{backend}-{items}.json"
    argv = [sys.executable, "-m", "benchmarks.run", "--backend", backend, "--url", url, "--out", str(out)]
    argv += ["--items", str(items), "--only", only]
    if smaller:
        argv += ["--smaller", smaller[0], str(smaller[1])]
    before = os.getloadavg()
    done = subprocess.run(argv, env=env, check=False)
    after = os.getloadavg()
    result: dict[str, Any] = (
        json.loads(out.read_text())
        if out.exists()
        else {"backend": backend, "figures": [], "detail": {}, "error": f"exited {done.returncode}"}
    )
    result["items"] = items
    result["part"] = only
    result["load_average"] = {"before": [round(x, 2) for x in before], "after": [round(x, 2) for x in after]}
    return result


class _Kept(NamedTuple):
    """A size's database, kept while the next size's run loads its reply pages in turns."""

    database: contextlib.ExitStack
    url: str
    items: int


def pages_in_turns(smaller: int, larger: int) -> bool:
    """Whether the run of `larger` items loads the reply pages of `smaller` in turns with its own: ten
    times the items, from the size where the page's growth is judged."""
    return larger == 10 * smaller and smaller >= PAGE_GROWTH_JUDGED_FROM_ITEMS


@contextlib.contextmanager
def _database(backend: str, work: Path, items: int) -> Iterator[str]:
    """A fresh migrated database for one backend's run (SQLite file, or a PostgreSQL database of its
    own), removed on leaving."""
    if backend == "sqlite":
        url = f"sqlite:///{work / f'bench-{items}.db'}"
        upgrade(url)
        try:
            yield url
        finally:
            for leftover in work.glob(f"bench-{items}.db*"):
                leftover.unlink()
        return
    with postgres_database(f"followup_bench_{items}") as url:
        yield url


def growth(runs: dict[int, dict[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Per figure and backend: its value, ratio to raw and cost per item at each scale, and its growth.

    Growth is the value at the largest scale over the value at 10,000 items (else the next smaller
    scale measured), judged against issue 17's limits when the larger scale is 10x the smaller.
    """
    scales = sorted(runs)
    rows: dict[tuple[str, str], dict[str, Any]] = {}
    for items in scales:
        for backend, result in runs[items].items():
            for f in result["figures"]:
                row = rows.setdefault(
                    (f["key"], backend), {"key": f["key"], "backend": backend, "unit": f["unit"], "at": {}}
                )
                row["label"] = f["label"]  # as said at the largest scale
                row["at"][str(items)] = {
                    "value": f["value"],
                    "baseline": f["baseline"],
                    "ratio": f["ratio"],
                    "per_item": f["value"] / items,
                    "load_average_1min": result["load_average"]["after"][0],
                }
    found = []
    for row in rows.values():
        measured = [n for n in scales if str(n) in row["at"]]
        if len(measured) >= 2:
            top = measured[-1]
            base = 10_000 if 10_000 in measured and top > 10_000 else measured[-2]
            low, high = row["at"][str(base)]["value"], row["at"][str(top)]["value"]
            row["growth"] = {"from": base, "to": top, "ratio": high / low if low else None}
            limit = PAGE_GROWTH_MAX if row["key"] == PAGE_KEY else GROWTH_MAX
            judged = top == 10 * base and row["unit"] in ("s", "ms") and row["growth"]["ratio"] is not None
            if row["key"] == PAGE_KEY:
                # From 10,000 items up (smaller requests' parts hold a handful of items), and only
                # when the run has no figure of the two sizes in turns, which is judged instead.
                in_turns = _has_figure(runs[top][row["backend"]], PAGE_KEY + IN_TURNS)
                judged = judged and base >= PAGE_GROWTH_JUDGED_FROM_ITEMS and not in_turns
            if row["key"].endswith(IN_TURNS):
                judged = False  # already a ratio of two sizes taken in one run: not compared across runs
            row["growth"]["limit"] = limit if judged else None
            row["growth"]["passed"] = row["growth"]["ratio"] <= limit if judged else None
        found.append(row)
    return found


def _has_figure(result: dict[str, Any], key: str) -> bool:
    return any(f["key"] == key for f in result["figures"])


def render_growth(rows: list[dict[str, Any]], scales: list[int], console: Console) -> None:
    """The growth table: each figure's value (and ratio to raw) at each scale, per-item cost, growth."""
    table = Table(title="How each figure grows (value, ×raw; per item at the largest scale; growth)")
    table.add_column("figure")
    table.add_column("backend")
    for items in scales:
        table.add_column(_label(items), justify="right")
    for column in ("per item", "growth", "result"):
        table.add_column(column, justify="right")
    for row in rows:
        if "growth" not in row:
            continue
        cells = []
        for items in scales:
            at = row["at"].get(str(items))
            if at is None:
                cells.append("-")
                continue
            ratio = f" ({at['ratio']:.1f}×)" if at["ratio"] is not None else ""
            cells.append(f"{at['value']:,.3g} {row['unit']}{ratio}")
        top = row["at"][str(row["growth"]["to"])]
        per_item = f"{top['per_item'] * (1e6 if row['unit'] == 's' else 1e3):,.1f} µ{row['unit']}"
        grown = row["growth"]
        factor = (
            f"{grown['ratio']:.1f}× ({_label(grown['from'])}→{_label(grown['to'])})"
            if grown["ratio"]
            else "-"
        )
        verdict = {True: "[green]pass[/]", False: "[red]FAIL[/]", None: "[dim]reported[/]"}[grown["passed"]]
        table.add_row(row["label"], row["backend"], *cells, per_item, factor, verdict)
    console.print(table)


def save(
    out: Path,
    started: datetime,
    scales: list[int],
    flow_figures: list[Figure],
    flow_detail: dict[str, Any],
    runs: dict[int, dict[str, dict[str, Any]]],
) -> list[dict[str, Any]]:
    """Write var/bench.json with the runs so far and their growth; the growth rows."""
    grown = growth(runs)
    data = {
        "date": started.isoformat(timespec="seconds"),
        "machine": machine(),
        "command": "python -m benchmarks " + " ".join(sys.argv[1:]),
        "scales": scales,
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
        "flow_commands": {"figures": [f.as_dict() for f in flow_figures], **flow_detail},
        "growth": grown,
        "peak_rss_all_processes_mb": peak_rss_mb(),
        "runs": {str(items): results for items, results in runs.items()},
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(data, indent=2, default=str))
    return grown


def main(argv: list[str] | None = None) -> int:
    """Measure, print the tables, write var/bench.json; exit 1 if a target is missed or a run failed."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--scale",
        type=parse_scales,
        default=parse_scales("1k,10k"),
        help="item counts to measure at, e.g. 1k,10k,100k (default 1k,10k; 100k takes an hour or more)",
    )
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument(
        "--no-local-server", action="store_true", help="skip the flow commands with no server configured"
    )
    parser.add_argument(
        "--only",
        choices=["reply-page", "main", "flow-commands"],
        help="measure only this part at every scale (reply-page: no Prefect server, minutes not an hour; "
        "flow-commands: only the flow commands with no server configured, a minute)",
    )
    args = parser.parse_args(argv)
    console = Console(width=max(Console().width, 150))
    started = datetime.now(UTC)
    runs: dict[int, dict[str, dict[str, Any]]] = {}
    flow_figures: list[Figure] = []
    flow_detail: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="followup-bench-") as tmp:
        work = Path(tmp)
        if not args.no_local_server and args.only != "reply-page":
            flow_figures, flow_detail = flow_commands(work, console)
        with contextlib.ExitStack() as stack:
            env = prefect_env(work / "client-home")
            if args.only not in ("reply-page", "flow-commands"):
                console.print(
                    "[bold]Starting a Prefect server[/] on loopback (it stays up for every flow measured)..."
                )
                server = prefect_server(work / "server-home", work / "prefect-server.log")
                env["PREFECT_API_URL"] = stack.enter_context(server)
            env["PYTHONPATH"] = os.pathsep.join([str(Path.cwd()), env.get("PYTHONPATH", "")]).rstrip(
                os.pathsep
            )
            # Each backend's database of a size whose tenfold is measured too, kept for that run.
            kept: dict[tuple[str, int], _Kept] = {}
            for items in args.scale if args.only != "flow-commands" else []:
                only = args.only or ("all" if items <= FULL_SCALE_MAX else "main")
                runs[items] = {}
                for backend in dict.fromkeys(args.backends.split(",")):
                    console.print(f"[bold]{backend}[/]: {items:,} recommendations ({only})...")
                    database = contextlib.ExitStack()
                    stack.callback(database.close)
                    url = database.enter_context(_database(backend, work, items))
                    before = kept.pop((backend, items // 10), None)
                    smaller = (
                        (before.url, before.items)
                        if before and not runs[before.items][backend].get("error")
                        else None
                    )
                    runs[items][backend] = run_backend(backend, url, work, env, items, only, smaller)
                    if before:
                        before.database.close()
                    if any(pages_in_turns(items, larger) for larger in args.scale):
                        kept[(backend, items)] = _Kept(database, url, items)
                    else:
                        database.close()
                    # Saved as each run ends: a 100,000-item bench takes hours on 2 cores.
                    save(args.out, started, args.scale, flow_figures, flow_detail, runs)
    for items, results in runs.items():
        figures = {
            f"{backend} (load average {' '.join(f'{x:.1f}' for x in r['load_average']['after'])})": [
                Figure(**{k: v for k, v in f.items() if k not in ("ratio", "passed")}) for f in r["figures"]
            ]
            for backend, r in results.items()
        }
        render(figures, console, items=items)
    if flow_figures:
        render({"no server configured": flow_figures}, console, items=0)
    grown = save(args.out, started, args.scale, flow_figures, flow_detail, runs)
    if runs:
        render_growth(grown, args.scale, console)
    console.print(f"Written to {args.out}")
    failed = [
        f"{items:,} {backend}: {f['label']}"
        for items, results in runs.items()
        for backend, r in results.items()
        for f in r["figures"]
        if f["passed"] is False
    ]
    failed += [f.label for f in flow_figures if f.passed is False]
    failed += [
        f"growth of {row['label']} ({row['backend']})"
        for row in grown
        if row.get("growth", {}).get("passed") is False
    ]
    errors = [
        f"{items:,} {b}: {r['error']}" for items, rs in runs.items() for b, r in rs.items() if r.get("error")
    ]
    for error in errors:
        console.print(f"[red]run failed:[/] {error}")
    console.print(f"{len(failed)} target(s) missed" + (": " + "; ".join(failed) if failed else ""))
    return 0 if not failed and not errors else 1


if __name__ == "__main__":
    raise SystemExit(main())
