"""The task plan's domain turned into the solver's index data, and back.

`build_task_index` reads a request and a roster the way
`docs/task-rules.md` states them and produces a `solver.task.TaskProblem`
(minutes from the start of the horizon, resources, groups, tasks, jobs)
together with the maps needed to read a solution back as plan tasks:

- a *job* is a shipment, in request order;
- a *resource* is a rostered shift of a person (its windows are the shift
  less its break; the break is a pausable break under policy ``pause``) or
  a dock door (its opening hours less outages); people come first;
- a *group* is the set of resources qualified for a need: clerks (with a
  language), compliance, brokers licensed for a regime and commodity (per
  shift, since a licence is valid by date), doors with some capabilities,
  exam doors;
- tasks come load unloads first, then each shipment's chain in the order
  review, compliance, declare, respond, exam.

Instants given with seconds are rounded towards what the rules allow: a
release rounds up, a window's start up and its end down.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from fractions import Fraction
from functools import lru_cache

from scheduler.dock import door_open_intervals
from scheduler.models import (
    DoorCapability,
    Interval,
    Lane,
    Load,
    Person,
    Priority,
    Request,
    Role,
    RosterShift,
    Shipment,
    Task,
    TaskKind,
    TaskStandard,
    Unscheduled,
)
from scheduler.release import needs_unload
from scheduler.shifts import ShiftInstance, instance
from scheduler.sitetime import add_minutes, local_midnight
from solver.task import (
    JobData,
    Precedence,
    ReleaseSource,
    ResourceData,
    TaskData,
    TaskProblem,
    TaskSolution,
)

logger = logging.getLogger(__name__)

PRIORITY_RANK = {Priority.express: 0, Priority.standard: 1, Priority.deferred: 2}
CHAIN_KINDS = (
    TaskKind.review,
    TaskKind.compliance,
    TaskKind.declare,
    TaskKind.respond,
    TaskKind.exam,
)
# What is missing when a group has no room, in `Unscheduled.reason` words.
REASON_OF_NEED = {
    "clerk": "no_clerk",
    "compliance": "no_clerk",
    "broker": "no_licensed_broker",
    "door": "no_capable_door",
    "exam_door": "no_capable_door",
}


@dataclass(frozen=True)
class ResourceInfo:
    """What a resource index stands for: a person's shift or a door."""

    person_id: str | None = None
    shift: ShiftInstance | None = None
    door_id: str | None = None


@dataclass(frozen=True)
class GroupInfo:
    """What a group stands for, in words for unscheduled details."""

    need: str  # a key of REASON_OF_NEED
    label: str  # e.g. "broker licensed for import of pharma"


@dataclass
class TaskIndex:
    """The index data of a task plan and the maps back to the domain.

    Parameters
    ----------
    request, roster
        What the index was built from.
    horizon_start
        Minute 0: local midnight of the horizon's first date.
    problem
        The solver's data.
    task_ids, task_kinds, task_shipment, task_load
        Per task: plan id, kind, shipment id (None for an unload) and load
        id (unloads only).
    job_shipments
        Per job: its shipment.
    resources, groups
        Per resource and per group: what it stands for.
    job_order
        Jobs in greedy order: priority, SLA deadline, actionable time, id.
    pause
        Whether tasks may pause over breaks (policy ``pause``).
    """

    request: Request
    roster: list[RosterShift]
    horizon_start: datetime
    problem: TaskProblem
    task_ids: list[str]
    task_kinds: list[TaskKind]
    task_shipment: list[str | None]
    task_load: list[str | None]
    job_shipments: list[Shipment]
    resources: list[ResourceInfo]
    groups: list[GroupInfo]
    job_order: list[int]
    pause: bool
    _instants: dict[int, datetime] = field(default_factory=dict, repr=False)

    def instant(self, minute: int) -> datetime:
        """The instant `minute` minutes after the start of the horizon."""
        cached = self._instants.get(minute)
        if cached is None:
            cached = self._instants[minute] = add_minutes(self.horizon_start, minute)
        return cached

    def to_tasks(self, solution: TaskSolution) -> list[Task]:
        """The plan's tasks of a solution, sorted by start then id."""
        problem = self.problem
        placed: list[tuple[int, str, Task]] = []
        for task_idx in range(problem.num_tasks):
            if not solution.done(task_idx):
                continue
            start, end = solution.start[task_idx], solution.end[task_idx]
            person_id = door_id = None
            pauses: list[Interval] = []
            for resource_idx in (
                solution.resource[task_idx],
                solution.second_resource[task_idx],
            ):
                if resource_idx < 0:
                    continue
                info = self.resources[resource_idx]
                if info.door_id is not None:
                    door_id = info.door_id
                else:
                    person_id = info.person_id
                    pauses = self._pauses(resource_idx, start, end)
            # Built without re-validation: every field is made here.
            task = Task.model_construct(
                id=self.task_ids[task_idx],
                kind=self.task_kinds[task_idx],
                shipment_id=self.task_shipment[task_idx],
                load_id=self.task_load[task_idx],
                person_id=person_id,
                door_id=door_id,
                start=self.instant(start),
                end=self.instant(end),
                work_min=problem.tasks[task_idx].duration_min,
                pauses=pauses,
            )
            placed.append((start, self.task_ids[task_idx], task))
        placed.sort(key=lambda item: (item[0], item[1]))
        return [task for _, _, task in placed]

    def _pauses(self, resource_idx: int, start: int, end: int) -> list[Interval]:
        """Breaks of the resource inside [start, end) (policy ``pause``)."""
        if not self.pause:
            return []
        return [
            Interval(start=self.instant(b0), end=self.instant(b1))
            for b0, b1 in self.problem.resources[resource_idx].breaks
            if start <= b0 and b1 <= end
        ]

    def to_unscheduled(self, reasons: dict[int, tuple[str, str]]) -> list[Unscheduled]:
        """Unscheduled entries, in request order of the shipments."""
        return [
            Unscheduled(
                shipment_id=self.job_shipments[job_idx].id,
                reason=reason,
                detail=detail,
            )
            for job_idx, (reason, detail) in sorted(reasons.items())
        ]


def task_duration_min(
    standard: TaskStandard, pallets: int = 0, documents: int = 0, lines: int = 0
) -> int:
    """Minutes of a task: the labour standard rounded up, at least 1.

    Exact decimal arithmetic, so 0.7 min x 10 lines is 7 minutes, not 8.
    """
    return _duration_min(
        standard.base_min,
        standard.per_pallet_min,
        standard.per_document_min,
        standard.per_line_min,
        pallets,
        documents,
        lines,
    )


@lru_cache(maxsize=65536)
def _duration_min(
    base_min: int,
    per_pallet_min: float,
    per_document_min: float,
    per_line_min: float,
    pallets: int,
    documents: int,
    lines: int,
) -> int:
    exact = (
        Fraction(base_min)
        + Fraction(str(per_pallet_min)) * pallets
        + Fraction(str(per_document_min)) * documents
        + Fraction(str(per_line_min)) * lines
    )
    return max(1, math.ceil(exact))


def build_task_index(request: Request, roster: Sequence[RosterShift]) -> TaskIndex:
    """Read a request and roster into the task model's index data.

    Parameters
    ----------
    request
        The request: site, horizon, staff, doors, standards, loads,
        shipments and settings.
    roster
        The shifts people work (the request's roster or a planned one).

    Returns
    -------
    TaskIndex
        The solver's data and the maps back to the domain.
    """
    return _IndexBuilder(request, list(roster)).build()


@dataclass
class _IndexBuilder:
    request: Request
    roster: list[RosterShift]
    horizon_start: datetime = field(init=False)
    horizon_min: int = field(init=False)
    horizon_start_s: float = field(init=False)
    loads: dict[str, Load] = field(init=False)
    resources: list[ResourceData] = field(default_factory=list)
    resource_info: list[ResourceInfo] = field(default_factory=list)
    groups: list[tuple[int, ...]] = field(default_factory=list)
    group_info: list[GroupInfo] = field(default_factory=list)
    group_keys: dict[tuple[object, ...], int] = field(default_factory=dict)
    tasks: list[TaskData] = field(default_factory=list)
    task_ids: list[str] = field(default_factory=list)
    task_kinds: list[TaskKind] = field(default_factory=list)
    task_shipment: list[str | None] = field(default_factory=list)
    task_load: list[str | None] = field(default_factory=list)
    precedences: list[Precedence] = field(default_factory=list)
    jobs: list[JobData] = field(default_factory=list)
    job_keys: list[tuple[int, int, int, str]] = field(default_factory=list)
    shift_persons: list[tuple[Person, ShiftInstance]] = field(default_factory=list)
    door_resources: list[tuple[int, list[DoorCapability]]] = field(default_factory=list)

    def build(self) -> TaskIndex:
        request = self.request
        tz = request.site.timezone
        self.horizon_start = local_midnight(request.horizon.start_date, tz)
        self.horizon_start_s = self.horizon_start.timestamp()
        horizon_end = local_midnight(
            request.horizon.start_date + timedelta(days=request.horizon.days), tz
        )
        self.horizon_min = self._floor(horizon_end)

        self.loads = {load.id: load for load in request.loads}
        self._shift_resources()
        self._door_resources()
        unload_of_load = self._unload_tasks()
        for job_idx, shipment in enumerate(request.shipments):
            self._shipment_job(job_idx, shipment, unload_of_load)

        pause = request.settings.policies.breaks == "pause"
        problem = TaskProblem(
            horizon_min=self.horizon_min,
            resources=tuple(self.resources),
            groups=tuple(self.groups),
            tasks=tuple(self.tasks),
            precedences=tuple(self.precedences),
            jobs=tuple(self.jobs),
            pause_over_breaks=pause,
        )
        job_order = sorted(range(len(self.jobs)), key=lambda j: self.job_keys[j])
        logger.debug(
            "task index: request %s, %d shipments, %d tasks, %d resources, %d groups",
            request.request_id,
            len(self.jobs),
            len(self.tasks),
            len(self.resources),
            len(self.groups),
        )
        return TaskIndex(
            request=request,
            roster=self.roster,
            horizon_start=self.horizon_start,
            problem=problem,
            task_ids=self.task_ids,
            task_kinds=self.task_kinds,
            task_shipment=self.task_shipment,
            task_load=self.task_load,
            job_shipments=list(request.shipments),
            resources=self.resource_info,
            groups=self.group_info,
            job_order=job_order,
            pause=pause,
        )

    # ------------------------------------------------------------------
    # Minutes

    def _exact(self, instant: datetime) -> float:
        # timestamp() reads the offset, so this is elapsed real time.
        return (instant.timestamp() - self.horizon_start_s) / 60.0

    def _ceil(self, instant: datetime) -> int:
        return math.ceil(self._exact(instant))

    def _floor(self, instant: datetime) -> int:
        return math.floor(self._exact(instant))

    def _clip(self, start: int, end: int) -> tuple[int, int] | None:
        start, end = max(0, start), min(self.horizon_min, end)
        return (start, end) if start < end else None

    # ------------------------------------------------------------------
    # Resources

    def _shift_resources(self) -> None:
        """One resource per rostered shift: the shift less its break."""
        request = self.request
        tz = request.site.timezone
        people = {person.id: person for person in request.staff}
        templates = {template.id: template for template in request.shift_templates}
        seen: set[tuple[str, object, str]] = set()
        for shift in self.roster:
            key = (shift.person_id, shift.date, shift.template_id)
            person = people.get(shift.person_id)
            template = templates.get(shift.template_id)
            if person is None or template is None or key in seen:
                logger.warning(
                    "task index: request %s: roster shift %s:%s:%s skipped "
                    "(unknown person or template, or repeated)",
                    request.request_id,
                    shift.person_id,
                    shift.date,
                    shift.template_id,
                )
                continue
            seen.add(key)
            real = instance(template, shift.date, tz, shift.extension_min)
            start, end = self._ceil(real.start), self._floor(real.end)
            pieces: list[tuple[int, int]] = []
            breaks: list[tuple[int, int]] = []
            if real.break_start is not None and real.break_end is not None:
                break_start = self._floor(real.break_start)
                break_end = self._ceil(real.break_end)
                pieces = [(start, break_start), (break_end, end)]
                breaks = [(break_start, break_end)]
            else:
                pieces = [(start, end)]
            windows = [w for w in (self._clip(*p) for p in pieces) if w is not None]
            if not windows:
                continue
            kept_breaks = tuple(
                b
                for b in breaks
                if any(w[1] == b[0] for w in windows)
                and any(w[0] == b[1] for w in windows)
            )
            self.resources.append(
                ResourceData(windows=tuple(windows), breaks=kept_breaks)
            )
            self.resource_info.append(ResourceInfo(person_id=person.id, shift=real))
            self.shift_persons.append((person, real))

    def _door_resources(self) -> None:
        """One resource per door: opening hours less outages, in the horizon."""
        for door in self.request.doors:
            windows = []
            for open_at, close_at in door_open_intervals(self.request, door):
                window = self._clip(self._ceil(open_at), self._floor(close_at))
                if window is not None:
                    windows.append(window)
            merged: list[tuple[int, int]] = []
            for start, end in sorted(windows):
                if merged and start <= merged[-1][1]:
                    merged[-1] = (merged[-1][0], max(merged[-1][1], end))
                else:
                    merged.append((start, end))
            self.door_resources.append((len(self.resources), list(door.capabilities)))
            self.resources.append(ResourceData(windows=tuple(merged)))
            self.resource_info.append(ResourceInfo(door_id=door.id))

    # ------------------------------------------------------------------
    # Groups

    def _group(
        self, key: tuple[object, ...], info: GroupInfo, members: list[int]
    ) -> int:
        if key not in self.group_keys:
            self.group_keys[key] = len(self.groups)
            self.groups.append(tuple(sorted(members)))
            self.group_info.append(info)
        return self.group_keys[key]

    def _clerk_group(self, language: str | None) -> int:
        key = ("clerk", language)
        if key in self.group_keys:
            return self.group_keys[key]
        members = [
            idx
            for idx, (person, _) in enumerate(self.shift_persons)
            if person.role == Role.clerk
            and (language is None or language in person.languages)
        ]
        label = "clerk" if language is None else f"clerk speaking {language}"
        return self._group(key, GroupInfo("clerk", label), members)

    def _compliance_group(self) -> int:
        key = ("compliance",)
        if key in self.group_keys:
            return self.group_keys[key]
        members = [
            idx
            for idx, (person, _) in enumerate(self.shift_persons)
            if "compliance" in person.skills
        ]
        return self._group(key, GroupInfo("compliance", "compliance reviewer"), members)

    def _broker_group(self, shipment: Shipment) -> int:
        regime, commodity = shipment.regime, shipment.commodity
        key = ("broker", regime.value, commodity)
        if key in self.group_keys:
            return self.group_keys[key]
        jurisdiction = self.request.site.jurisdiction
        members = []
        for idx, (person, real) in enumerate(self.shift_persons):
            if person.role != Role.broker:
                continue
            if any(
                licence.jurisdiction == jurisdiction
                and licence.valid_on(real.date)
                and (not licence.regimes or regime in licence.regimes)
                and (not licence.commodities or commodity in licence.commodities)
                for licence in person.licences
            ):
                members.append(idx)
        label = f"broker licensed in {jurisdiction} for {regime.value} of {commodity}"
        return self._group(key, GroupInfo("broker", label), members)

    def _door_group(self, load: Load) -> int:
        needs = frozenset(load.requirements)
        key = ("door", tuple(sorted(c.value for c in needs)))
        if key in self.group_keys:
            return self.group_keys[key]
        members = []
        for resource_idx, capabilities in self.door_resources:
            held = set(capabilities)
            # A load asking for nothing takes any door that is not exam-only.
            qualifies = needs <= held if needs else bool(held - {DoorCapability.exam})
            if qualifies:
                members.append(resource_idx)
        wanted = ", ".join(sorted(c.value for c in needs)) or "any unloading"
        return self._group(key, GroupInfo("door", f"door with {wanted}"), members)

    def _exam_door_group(self) -> int:
        key = ("exam_door",)
        if key in self.group_keys:
            return self.group_keys[key]
        members = [
            idx for idx, caps in self.door_resources if DoorCapability.exam in caps
        ]
        return self._group(key, GroupInfo("exam_door", "exam door"), members)

    # ------------------------------------------------------------------
    # Tasks and jobs

    def _add_task(
        self,
        task_id: str,
        kind: TaskKind,
        data: TaskData,
        shipment_id: str | None,
        load_id: str | None,
    ) -> int:
        self.tasks.append(data)
        self.task_ids.append(task_id)
        self.task_kinds.append(kind)
        self.task_shipment.append(shipment_id)
        self.task_load.append(load_id)
        return len(self.tasks) - 1

    def _unload_tasks(self) -> dict[str, int]:
        """One unload per load some shipment waits on."""
        request = self.request
        standards = request.labour_standards
        job_of = {s.id: j for j, s in enumerate(request.shipments)}
        waiting: dict[str, list[int]] = {}
        pallets: dict[str, int] = {}
        for shipment in request.shipments:
            if shipment.load_id is None:
                continue
            pallets[shipment.load_id] = (
                pallets.get(shipment.load_id, 0) + shipment.pallets
            )
            if needs_unload(shipment):
                waiting.setdefault(shipment.load_id, []).append(job_of[shipment.id])

        unload_of_load: dict[str, int] = {}
        for load in request.loads:
            if load.id not in waiting:
                continue
            load_pallets = (
                load.pallets if load.pallets is not None else pallets[load.id]
            )
            data = TaskData(
                duration_min=task_duration_min(standards.unload, pallets=load_pallets),
                release_min=max(0, self._ceil(load.eta)),
                group=self._door_group(load),
                jobs=tuple(waiting[load.id]),
            )
            unload_of_load[load.id] = self._add_task(
                f"{load.id}:unload", TaskKind.unload, data, None, load.id
            )
        return unload_of_load

    def _shipment_job(
        self, job_idx: int, shipment: Shipment, unload_of_load: dict[str, int]
    ) -> None:
        """The tasks of one shipment's chain, its precedences and its job."""
        request = self.request
        standards = request.labour_standards
        response_min = standards.customs_response_min
        lane = shipment.lane or Lane.green
        done = set(shipment.done_tasks)
        unload = (
            unload_of_load.get(shipment.load_id or "")
            if needs_unload(shipment)
            else None
        )

        def add(
            kind: TaskKind,
            duration: int,
            release: int,
            group: int,
            second_group: int = -1,
            latest_start_min: int | None = None,
        ) -> int:
            data = TaskData(
                duration_min=duration,
                release_min=max(0, release),
                group=group,
                jobs=(job_idx,),
                second_group=second_group,
                latest_start_min=latest_start_min,
            )
            return self._add_task(
                f"{shipment.id}:{kind.value}", kind, data, shipment.id, None
            )

        docs, lines = shipment.documents, shipment.declaration_lines
        review = compliance = declare = last = None
        if TaskKind.review not in done:
            review = add(
                TaskKind.review,
                task_duration_min(standards.review, documents=docs, lines=lines),
                self._ceil(shipment.documents_ready_at),
                self._clerk_group(shipment.language),
            )
        if shipment.compliance_required and TaskKind.compliance not in done:
            compliance = add(
                TaskKind.compliance,
                task_duration_min(standards.compliance, documents=docs, lines=lines),
                0,
                self._compliance_group(),
            )
            self._precede(review, compliance, 0)
        if TaskKind.declare not in done:
            declare = add(
                TaskKind.declare,
                task_duration_min(standards.declare, lines=lines),
                0,
                self._broker_group(shipment),
            )
            self._precede(review, declare, 0)
            self._precede(compliance, declare, 0)
        last = declare
        # With declare done before the horizon, customs answered from H0 on.
        after_declare = response_min if declare is None else 0
        if lane == Lane.documentary and TaskKind.respond not in done:
            last = add(
                TaskKind.respond,
                task_duration_min(standards.respond, documents=docs, lines=lines),
                after_declare,
                self._broker_group(shipment),
            )
            self._precede(declare, last, response_min)
        elif lane == Lane.physical and TaskKind.exam not in done:
            window = shipment.exam_window
            release = after_declare
            latest = None
            if window is not None:
                release = max(release, self._ceil(window.start))
                latest = self._ceil(window.end) - 1
            last = add(
                TaskKind.exam,
                task_duration_min(standards.exam, pallets=shipment.pallets),
                release,
                self._broker_group(shipment),
                second_group=self._exam_door_group(),
                latest_start_min=latest,
            )
            self._precede(declare, last, response_min)
            self._precede(unload, last, 0)
        elif lane != Lane.green:
            last = None  # the customs task was done before the horizon

        self.jobs.append(self._job(shipment, lane, unload, declare, last))

    def _precede(self, pred: int | None, succ: int, delay: int) -> None:
        if pred is not None:
            self.precedences.append(Precedence(pred, succ, delay))

    def _job(
        self,
        shipment: Shipment,
        lane: Lane,
        unload: int | None,
        declare: int | None,
        last: int | None,
    ) -> JobData:
        """Costs and the lateness rule of one shipment."""
        request = self.request
        settings = request.settings
        weights = settings.weights
        response_min = request.labour_standards.customs_response_min
        priority_weight = weights.priority(shipment.priority)

        # The SLA clock starts when both the papers and the goods are there.
        goods_at_door = 0.0
        if unload is not None and shipment.load_id is not None:
            goods_at_door = self._exact(self.loads[shipment.load_id].eta)
        actionable = max(self._exact(shipment.documents_ready_at), goods_at_door)
        if shipment.sla_deadline is not None:
            deadline = self._exact(shipment.sla_deadline)
        else:
            deadline = actionable + settings.sla.of(shipment.priority)
        decisions = 1 if lane == Lane.green else 2
        due = math.ceil(deadline) + response_min * decisions

        # Release: goods in, and customs done after the last customs task.
        release_from: list[ReleaseSource] = []
        floor = 0
        if unload is not None:
            release_from.append(ReleaseSource(unload, 0))
        if last is not None:
            release_from.append(ReleaseSource(last, response_min))
        else:
            floor = response_min  # the customs task ended at H0

        credit_task, credit_until = -1, 0
        if lane == Lane.physical and shipment.exam_window is not None:
            credit_until = self._floor(shipment.exam_window.start)
            if declare is not None:
                credit_task = declare
            else:
                due += max(0, credit_until - response_min)

        self.job_keys.append(
            (
                PRIORITY_RANK[shipment.priority],
                math.ceil(deadline),
                math.ceil(actionable),
                shipment.id,
            )
        )
        return JobData(
            unscheduled_cost=weights.unscheduled * priority_weight,
            lateness_weight=weights.lateness * priority_weight,
            due_min=due,
            release_floor_min=floor,
            release_from=tuple(release_from),
            credit_task=credit_task,
            credit_offset_min=response_min,
            credit_until_min=credit_until,
        )
