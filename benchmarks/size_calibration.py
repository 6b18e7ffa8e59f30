"""Measure peak memory of real roster and task-plan runs, for `scheduler.sizing`.

Each case runs in a fresh process (so its peak RSS is its own) and prints
one line: the case, the sizing estimate's counts and the measured peak
resident memory. The constants of `scheduler.sizing` are fitted on these
lines; rerun this after changing either engine:

    .venv/bin/python benchmarks/size_calibration.py

It takes a few minutes on 2 cores (each solve runs 10 s).
"""

from __future__ import annotations

import multiprocessing
import resource
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scheduler.models import Request, RosterShift  # noqa: E402
from scheduler.sizing import estimate  # noqa: E402

ROSTER_CASES = [(50, 7, 30), (100, 7, 30), (100, 14, 30), (200, 14, 30), (100, 7, 15)]
TASK_CASES = [500, 2_000, 4_000, 8_000]
LIMIT_S = 10.0


def _with_limit(request: Request) -> Request:
    settings = request.settings.model_copy(update={"time_limit_s": LIMIT_S})
    return request.model_copy(update={"settings": settings})


def _rostered(request: Request) -> Request:
    """Everyone regular on the same template each day (16 h rest)."""
    templates = [t.id for t in request.shift_templates]
    roster = [
        RosterShift(
            person_id=person.id,
            date=request.horizon.start_date + timedelta(days=day),
            template_id=templates[i % len(templates)],
            post=person.role.value,
        )
        for i, person in enumerate(request.staff)
        if person.on_call is None
        for day in range(request.horizon.days)
    ]
    return request.model_copy(update={"roster": roster})


def _roster_case(staff: int, days: int, interval_min: int) -> str:
    from scheduler.roster import plan_roster
    from simulations.customs_site import customs_site_request

    request = _with_limit(
        customs_site_request(staff=staff, days=days, interval_min=interval_min)  # type: ignore[arg-type]
    )
    size = estimate(request)
    started = time.perf_counter()
    plan_roster(request)
    return (
        f"roster staff={staff} days={days} interval={interval_min} "
        f"booleans={size.roster_booleans} est={size.peak_memory_bytes / 2**20:.0f}MiB "
        f"peak={_peak_mib():.0f}MiB time={time.perf_counter() - started:.1f}s"
    )


def _task_case(num_shipments: int) -> str:
    from scheduler.taskplan import plan_tasks
    from simulations.generate import generated_request

    request = _with_limit(_rostered(generated_request(num_shipments, 0)))
    size = estimate(request)
    started = time.perf_counter()
    plan_tasks(request)
    return (
        f"tasks shipments={num_shipments} tasks={size.tasks} "
        f"pairs={size.candidate_pairs} est={size.peak_memory_bytes / 2**20:.0f}MiB "
        f"peak={_peak_mib():.0f}MiB time={time.perf_counter() - started:.1f}s"
    )


def _baseline_case() -> str:
    import scheduler.planning  # noqa: F401  (the imports a run pays for)

    return f"baseline peak={_peak_mib():.0f}MiB"


def _peak_mib() -> float:
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _run(case: tuple[object, ...]) -> str:
    kind, *args = case
    if kind == "baseline":
        return _baseline_case()
    if kind == "roster":
        return _roster_case(*args)  # type: ignore[arg-type]
    return _task_case(*args)  # type: ignore[arg-type]


def main() -> None:
    cases: list[tuple[object, ...]] = [("baseline",)]
    cases += [("roster", *case) for case in ROSTER_CASES]
    cases += [("tasks", size) for size in TASK_CASES]
    context = multiprocessing.get_context("spawn")
    for case in cases:
        with context.Pool(1, maxtasksperchild=1) as pool:
            print(pool.apply(_run, (case,)), flush=True)


if __name__ == "__main__":
    main()
