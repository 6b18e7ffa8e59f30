"""Run the Curtois & Qu instances 1-10 and write their table into RESULTS.md.

Usage::

    .venv/bin/python benchmarks/bench_curtois.py [--time-limit 60] [--seed 0]
        [--instances 1 2 3] [--results benchmarks/RESULTS.md]

Each instance goes through `scheduler.curtois.bench_roster` (the roster
engine, scored by the independent validator). The table replaces the
section "Roster: Curtois & Qu instances" of the results file, or is added
at its end, with the machine and the date.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from scheduler.curtois import bench_roster  # noqa: E402

HEADING = "## Roster: Curtois & Qu instances"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--instances", type=int, nargs="*", default=list(range(1, 11)))
    parser.add_argument("--results", type=Path, default=HERE / "RESULTS.md")
    args = parser.parse_args(argv)

    rows = []
    for number in args.instances:
        path = HERE / "curtois" / "instances" / f"Instance{number}.txt"
        result = bench_roster(path, args.time_limit, seed=args.seed)
        print(json.dumps(result), flush=True)
        rows.append(result)

    section = _section(rows, args.time_limit, args.seed)
    _write_section(args.results, section)
    return 0


def _section(rows: list[dict], time_limit_s: float, seed: int) -> str:
    lines = [
        HEADING,
        "",
        f"Measured {datetime.date.today().isoformat()} on {_machine()}, "
        f"{time_limit_s:g} s per instance, seed {seed}, "
        "`python benchmarks/bench_curtois.py`. *Ours* is the objective the "
        "independent validator recomputes from the roster; the gap is to the "
        "best-known value.",
        "",
        "| instance | best known | ours | gap % | status | valid | runtime s |",
        "|---|---:|---:|---:|---|---|---:|",
    ]
    for row in rows:
        known = row.get("best_known")
        gap = "" if not known else f"{100 * (row['objective'] - known) / known:.1f}"
        lines.append(
            f"| {row['instance']} | {known if known is not None else ''} | "
            f"{row['objective']} | {gap} | {row['status']} | {row['valid']} | "
            f"{row['runtime_s']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def _machine() -> str:
    cores = os.cpu_count() or 0
    python = platform.python_version()
    return f"{platform.machine()} Linux, {cores} cores, Python {python}"


def _write_section(path: Path, section: str) -> None:
    """Replace the section under HEADING, or append it."""
    text = "# Benchmark results\n"
    if path.exists():
        text = path.read_text(encoding="utf-8")
    start = text.find(HEADING)
    if start < 0:
        text = text.rstrip("\n") + "\n\n" + section
    else:
        end = text.find("\n## ", start + len(HEADING))
        tail = "" if end < 0 else text[end + 1 :]
        text = text[:start] + section + ("\n" + tail if tail else "")
    path.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
