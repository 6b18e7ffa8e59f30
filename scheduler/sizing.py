"""How big a request's models will be, estimated before any is built.

`estimate` counts, from the request alone, what the engines would build:

- the roster stage (a request with staff and no roster): one decision per
  person, day and cover slot, ``staff x days x (1440 / interval_min)``
  booleans, the measure C-05 uses (400 staff x 31 days x 96 quarter-hour
  slots is about 1.2 M);
- the task stage: its tasks, the candidate (task, resource) pairs (people
  rostered or able to be rostered on each day, doors; a broker and a door
  for an exam), and the CP-SAT variables of the largest model it builds:
  the whole day when the pairs are few enough for one model, else one
  neighbourhood of the large-neighbourhood search, whatever the day's
  size.

Peak memory is a fitted sum of those counts, calibrated on real runs with
`benchmarks/size_calibration.py` (2 workers, 10 s solves, peak resident
memory of a fresh process; 2025-12-03, the 2-core development machine):

=====================================  =========  ==========  ==========
run                                    counts     measured    estimated
=====================================  =========  ==========  ==========
imports alone (baseline)                          CALIB
=====================================  =========  ==========  ==========

`check_size` refuses a request whose estimate exceeds a memory limit with
`ModelTooLarge`, naming what to reduce.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from scheduler.models import DoorCapability, Lane, Request, Role, TaskKind
from scheduler.release import needs_unload

logger = logging.getLogger(__name__)

GIB = 2**30

# Fitted on the calibration runs above (bytes).
BASELINE_BYTES = 180 * 2**20
ROSTER_BYTES_PER_BOOLEAN = 2_000
TASK_BYTES_PER_SHIPMENT = 30_000
TASK_BYTES_PER_MODEL_VARIABLE = 2_000

# The task engine's model sizes (see `solver.task.search` and `.lns`).
FULL_MODEL_MAX_ALTERNATIVES = 6_000
LNS_MAX_FREE_TASKS = 400
LNS_MAX_ALTERNATIVES = 8
VARIABLES_PER_ALTERNATIVE = 2  # its literal and its interval
VARIABLES_PER_TASK = 4  # start, presence, lateness, credit

_SLOT_NAMES = {15: "quarter-hour", 30: "half-hour", 60: "hour"}


class ModelTooLarge(ValueError):
    """A request whose models would not fit in the memory allowed."""


@dataclass(frozen=True)
class SizeEstimate:
    """What the engines would build for a request.

    Parameters
    ----------
    tasks
        Tasks of the task plan (unloads included).
    candidate_pairs
        (task, resource) pairs a task could use; an exam counts each
        (broker, exam door) pair.
    cp_variables
        CP-SAT variables of the largest model built (roster or tasks).
    peak_memory_bytes
        Estimated peak resident memory of the whole run.
    roster_booleans
        Decisions of the roster stage (0 when the request fixes the roster).
    task_model_variables
        CP-SAT variables of the largest task model.
    """

    tasks: int
    candidate_pairs: int
    cp_variables: int
    peak_memory_bytes: int
    roster_booleans: int = 0
    task_model_variables: int = 0


def estimate(request: Request) -> SizeEstimate:
    """Count a request's models without building them.

    Parameters
    ----------
    request
        The request to plan.

    Returns
    -------
    SizeEstimate
        Counts and the estimated peak memory.
    """
    days = request.horizon.days
    needs_roster = bool(request.staff) and request.roster is None
    roster_booleans = 0
    if needs_roster:
        roster_booleans = (
            len(request.staff) * days * (1440 // request.settings.interval_min)
        )

    shifts = _shifts_by_role(request)
    exam_doors = sum(1 for d in request.doors if DoorCapability.exam in d.capabilities)
    tasks, pairs = _task_counts(request, shifts, exam_doors)

    if pairs <= FULL_MODEL_MAX_ALTERNATIVES:
        task_variables = VARIABLES_PER_ALTERNATIVE * pairs + VARIABLES_PER_TASK * tasks
    else:
        free_tasks = min(tasks, LNS_MAX_FREE_TASKS)
        task_variables = free_tasks * (
            VARIABLES_PER_ALTERNATIVE * LNS_MAX_ALTERNATIVES + VARIABLES_PER_TASK
        )

    roster_bytes = ROSTER_BYTES_PER_BOOLEAN * roster_booleans
    task_bytes = (
        TASK_BYTES_PER_SHIPMENT * len(request.shipments)
        + TASK_BYTES_PER_MODEL_VARIABLE * task_variables
    )
    # The stages run one after the other; the request and the plan of the
    # first are still held while the second runs.
    peak = (
        BASELINE_BYTES
        + max(roster_bytes, task_bytes)
        + min(roster_bytes, task_bytes) // 4
    )
    return SizeEstimate(
        tasks=tasks,
        candidate_pairs=pairs,
        cp_variables=max(roster_booleans, task_variables),
        peak_memory_bytes=peak,
        roster_booleans=roster_booleans,
        task_model_variables=task_variables,
    )


def check_size(request: Request, memory_limit_bytes: int) -> SizeEstimate:
    """Refuse a request whose models would not fit in `memory_limit_bytes`.

    Parameters
    ----------
    request
        The request to plan.
    memory_limit_bytes
        Memory the run may use.

    Returns
    -------
    SizeEstimate
        The estimate, when it fits.

    Raises
    ------
    ModelTooLarge
        With one sentence saying what needs the memory and what to reduce.
    """
    if memory_limit_bytes <= 0:
        raise ValueError("memory_limit_bytes must be > 0")
    size = estimate(request)
    logger.info(
        "sizing: request %s: %d roster booleans, %d tasks, %d pairs, ~%.2f GiB",
        request.request_id,
        size.roster_booleans,
        size.tasks,
        size.candidate_pairs,
        size.peak_memory_bytes / GIB,
    )
    if size.peak_memory_bytes <= memory_limit_bytes:
        return size
    raise ModelTooLarge(_advice(request, size, memory_limit_bytes))


def _advice(request: Request, size: SizeEstimate, limit: int) -> str:
    need = f"about {_gib(size.peak_memory_bytes)}; the limit is {_gib(limit)}"
    roster_bytes = ROSTER_BYTES_PER_BOOLEAN * size.roster_booleans
    if roster_bytes >= size.peak_memory_bytes - BASELINE_BYTES - roster_bytes // 4:
        interval = request.settings.interval_min
        slots = 1440 // interval
        fixes = ["shorten the horizon", "roster fewer staff at once"]
        if interval < 60:
            fixes.insert(1, f"use {2 * interval}-minute intervals")
        return (
            f"{len(request.staff)} staff x {request.horizon.days} days x {slots} "
            f"{_SLOT_NAMES[interval]} slots needs {need}: {_or(fixes)}"
        )
    return (
        f"{len(request.shipments):,} shipments ({size.tasks:,} tasks) need {need}: "
        "plan fewer shipments at once or shorten the horizon"
    )


def _gib(num_bytes: int) -> str:
    return f"{num_bytes / GIB:.1f} GiB"


def _or(fixes: list[str]) -> str:
    return ", ".join(fixes[:-1]) + f" or {fixes[-1]}" if len(fixes) > 1 else fixes[0]


def _shifts_by_role(request: Request) -> dict[str, int]:
    """Shifts people could work: the fixed roster's, else one a day each."""
    counts = {"clerk": 0, "broker": 0, "compliance": 0}
    people = {person.id: person for person in request.staff}
    if request.roster is not None:
        workers = [people[s.person_id] for s in request.roster if s.person_id in people]
    else:
        workers = list(request.staff) * request.horizon.days
    for person in workers:
        counts["clerk" if person.role == Role.clerk else "broker"] += 1
        if "compliance" in person.skills:
            counts["compliance"] += 1
    return counts


def _task_counts(
    request: Request, shifts: dict[str, int], exam_doors: int
) -> tuple[int, int]:
    """Tasks and (task, resource) pairs, each task counting its whole group."""
    doors = len(request.doors)
    unloads = {s.load_id for s in request.shipments if needs_unload(s)}
    tasks = len(unloads)
    pairs = len(unloads) * doors
    for shipment in request.shipments:
        done = set(shipment.done_tasks)
        lane = shipment.lane or Lane.green
        if TaskKind.review not in done:
            tasks, pairs = tasks + 1, pairs + shifts["clerk"]
        if shipment.compliance_required and TaskKind.compliance not in done:
            tasks, pairs = tasks + 1, pairs + shifts["compliance"]
        if TaskKind.declare not in done:
            tasks, pairs = tasks + 1, pairs + shifts["broker"]
        if lane == Lane.documentary and TaskKind.respond not in done:
            tasks, pairs = tasks + 1, pairs + shifts["broker"]
        if lane == Lane.physical and TaskKind.exam not in done:
            tasks, pairs = tasks + 1, pairs + shifts["broker"] * exam_doors
    return tasks, pairs
