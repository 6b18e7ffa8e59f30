"""Run the task-plan benchmark set and write its table into RESULTS.md.

Usage::

    .venv/bin/python benchmarks/bench_tasks.py [--limits 10 60]
        [--roster-limit 30] [--instances NAME ...] [--seed 0]
        [--results benchmarks/RESULTS.md]

The set is `simulations.benchmark_set`: the HKIA days 2025-11-11 and
2025-11-28 at volume x1.0, x1.5 and x1.8, and generated days of 500 to
8,000 shipments. Each instance is rostered once by the roster engine
(`--roster-limit` seconds), then its tasks are planned on that roster by
`scheduler.taskplan.plan_tasks`:

- with no search time (the greedy plan, assembled and validated): its
  wall time is the *time to the first valid plan*;
- with each limit of `--limits`, in a fresh process, so that the *peak
  memory* (resident, of the whole process) is the run's own.

Every plan is checked by the independent validator. The table replaces
the section "Task plan" of the results file, or is added at its end.
It takes about two minutes per instance on 2 cores.
"""

from __future__ import annotations

import argparse
import datetime
import json
import multiprocessing
import os
import platform
import resource
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

HERE = Path(__file__).resolve().parent
HEADING = "## Task plan"


def main(argv: list[str] | None = None) -> int:
    from simulations.benchmark_set import benchmark_names

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[10.0, 60.0])
    parser.add_argument("--roster-limit", type=float, default=30.0)
    parser.add_argument("--instances", nargs="+", default=benchmark_names())
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    context = multiprocessing.get_context("spawn")
    rows = []
    for name in args.instances:
        row: dict[str, Any] = {"instance": name}
        roster_json = _in_process(
            context, _roster_run, name, args.seed, args.roster_limit
        )
        row["roster"] = roster_json["summary"]
        row["first"] = _in_process(
            context, _task_run, name, args.seed, 0.0, roster_json["roster"]
        )
        for limit in args.limits:
            row[f"limit_{limit:g}"] = _in_process(
                context, _task_run, name, args.seed, limit, roster_json["roster"]
            )
        print(json.dumps({k: v for k, v in row.items()}), flush=True)
        rows.append(row)

    _write_section(args.results, _section(rows, args))
    return 0


# --------------------------------------------------------------------------
# Runs, each in a fresh process


def _in_process(context: Any, function: Any, *args: Any) -> Any:
    with context.Pool(1, maxtasksperchild=1) as pool:
        return pool.apply(function, args)


def _request(name: str, seed: int) -> Any:
    from simulations.generate import generated_request
    from simulations.hkia import build_request

    if name.startswith("generated-"):
        return generated_request(int(name.removeprefix("generated-")), seed)
    _, year, month, day, volume = name.split("-")
    return build_request(
        datetime.date(int(year), int(month), int(day)), float(volume[1:]), seed
    )


def _roster_run(name: str, seed: int, limit_s: float) -> dict[str, Any]:
    from scheduler.roster import plan_roster
    from scheduler.validate_roster import validate_roster

    request = _request(name, seed)
    settings = request.settings.model_copy(update={"time_limit_s": limit_s})
    started = time.perf_counter()
    plan = plan_roster(request.model_copy(update={"settings": settings}))
    seconds = time.perf_counter() - started

    # The task engine is measured here, not the roster engine: shifts the
    # roster validator rejects are dropped, and the table says how many.
    roster = list(plan.roster)
    broken: list[str] = []
    for _ in range(3):
        report = validate_roster(request, roster)
        if report.valid:
            break
        subjects = {v.subject for v in report.violations}
        broken += sorted({v.rule for v in report.violations})
        roster = [
            s for s in roster if s.id not in subjects and s.person_id not in subjects
        ]
    return {
        "roster": [shift.model_dump(mode="json") for shift in roster],
        "summary": {
            "shifts": len(roster),
            "dropped": len(plan.roster) - len(roster),
            "broken_rules": sorted(set(broken)),
            "status": plan.status.value,
            "seconds": round(seconds, 1),
        },
    }


def _task_run(
    name: str, seed: int, limit_s: float, roster_json: list[dict[str, Any]]
) -> dict[str, Any]:
    from scheduler.models import RosterShift
    from scheduler.taskplan import plan_tasks
    from scheduler.validate_plan import validate_plan

    request = _request(name, seed)
    roster = [RosterShift.model_validate(item) for item in roster_json]
    started = time.perf_counter()
    plan = plan_tasks(request, roster=roster, time_limit_s=limit_s)
    elapsed = time.perf_counter() - started
    report = validate_plan(plan)
    terms = plan.objective.terms
    return {
        "shipments": len(request.shipments),
        "tasks": len(plan.tasks),
        "seconds": round(elapsed, 2),
        "status": plan.status.value,
        "unscheduled": terms["unscheduled"],
        "lateness": terms["lateness"],
        "unscheduled_count": len(plan.unscheduled),
        "objective": plan.objective.total,
        "bound": plan.bound,
        "valid": report.valid and report.objective == plan.objective,
        "peak_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "status_reason": plan.status_reason,
        "timings": plan.timings,
    }


# --------------------------------------------------------------------------
# The table


def _section(rows: list[dict[str, Any]], args: argparse.Namespace) -> str:
    limits = [f"limit_{limit:g}" for limit in args.limits]
    last = limits[-1]
    lines = [
        HEADING,
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}, seed "
        f"{args.seed}, `python benchmarks/bench_tasks.py`. Each day is rostered "
        f"once by the roster engine ({args.roster_limit:g} s), then planned on "
        "that roster. *First plan* is the wall time of `plan_tasks` with no "
        "search time (index, greedy plan, assembly and validation). Objective "
        "cells read `unscheduled / lateness` (the two task terms, weighted); "
        "the bound is the task stage's lower bound plus the roster's terms. "
        "Every plan passed the independent validator unless *valid* says no. "
        "Peak memory is the resident peak of the process of the longest run. "
        "Shifts the roster validator rejected in the roster engine's roster "
        "are dropped before the task runs (*dropped*).",
        "",
        "| instance | shipments | shifts | first plan s | greedy | "
        + " | ".join(f"at {limit:g} s" for limit in args.limits)
        + " | status | bound | run s | valid | peak MiB |",
        "|---|---:|---:|---:|---|" + "---|" * len(limits) + "---|---:|---:|---|---:|",
    ]
    for row in rows:
        first, final = row["first"], row[last]
        cells = [
            row["instance"],
            f"{first['shipments']:,}",
            str(row["roster"]["shifts"])
            + (
                f" ({row['roster']['dropped']} dropped)"
                if row["roster"]["dropped"]
                else ""
            ),
            f"{first['seconds']:.1f}",
            _terms(first),
            *(_terms(row[key]) for key in limits),
            final["status"],
            "" if final["bound"] is None else f"{final['bound']:,}",
            f"{final['seconds']:.1f}",
            "yes" if all(row[k]["valid"] for k in ["first", *limits]) else "NO",
            str(max(row[k]["peak_mib"] for k in ["first", *limits])),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", *_targets(rows, args.limits), ""]
    return "\n".join(lines)


def _terms(run: dict[str, Any]) -> str:
    return f"{run['unscheduled']:,} / {run['lateness']:,}"


def _targets(rows: list[dict[str, Any]], limits: list[float]) -> list[str]:
    """The issue's targets, each with what was measured."""
    last = f"limit_{limits[-1]:g}"
    lines = ["Targets:", ""]
    for row in rows:
        if row["first"]["shipments"] == 2_000 and row["instance"].startswith(
            "generated"
        ):
            seconds = row["first"]["seconds"]
            verdict = "met" if seconds <= 5.0 else "missed"
            lines.append(
                f"- first valid plan within 5 s at 2,000 shipments: {verdict} "
                f"({seconds:.1f} s)."
            )
    halved = []
    for row in rows:
        greedy, final = row["first"], row[last]
        for term in ("unscheduled", "lateness"):
            if greedy[term] > 0:
                ok = final[term] * 2 <= greedy[term]
                halved.append(f"{row['instance']} {term} {'met' if ok else 'missed'}")
    lines.append(
        f"- at {limits[-1]:g} s, `unscheduled` and `lateness` at most half the "
        f"greedy's where it has any: {'; '.join(halved) or 'greedy has none'}."
    )
    for row in rows:
        if row["first"]["shipments"] == 8_000:
            final = row[last]
            inside = "yes" if final["seconds"] <= limits[-1] + 2.0 else "NO"
            small = "yes" if final["peak_mib"] < 4 * 1024 else "NO"
            lines.append(
                f"- 8,000 shipments: valid plan {'yes' if final['valid'] else 'NO'}, "
                f"inside the limit {inside} ({final['seconds']:.1f} s), "
                f"under 4 GB {small} ({final['peak_mib']} MiB)."
            )
    return lines


def _machine() -> str:
    cores = os.cpu_count() or 0
    return (
        f"{platform.machine()} Linux, {cores} cores, Python {platform.python_version()}"
    )


def _write_section(path: Path, section: str) -> None:
    """Replace the section under HEADING, or append it."""
    text = (
        path.read_text(encoding="utf-8") if path.exists() else "# Benchmark results\n"
    )
    start = text.find(HEADING + "\n")
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        tail = "" if end < 0 else text[end + 1 :]
        text = text[:start] + section + ("\n" + tail if tail else "")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
