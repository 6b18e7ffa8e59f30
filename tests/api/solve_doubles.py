"""Test-only stand-ins for the planning engine, chosen by the request's id.

Workers in the service tests run with
`CLEARPLAN_SOLVE_FUNCTION=solve_doubles:scripted`; the request's
`request_id` says how the solve behaves, so one worker serves every case:

- `quick`: a plan at once (status optimal);
- `sleep:S`: S seconds of waiting with progress and an early incumbent,
  honouring the stop event; it then says `feasible`, as a naive engine
  would even when stopped (the service must turn that into `cancelled`);
- `cpu:S`: S seconds of pure-Python CPU, honouring the stop event;
- `stubborn:S`: reports an incumbent, then ignores the stop event for S s;
- `hog`: allocates far more than the job memory cap;
- `cpsat:N`: a real CP-SAT search (N jobs on one machine, weighted
  tardiness) that finds solutions fast and proves optimality slowly.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from ortools.sat.python import cp_model

from scheduler.dock import dock_schedule
from scheduler.fingerprint import input_hash
from scheduler.models import (
    Objective,
    Plan,
    PlanStatus,
    Provenance,
    Request,
    RosterShift,
    Task,
    TaskKind,
)
from scheduler.shifts import instance

Progress = Callable[[float, float | None, float], None] | None


def scripted(
    request: Request,
    *,
    on_progress: Progress = None,
    stop: threading.Event | None = None,
    on_incumbent: Callable[[Plan], None] | None = None,
) -> Plan:
    """Behave as `request.request_id` says (see the module docstring)."""
    stop = stop or threading.Event()
    kind, _, arg = (request.request_id or "quick").partition(":")
    if kind == "quick":
        return make_plan(request, PlanStatus.optimal, 100, 100)
    if kind == "sleep":
        return _sleep(request, float(arg), on_progress, stop, on_incumbent)
    if kind == "cpu":
        return _cpu(request, float(arg), on_progress, stop)
    if kind == "stubborn":
        if on_incumbent is not None:
            on_incumbent(make_plan(request, PlanStatus.heuristic, 500, None))
        time.sleep(float(arg))
        return make_plan(request, PlanStatus.feasible, 400, 100)
    if kind == "hog":
        hoard = [bytearray(256 * 1024 * 1024) for _ in range(64)]
        return make_plan(request, PlanStatus.optimal, len(hoard), 0)
    if kind == "cpsat":
        return _cpsat(request, int(arg), on_progress, stop)
    raise ValueError(f"request_id: unknown script '{kind}'")


def make_plan(
    request: Request, status: PlanStatus, objective: int, bound: int | None
) -> Plan:
    """A small plan: each load unloaded at a door from its ETA for 60 min,
    each person on the first template on the first date."""
    tz = request.site.timezone
    tasks = [
        Task(
            id=f"{load.id}:unload",
            kind=TaskKind.unload,
            load_id=load.id,
            door_id=request.doors[i % len(request.doors)].id,
            start=load.eta,
            end=load.eta + timedelta(minutes=60),
            work_min=60,
        )
        for i, load in enumerate(request.loads)
    ]
    roster = []
    if request.shift_templates:
        template = request.shift_templates[0]
        day = request.horizon.start_date
        for person in request.staff:
            shift = instance(template, day, tz)
            roster.append(
                RosterShift(
                    id=shift.shift_id(person.id),
                    person_id=person.id,
                    date=day,
                    template_id=template.id,
                    post=person.role.value,
                    start=shift.start,
                    end=shift.end,
                    worked_min=shift.worked_min,
                )
            )
    gap = None
    if bound is not None:
        gap = abs(objective - bound) / max(1, abs(objective))
    return Plan(
        plan_id="double",
        request=request,
        status=status,
        objective=Objective(total=objective, terms={"cost": objective}),
        bound=bound,
        gap=gap,
        roster=roster,
        tasks=tasks,
        dock_schedule=dock_schedule(request, tasks),
        provenance=Provenance(
            solver="test-double",
            solver_version="0",
            clearplan_version="0",
            input_hash=input_hash(request),
        ),
    )


def _sleep(
    request: Request,
    seconds: float,
    on_progress: Progress,
    stop: threading.Event,
    on_incumbent: Callable[[Plan], None] | None,
) -> Plan:
    started = time.monotonic()
    if on_incumbent is not None:
        on_incumbent(make_plan(request, PlanStatus.heuristic, 900, None))
    best = 900
    while time.monotonic() - started < seconds and not stop.is_set():
        best -= 1
        if on_progress is not None:
            on_progress(best, 100, time.monotonic() - started)
        stop.wait(0.1)
    return make_plan(request, PlanStatus.feasible, best, 100)


def _cpu(
    request: Request, seconds: float, on_progress: Progress, stop: threading.Event
) -> Plan:
    started = time.monotonic()
    total = 0
    while time.monotonic() - started < seconds and not stop.is_set():
        for i in range(200_000):
            total += i * i % 7
        if on_progress is not None:
            on_progress(1000 - total % 100, 0, time.monotonic() - started)
    return make_plan(request, PlanStatus.feasible, 1000, 0)


def _cpsat(
    request: Request, num_jobs: int, on_progress: Progress, stop: threading.Event
) -> Plan:
    """Weighted tardiness on one machine: first solutions come in
    milliseconds; proving optimality for 30+ jobs takes minutes."""
    model = cp_model.CpModel()
    horizon = sum(3 + (7 * j) % 11 for j in range(num_jobs))
    tardiness = []
    intervals = []
    for j in range(num_jobs):
        duration = 3 + (7 * j) % 11
        due = (13 * j) % (horizon // 2 + 1)
        start = model.new_int_var(0, horizon, f"start{j}")
        end = model.new_int_var(0, horizon, f"end{j}")
        intervals.append(model.new_interval_var(start, duration, end, f"job{j}"))
        late = model.new_int_var(0, horizon, f"late{j}")
        model.add_max_equality(late, [0, end - due])
        tardiness.append((1 + j % 5) * late)
    model.add_no_overlap(intervals)
    model.minimize(sum(tardiness))

    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 2
    solver.parameters.max_time_in_seconds = request.settings.time_limit_s

    class Callback(cp_model.CpSolverSolutionCallback):
        def __init__(self) -> None:
            super().__init__()

        def on_solution_callback(self) -> None:
            if on_progress is not None:
                on_progress(
                    self.objective_value, self.best_objective_bound, self.wall_time
                )
            if stop.is_set():
                self.stop_search()

    callback = Callback()
    # A stop that arrives between solutions still ends the search at once.
    watcher = threading.Thread(
        target=lambda: stop.wait() and solver.stop_search(), daemon=True
    )
    watcher.start()
    code = solver.solve(model, callback)
    objective = round(solver.objective_value)
    bound = round(solver.best_objective_bound)
    status: dict[Any, PlanStatus] = {
        cp_model.OPTIMAL: PlanStatus.optimal,
        cp_model.FEASIBLE: PlanStatus.feasible,
    }
    return make_plan(request, status.get(code, PlanStatus.failed), objective, bound)
