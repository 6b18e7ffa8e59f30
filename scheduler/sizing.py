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

Peak memory is baseline + the larger stage (+ a quarter of the other,
whose request and plan are still held), each stage linear in its counts.
The constants come from real runs (`benchmarks/size_calibration.py` and
longer roster runs; 2 workers; peak resident memory of a fresh process;
2025-12-03, the 2-core development machine, other jobs running):

=============================  =========  =====  ========  ==============
run                            booleans   limit  peak MiB  bytes / count
=============================  =========  =====  ========  ==============
imports only                           -      -       103               -
roster 50 x 7 x 48                16,800   10 s       204               -
roster 100 x 7 x 48               33,600   10 s       176           2,200
roster 100 x 14 x 48              67,200   10 s       195           1,400
roster 100 x 7 x 96               67,200   10 s       203           1,550
roster 200 x 14 x 48             134,400   10 s       238           1,050
roster 300 x 14 x 48             201,600   30 s       476           1,900
roster 400 x 14 x 96             537,600   30 s       396             570
roster 400 x 31 x 48             595,200   30 s       612             900
roster 400 x 31 x 96 (C-05)    1,190,400   60 s       840             640
tasks 500 shipments                    -   10 s       154          (fixed)
tasks 2,000 shipments                  -   10 s       187          17,600
tasks 4,000 shipments                  -   10 s       192           9,800
tasks 8,000 shipments                  -   10 s       219           8,700
=============================  =========  =====  ========  ==============

(bytes / count: the peak above the imports, per roster boolean or per
shipment.) A roster boolean cost 570 to 2,200 bytes at 2 workers; the
estimate takes the upper envelope, 1,000 bytes per boolean per CP-SAT
worker, since CP-SAT's memory grows with its workers and its search
(the C-05 run grew from 180 MiB after the build to 840 MiB) and its
memory-limit parameter does not cap it. A shipment cost at most 17.6 kB
over the task engine's fixed part; the estimate takes 20 kB. By this
estimate C-05 needs about 2.4 GiB at 2 workers and is refused in 2 GiB.

`check_size` refuses a request whose estimate exceeds a memory limit with
`ModelTooLarge`, naming what to reduce.
"""

from __future__ import annotations

import logging
import resource
from dataclasses import dataclass
from pathlib import Path

import psutil

from scheduler.models import DoorCapability, Lane, Request, Role, TaskKind
from scheduler.release import needs_unload

logger = logging.getLogger(__name__)

GIB = 2**30

# From the calibration runs above (bytes).
BASELINE_BYTES = 150 * 2**20
ROSTER_BYTES_PER_BOOLEAN_PER_WORKER = 1_000
TASK_BYTES_PER_SHIPMENT = 20_000
TASK_BYTES_PER_MODEL_VARIABLE = 2_000

# The task engine's model sizes (see `solver.task.search` and `.lns`).
FULL_MODEL_MAX_ALTERNATIVES = 6_000
LNS_MAX_FREE_TASKS = 400
LNS_MAX_ALTERNATIVES = 8
VARIABLES_PER_ALTERNATIVE = 2  # its literal and its interval
VARIABLES_PER_TASK = 4  # start, presence, lateness, credit

_SLOT_NAMES = {15: "quarter-hour", 30: "half-hour", 60: "hour"}
_CGROUP_LIMIT_FILES = (
    "/sys/fs/cgroup/memory.max",
    "/sys/fs/cgroup/memory/memory.limit_in_bytes",
)


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

    roster_bytes = _roster_bytes(request, roster_booleans)
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


def check_size(request: Request, memory_limit_bytes: int | None = None) -> SizeEstimate:
    """Refuse a request whose models would not fit in `memory_limit_bytes`.

    Parameters
    ----------
    request
        The request to plan.
    memory_limit_bytes
        Memory the run may use; None reads it from the process: its
        address-space limit, its container's (cgroup) limit, else the
        machine's memory, whichever is smallest.

    Returns
    -------
    SizeEstimate
        The estimate, when it fits.

    Raises
    ------
    ModelTooLarge
        With one sentence saying what needs the memory and what to reduce.
    """
    if memory_limit_bytes is None:
        memory_limit_bytes = available_memory_bytes()
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


def _roster_bytes(request: Request, booleans: int) -> int:
    workers = request.settings.num_workers
    return ROSTER_BYTES_PER_BOOLEAN_PER_WORKER * workers * booleans


def _advice(request: Request, size: SizeEstimate, limit: int) -> str:
    need = f"about {_gib(size.peak_memory_bytes)}; the limit is {_gib(limit)}"
    roster_bytes = _roster_bytes(request, size.roster_booleans)
    if roster_bytes >= size.peak_memory_bytes - BASELINE_BYTES - roster_bytes // 4:
        interval = request.settings.interval_min
        slots = 1440 // interval
        fixes = ["shorten the horizon", "roster fewer staff at once"]
        if request.settings.num_workers > 1:
            fixes.append("use fewer workers")
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


def available_memory_bytes() -> int:
    """Memory this process may use: the smallest limit that applies to it."""
    limits = [psutil.virtual_memory().total]
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
        limits.append(soft)
    for path in _CGROUP_LIMIT_FILES:
        try:
            text = Path(path).read_text(encoding="ascii").strip()
        except OSError:
            continue
        # "max" (cgroup v2) or a huge number (v1) means no limit.
        if text.isdigit() and int(text) < 2**60:
            limits.append(int(text))
    return min(limits)


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
