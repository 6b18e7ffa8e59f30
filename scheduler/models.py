"""The request, plan and event formats of clearplan (schema version 1).

These pydantic models are the contract between clearplan and its users:
`clearplan schema request|plan|events` prints their JSON Schema and the
service publishes it. Later work extends them; it never breaks a file that
was valid before.

Units: durations are integer minutes (`*_min`), money is integer cents
(`*_cents`), instants are RFC 3339 with an offset, and local wall-clock
times (`HH:MM`) appear only in fields whose names end in `_local`.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

LocalDate = date  # alias: some models have a field called `date`

SCHEMA_VERSION: Literal["1.0"] = "1.0"
MAX_HORIZON_DAYS = 31
MAX_WEIGHT = 10**9

_INSTANT_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2})$"
)
_HHMM_RE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$")


def _parse_instant(value: Any) -> Any:
    """Accept only instants that carry an explicit UTC offset.

    A date alone or a time without an offset is refused rather than
    guessed: guessing midnight UTC, or the server's zone, silently moves a
    truck by hours.
    """
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("must be an instant with a UTC offset")
        return value
    if isinstance(value, str):
        if not _INSTANT_RE.match(value):
            raise ValueError(
                "must be an RFC 3339 instant with a UTC offset, "
                "like 2025-11-11T08:00:00+08:00"
            )
        return datetime.fromisoformat(value.replace("z", "Z"))
    raise ValueError("must be an RFC 3339 instant with a UTC offset")


def _check_hhmm(value: Any) -> Any:
    if not isinstance(value, str) or not _HHMM_RE.match(value):
        raise ValueError("must be a local wall-clock time HH:MM (00:00-23:59)")
    return value


Instant = Annotated[
    datetime,
    BeforeValidator(_parse_instant),
    Field(json_schema_extra={"format": "date-time"}),
]
LocalClock = Annotated[
    str,
    BeforeValidator(_check_hhmm),
    Field(pattern=r"^([01]\d|2[0-3]):[0-5]\d$|^24:00$"),
]
# Ids appear in task ids ("{shipment_id}:{kind}") and in URL paths, so they
# hold no colon, slash or white space.
_ID_RE = re.compile(r"^[^\s:/]{1,128}$")


def _check_id(value: Any) -> Any:
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise ValueError(
            "must be an id of 1 to 128 characters without spaces, ':' or '/'"
        )
    return value


Identifier = Annotated[
    str,
    BeforeValidator(_check_id),
    Field(min_length=1, max_length=128, pattern=r"^[^\s:/]+$"),
]
Weight = Annotated[int, Field(ge=0, le=MAX_WEIGHT)]
Minutes = Annotated[int, Field(ge=0, le=60 * 24 * 62)]
Cents = Annotated[int, Field(ge=0, le=10**9)]


class Model(BaseModel):
    """Base of every format model: unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Role(StrEnum):
    broker = "broker"
    clerk = "clerk"


class Priority(StrEnum):
    express = "express"
    standard = "standard"
    deferred = "deferred"


class Regime(StrEnum):
    import_ = "import"
    export = "export"
    transit = "transit"
    bonded = "bonded"


class Mode(StrEnum):
    air = "air"
    sea = "sea"
    road = "road"


class Lane(StrEnum):
    green = "green"
    documentary = "documentary"
    physical = "physical"


class DoorCapability(StrEnum):
    standard = "standard"
    cold_chain = "cold_chain"
    dangerous_goods = "dangerous_goods"
    oversize = "oversize"
    exam = "exam"


class TaskKind(StrEnum):
    unload = "unload"
    review = "review"
    compliance = "compliance"
    declare = "declare"
    respond = "respond"
    exam = "exam"


class PlanStatus(StrEnum):
    optimal = "optimal"
    feasible = "feasible"
    heuristic = "heuristic"
    cancelled = "cancelled"
    infeasible = "infeasible"
    failed = "failed"


Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


# --------------------------------------------------------------------------
# Site and horizon


class Site(Model):
    """The clearance site: its id, IANA time zone and customs jurisdiction."""

    id: Identifier
    timezone: str = Field(description="IANA time zone, e.g. Asia/Hong_Kong")
    jurisdiction: str = Field(
        default="HK",
        min_length=1,
        max_length=16,
        description="customs jurisdiction brokers need a licence in",
    )
    name: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(
                f"'{value}' is not an IANA time zone name (like Europe/Berlin)"
            ) from exc
        return value


class Horizon(Model):
    """The planned local dates: `days` days from `start_date`."""

    start_date: date
    days: int = Field(ge=1, le=MAX_HORIZON_DAYS)

    def dates(self) -> list[date]:
        return [self.start_date + timedelta(days=i) for i in range(self.days)]


class Interval(Model):
    """A half-open interval of real time [start, end)."""

    start: Instant
    end: Instant
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Interval:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class DateRange(Model):
    """Whole local days from `first_date` to `last_date`, both included."""

    first_date: date
    last_date: date
    reason: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> DateRange:
        if self.last_date < self.first_date:
            raise ValueError("last_date must be on or after first_date")
        return self


# --------------------------------------------------------------------------
# Staff


class Licence(Model):
    """A broker licence: jurisdiction, the regimes and commodities it covers.

    Empty `regimes` or `commodities` means all of them.
    """

    jurisdiction: str = Field(min_length=1, max_length=16)
    regimes: list[Regime] = Field(default_factory=list)
    commodities: list[str] = Field(default_factory=list)
    valid_from: date | None = None
    expires: date | None = Field(
        default=None, description="last local date the licence is valid"
    )

    def valid_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return self.expires is None or day <= self.expires


class Contract(Model):
    """Labour rules of one person. Minutes are worked minutes (breaks out)."""

    min_minutes_per_week: Minutes = 0
    max_minutes_per_week: Minutes = 48 * 60
    min_minutes_total: Minutes = 0
    max_minutes_total: Minutes | None = None
    max_consecutive_days: int = Field(default=6, ge=1, le=MAX_HORIZON_DAYS + 31)
    min_consecutive_days: int = Field(default=1, ge=1, le=14)
    min_consecutive_days_off: int = Field(default=1, ge=1, le=14)
    min_rest_min: Minutes = 11 * 60
    max_working_weekends: int | None = Field(default=None, ge=0, le=6)
    max_shifts_per_template: dict[str, int] = Field(default_factory=dict)
    hourly_cost_cents: Cents = 0
    overtime_rate_pct: int = Field(default=150, ge=100, le=400)
    max_overtime_min_per_week: Minutes = 0

    @model_validator(mode="after")
    def _bands(self) -> Contract:
        if self.min_minutes_per_week > self.max_minutes_per_week:
            raise ValueError(
                "min_minutes_per_week must not exceed max_minutes_per_week"
            )
        if (
            self.max_minutes_total is not None
            and self.min_minutes_total > self.max_minutes_total
        ):
            raise ValueError("min_minutes_total must not exceed max_minutes_total")
        for template_id, count in self.max_shifts_per_template.items():
            if count < 0:
                raise ValueError(f"max_shifts_per_template[{template_id}] must be >= 0")
        return self


class ShiftRequest(Model):
    """A wish to work (`on`) or not work (`off`) on a date.

    With `template_id` the wish is about that shift; without, about any.
    An unmet request costs `weight` times the `requests` weight.
    """

    date: LocalDate
    template_id: Identifier | None = None
    kind: Literal["on", "off"]
    weight: Weight = 1


class OnCall(Model):
    """On-call staff or agency temps: only worked when called in."""

    kind: Literal["on_call", "agency"] = "on_call"
    call_in_cost_cents: Cents = 0
    notice_min: Minutes = 0


class Person(Model):
    """A broker or a shared-service-centre clerk."""

    id: Identifier
    name: str = Field(default="", max_length=200)
    role: Role
    skills: list[str] = Field(default_factory=list)
    licences: list[Licence] = Field(default_factory=list)
    languages: list[str] = Field(default_factory=list)
    contract: Contract = Field(default_factory=Contract)
    leave: list[DateRange | Interval] = Field(default_factory=list)
    unavailability: list[Interval] = Field(default_factory=list)
    shift_requests: list[ShiftRequest] = Field(default_factory=list)
    on_call: OnCall | None = None


class StaffHistory(Model):
    """What a person worked just before the horizon."""

    person_id: Identifier
    last_shift_end: Instant | None = None
    consecutive_days_worked: int = Field(default=0, ge=0, le=366)
    consecutive_days_off: int = Field(default=0, ge=0, le=366)
    minutes_worked_this_week: Minutes = 0
    working_weekends: int = Field(default=0, ge=0, le=53)


# --------------------------------------------------------------------------
# Shift templates, doors, labour standards


class ShiftTemplate(Model):
    """A shift pattern. An `end_local` at or before `start_local` is the next day.

    The break starts at `break_start_local` and lasts `break_min`; nobody
    works in it. A paid break is paid but not worked.
    """

    id: Identifier
    roles: list[Role] = Field(default_factory=lambda: [Role.broker, Role.clerk])
    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    start_local: LocalClock
    end_local: LocalClock
    break_start_local: LocalClock | None = None
    break_min: Minutes = 0
    break_paid: bool = False
    forbidden_successors: list[Identifier] = Field(
        default_factory=list,
        description="templates that may not start on the local date after this one",
    )
    max_extension_min: Minutes = Field(
        default=0, description="overtime that may be added at the end"
    )
    extension_step_min: int = Field(default=60, ge=15, le=240)

    @model_validator(mode="after")
    def _break(self) -> ShiftTemplate:
        if self.break_min > 0 and self.break_start_local is None:
            raise ValueError("break_start_local is required when break_min > 0")
        if not self.weekdays:
            raise ValueError("weekdays must name at least one day")
        if not self.roles:
            raise ValueError("roles must name at least one role")
        return self


class OpeningHours(Model):
    """A door is open from `open_local` to `close_local` on these weekdays."""

    weekdays: list[Weekday] = Field(default_factory=lambda: list(WEEKDAYS))
    open_local: LocalClock
    close_local: LocalClock


class Door(Model):
    """A dock door; no opening hours means open around the clock."""

    id: Identifier
    capabilities: list[DoorCapability] = Field(
        default_factory=lambda: [DoorCapability.standard]
    )
    opening_hours: list[OpeningHours] = Field(default_factory=list)
    outages: list[Interval] = Field(default_factory=list)
    hourly_cost_cents: Cents = 0


class TaskStandard(Model):
    """Minutes of a task: base + per pallet + per document + per line."""

    base_min: Minutes = 0
    per_pallet_min: float = Field(default=0.0, ge=0, le=600)
    per_document_min: float = Field(default=0.0, ge=0, le=600)
    per_line_min: float = Field(default=0.0, ge=0, le=600)


def _std(base: int, pallet: float = 0, doc: float = 0, line: float = 0) -> Any:
    return lambda: TaskStandard(
        base_min=base,
        per_pallet_min=pallet,
        per_document_min=doc,
        per_line_min=line,
    )


class LaneMix(Model):
    """Expected shares of customs lanes for shipments whose lane is unknown."""

    green: float = Field(default=0.88, ge=0, le=1)
    documentary: float = Field(default=0.08, ge=0, le=1)
    physical: float = Field(default=0.04, ge=0, le=1)

    @model_validator(mode="after")
    def _sums_to_one(self) -> LaneMix:
        total = self.green + self.documentary + self.physical
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"lane shares must sum to 1 (they sum to {total:g})")
        return self


class LabourStandards(Model):
    """Task times and customs response times (see README for the sources)."""

    unload: TaskStandard = Field(default_factory=_std(10, pallet=2.0))
    review: TaskStandard = Field(default_factory=_std(6, doc=2.0, line=0.25))
    compliance: TaskStandard = Field(default_factory=_std(15, doc=1.0))
    declare: TaskStandard = Field(default_factory=_std(10, line=0.5))
    respond: TaskStandard = Field(default_factory=_std(20, doc=2.0))
    exam: TaskStandard = Field(default_factory=_std(30, pallet=5.0))
    customs_response_min: Minutes = 20
    lane_mix: LaneMix = Field(default_factory=LaneMix)


# --------------------------------------------------------------------------
# Forecast, loads and shipments


class ForecastItem(Model):
    """Expected arrivals of similar shipments over [start, end)."""

    start: Instant
    end: Instant
    shipments: float = Field(ge=0, le=10**6)
    priority: Priority = Priority.standard
    regime: Regime = Regime.import_
    commodity: str = "general"
    mode: Mode = Mode.air
    pallets_per_shipment: float = Field(default=1.0, ge=0, le=1000)
    documents_per_shipment: float = Field(default=3.0, ge=0, le=1000)
    lines_per_shipment: float = Field(default=5.0, ge=0, le=10000)
    compliance_share: float = Field(default=0.0, ge=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> ForecastItem:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class ExamWindow(Model):
    """The appointment customs set for a physical exam."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _ordered(self) -> ExamWindow:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class Shipment(Model):
    """One consignment: its paper side and, through its load, its goods."""

    id: Identifier
    load_id: Identifier | None = Field(
        default=None, description="the load bringing it; none if already in"
    )
    mode: Mode = Mode.air
    regime: Regime = Regime.import_
    commodity: str = "general"
    priority: Priority = Priority.standard
    sla_deadline: Instant | None = None
    documents_ready_at: Instant
    pallets: int = Field(default=1, ge=0, le=1000)
    documents: int = Field(default=3, ge=0, le=1000)
    declaration_lines: int = Field(default=5, ge=0, le=10000)
    compliance_required: bool = False
    lane: Lane | None = None
    exam_window: ExamWindow | None = None
    in_warehouse: bool = False
    done_tasks: list[TaskKind] = Field(
        default_factory=list, description="tasks done before the horizon"
    )
    language: str | None = None

    @model_validator(mode="after")
    def _exam(self) -> Shipment:
        if self.exam_window is not None and self.lane != Lane.physical:
            raise ValueError("exam_window is only allowed when lane is 'physical'")
        return self


class Load(Model):
    """A truck or air container bringing shipments to a dock door."""

    id: Identifier
    kind: Literal["truck", "air_container"] = "truck"
    eta: Instant
    requirements: list[DoorCapability] = Field(default_factory=list)
    pallets: int | None = Field(
        default=None, ge=0, le=100000, description="defaults to its shipments'"
    )


# --------------------------------------------------------------------------
# Roster and cover


class RosterShift(Model):
    """One shift instance of a person, filling one post (a skill).

    Input needs `person_id`, `date`, `template_id` and `post`; the instants
    are filled in by clearplan and ignored when a roster is fed back in.
    """

    id: str | None = Field(default=None, description="{person_id}:{date}:{template_id}")
    person_id: Identifier
    date: LocalDate
    template_id: Identifier
    post: str = Field(min_length=1, max_length=128)
    extension_min: Minutes = 0
    call_in: bool = False
    needs_approval: bool = False
    start: Instant | None = None
    end: Instant | None = None
    break_start: Instant | None = None
    break_end: Instant | None = None
    worked_min: int | None = None
    paid_min: int | None = None
    cost_cents: int | None = None


class CoverRequirement(Model):
    """Persons of a skill needed over [start, end) or on a shift slot.

    Give either `start` and `end`, or `date` and `template_id` (a shift
    slot: persons rostered on that template that day with that post).
    """

    skill: str = Field(min_length=1, max_length=128)
    persons: int = Field(ge=0, le=10000)
    start: Instant | None = None
    end: Instant | None = None
    date: LocalDate | None = None
    template_id: Identifier | None = None
    weight_under: Weight | None = None
    weight_over: Weight | None = None

    @model_validator(mode="after")
    def _one_form(self) -> CoverRequirement:
        has_interval = self.start is not None or self.end is not None
        has_slot = self.date is not None or self.template_id is not None
        if has_interval == has_slot:
            raise ValueError("give either start and end, or date and template_id")
        if has_interval and (self.start is None or self.end is None):
            raise ValueError("start and end must both be given")
        if has_slot and (self.date is None or self.template_id is None):
            raise ValueError("date and template_id must both be given")
        if self.start is not None and self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


# --------------------------------------------------------------------------
# Settings


class Weights(Model):
    """Objective weights. Defaults make the terms matter roughly in order:
    unscheduled, lateness, undercover, overcover, cost, requests, fairness,
    stability, while letting a little cost buy a lot of cover."""

    priority_express: Weight = 100
    priority_standard: Weight = 10
    priority_deferred: Weight = 1
    unscheduled: Weight = 100_000
    lateness: Weight = 10
    undercover: Weight = 10_000
    overcover: Weight = 100
    cost: Weight = 1
    requests: Weight = 500
    unavailability: Weight = 50
    fairness: Weight = 5
    stability_move: Weight = 1
    stability_reassign: Weight = 100

    def priority(self, priority: Priority | str) -> int:
        return int(getattr(self, f"priority_{Priority(priority).value}"))


class Policies(Model):
    """Choices a site makes about hard and soft rules."""

    breaks: Literal["no_straddle", "pause"] = "no_straddle"
    unavailability: Literal["hard", "soft"] = "hard"


class SlaMinutes(Model):
    """Default SLA per priority, from the moment a shipment is actionable."""

    express: Minutes = 4 * 60
    standard: Minutes = 24 * 60
    deferred: Minutes = 48 * 60

    def of(self, priority: Priority | str) -> int:
        return int(getattr(self, Priority(priority).value))


class Settings(Model):
    """How to solve: limits, determinism, weights and policies."""

    time_limit_s: float = Field(default=30.0, gt=0, le=3600)
    seed: int = Field(default=0, ge=0, le=2**31 - 1)
    reproducible: bool = False
    num_workers: int = Field(default=2, ge=1, le=64)
    interval_min: Literal[15, 30, 60] = 30
    utilisation_target: float = Field(default=0.85, gt=0, le=1)
    planned_at: Instant | None = Field(
        default=None, description="when the plan is made; call-in notice counts from it"
    )
    sla: SlaMinutes = Field(default_factory=SlaMinutes)
    weights: Weights = Field(default_factory=Weights)
    policies: Policies = Field(default_factory=Policies)


# --------------------------------------------------------------------------
# Request


class Request(Model):
    """Everything clearplan needs to plan one site over a horizon."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    request_id: str | None = Field(default=None, max_length=128)
    site: Site
    horizon: Horizon
    staff: list[Person] = Field(default_factory=list)
    shift_templates: list[ShiftTemplate] = Field(default_factory=list)
    doors: list[Door] = Field(default_factory=list)
    labour_standards: LabourStandards = Field(default_factory=LabourStandards)
    forecast: list[ForecastItem] = Field(default_factory=list)
    cover_requirements: list[CoverRequirement] = Field(default_factory=list)
    loads: list[Load] = Field(default_factory=list)
    shipments: list[Shipment] = Field(default_factory=list)
    roster: list[RosterShift] | None = Field(
        default=None, description="a fixed roster; a plan's roster is valid here"
    )
    staff_history: list[StaffHistory] = Field(default_factory=list)
    settings: Settings = Field(default_factory=Settings)

    @model_validator(mode="after")
    def _references(self) -> Request:
        _unique("staff", [p.id for p in self.staff])
        _unique("shift_templates", [t.id for t in self.shift_templates])
        _unique("doors", [d.id for d in self.doors])
        _unique("loads", [ld.id for ld in self.loads])
        _unique("shipments", [s.id for s in self.shipments])
        people = {p.id for p in self.staff}
        templates = {t.id for t in self.shift_templates}
        loads = {ld.id for ld in self.loads}
        for i, template in enumerate(self.shift_templates):
            for j, succ in enumerate(template.forbidden_successors):
                if succ not in templates:
                    raise ValueError(
                        f"shift_templates[{i}].forbidden_successors[{j}]: "
                        f"unknown template '{succ}'"
                    )
        for i, person in enumerate(self.staff):
            for key in person.contract.max_shifts_per_template:
                if key not in templates:
                    raise ValueError(
                        f"staff[{i}].contract.max_shifts_per_template: "
                        f"unknown template '{key}'"
                    )
            for j, req in enumerate(person.shift_requests):
                if req.template_id is not None and req.template_id not in templates:
                    raise ValueError(
                        f"staff[{i}].shift_requests[{j}].template_id: "
                        f"unknown template '{req.template_id}'"
                    )
        for i, history in enumerate(self.staff_history):
            if history.person_id not in people:
                raise ValueError(
                    f"staff_history[{i}].person_id: unknown person "
                    f"'{history.person_id}'"
                )
        for i, cover in enumerate(self.cover_requirements):
            if cover.template_id is not None and cover.template_id not in templates:
                raise ValueError(
                    f"cover_requirements[{i}].template_id: unknown template "
                    f"'{cover.template_id}'"
                )
        for i, shipment in enumerate(self.shipments):
            if shipment.load_id is not None and shipment.load_id not in loads:
                raise ValueError(
                    f"shipments[{i}].load_id: unknown load '{shipment.load_id}'"
                )
        for i, shift in enumerate(self.roster or []):
            if shift.person_id not in people:
                raise ValueError(
                    f"roster[{i}].person_id: unknown person '{shift.person_id}'"
                )
            if shift.template_id not in templates:
                raise ValueError(
                    f"roster[{i}].template_id: unknown template '{shift.template_id}'"
                )
        return self

    def person(self, person_id: str) -> Person:
        for person in self.staff:
            if person.id == person_id:
                return person
        raise KeyError(person_id)

    def template(self, template_id: str) -> ShiftTemplate:
        for template in self.shift_templates:
            if template.id == template_id:
                return template
        raise KeyError(template_id)


def _unique(field: str, ids: list[str]) -> None:
    seen: set[str] = set()
    for i, item_id in enumerate(ids):
        if item_id in seen:
            raise ValueError(f"{field}[{i}].id: duplicate id '{item_id}'")
        seen.add(item_id)


# --------------------------------------------------------------------------
# Plan


class Objective(Model):
    """The weighted objective: its total and each weighted term."""

    total: int
    terms: dict[str, int] = Field(default_factory=dict)


class CoverageRow(Model):
    """Required against planned persons of a skill over an interval."""

    skill: str
    start: Instant
    end: Instant
    required: int
    planned: int


class Shortfall(Model):
    """An interval where fewer persons of a skill are rostered than needed."""

    skill: str
    start: Instant
    end: Instant
    missing: int


class Task(Model):
    """One task of the task plan: `{shipment_id}:{kind}` or `{load_id}:unload`."""

    id: str
    kind: TaskKind
    shipment_id: str | None = None
    load_id: str | None = None
    person_id: str | None = None
    door_id: str | None = None
    start: Instant
    end: Instant
    work_min: int = Field(ge=0)
    pauses: list[Interval] = Field(default_factory=list)


class DockSlot(Model):
    """A door booking for the warehouse: no personal data."""

    door_id: str
    load_id: str | None = None
    kind: TaskKind
    start: Instant
    end: Instant
    shipment_ids: list[str] = Field(default_factory=list)
    pallets: int = 0


class Unscheduled(Model):
    """A shipment the plan cannot serve in the horizon, and why."""

    shipment_id: str
    reason: Literal[
        "no_licensed_broker",
        "no_clerk",
        "no_capable_door",
        "no_time_left",
        "cancelled",
    ]
    detail: str = ""


class Explanation(Model):
    """A finding in the dispatcher's words."""

    kind: str
    text: str
    start: Instant | None = None
    end: Instant | None = None
    data: dict[str, Any] = Field(default_factory=dict)


class Provenance(Model):
    """How the plan was made, enough to make it again."""

    solver: str
    solver_version: str
    clearplan_version: str
    parameters: dict[str, Any] = Field(default_factory=dict)
    seed: int = 0
    input_hash: str
    fingerprint: str = ""


class PatchOp(Model):
    """One operation of a re-plan's diff, applied to the parent's tasks.

    `move` changes a task's times only; `reassign` changes its person or
    door (its times may change too); `add` adds a task; `drop` removes one.
    `task` is the task as it is after the operation (none for `drop`).
    """

    op: Literal["move", "reassign", "add", "drop"]
    task_id: str
    reason: str = Field(min_length=1)
    task: Task | None = None


class Plan(Model):
    """A shift plan and/or task plan, with everything needed to trust it."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    plan_id: str
    revision: int = Field(default=1, ge=1)
    parent_revision: int | None = None
    request: Request
    status: PlanStatus
    status_reason: str = ""
    objective: Objective
    bound: int | None = None
    bound_reason: str | None = None
    gap: float | None = None
    kpis: dict[str, Any] = Field(default_factory=dict)
    roster: list[RosterShift] = Field(default_factory=list)
    coverage: list[CoverageRow] = Field(default_factory=list)
    understaffed: list[Shortfall] = Field(default_factory=list)
    tasks: list[Task] = Field(default_factory=list)
    dock_schedule: dict[str, list[DockSlot]] = Field(default_factory=dict)
    unscheduled: list[Unscheduled] = Field(default_factory=list)
    explanations: list[Explanation] = Field(default_factory=list)
    provenance: Provenance
    timings: dict[str, float] = Field(default_factory=dict)
    diff: list[PatchOp] | None = Field(
        default=None, description="a revision: the patch from its parent's tasks"
    )
    pinned_task_ids: list[str] = Field(
        default_factory=list, description="tasks the dispatcher pinned"
    )
    replanned_at: Instant | None = Field(
        default=None, description="a revision: the time T it was re-planned at"
    )
    events: list[Event] = Field(
        default_factory=list, description="a revision: the events it applied"
    )


# --------------------------------------------------------------------------
# Events


class Event(Model):
    """The event envelope: what happened (`type`), when it was learnt (`at`),
    what it concerns (`subject_id`) and a payload of its type."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    id: str | None = Field(default=None, max_length=128)
    type: str = Field(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_.]*$")
    at: Instant
    subject_id: str = Field(min_length=1, max_length=128)
    payload: dict[str, Any] = Field(default_factory=dict)


class EventBatch(Model):
    """A list of events, as `clearplan replan` reads them."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    events: list[Event]
