"""A site scenario compiled to index arrays for the discrete-event simulation.

Compiling reads the scenario once (time zones, shift instances, licences,
door hours) and turns it into plain minutes and indices, so that each
replication only draws random numbers and runs the event loop. Minutes
count from the start of the horizon (local midnight of its first date).

Who may do what follows `docs/task-rules.md`: a review needs a clerk (with
the shipment's language when it has one), a compliance review anyone with
the skill `compliance`, a declaration, a documentary answer and an exam a
broker licensed in the site's jurisdiction on the shift's date for the
shipment's regime and commodity; an unload a door holding the truck's
capabilities (a truck needing none takes any door with a capability other
than `exam`), an exam an `exam` door. The work is grouped into *queues*
(one per kind of qualification) and people and doors into *profiles* (the
set of queues they may serve).

A person's rostered shift is one *server*, available from its start to
its break and from the end of the break to its end (extension included);
a door is one server, available while open (`scheduler.dock`).
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import datetime

import numpy as np

from scheduler.dock import door_open_intervals
from scheduler.models import (
    DoorCapability,
    Lane,
    Person,
    Priority,
    Role,
    RosterShift,
    TaskKind,
)
from scheduler.release import needs_unload
from scheduler.shifts import instance
from scheduler.sitetime import local_midnight, to_utc
from simulations.scenario import (
    Scenario,
    freighter_lateness_min,
    planning_request,
)

logger = logging.getLogger(__name__)

PRIORITIES = (Priority.express, Priority.standard, Priority.deferred)
LANES = (Lane.green, Lane.documentary, Lane.physical)
KINDS = (
    TaskKind.unload,
    TaskKind.review,
    TaskKind.compliance,
    TaskKind.declare,
    TaskKind.respond,
    TaskKind.exam,
)
# Queue groups, for queue lengths over time.
GROUPS = ("clerk", "broker", "door")
# Forecast shipments come on trucks of their own; their door needs follow
# the HKIA example's trucks (`simulations.freight`): perishables on a cold
# chain door, dangerous goods on a dangerous-goods door.
FORECAST_DOOR_NEEDS: dict[str, tuple[DoorCapability, ...]] = {
    "food": (DoorCapability.cold_chain,),
    "pharma": (DoorCapability.cold_chain,),
    "dangerous_goods": (DoorCapability.dangerous_goods,),
}


@dataclass(frozen=True)
class Server:
    """A rostered shift of one person, or one door.

    Parameters
    ----------
    label
        The person or door id (clones made by a sweep carry ``+k``).
    role
        ``broker``, ``clerk`` or ``door``.
    profile
        Index of the set of queues it may serve.
    windows
        Available ``[start, end)`` minutes, in order.
    slot
        ``(date, template id)`` of a shift, ``None`` for a door.
    capabilities
        A door's capabilities, sorted; empty for a person.
    paid_min
        Paid minutes of a shift, open minutes of a door.
    hourly_cost_cents
        Its cost per paid (or open) hour.
    """

    label: str
    role: str
    profile: int
    windows: tuple[tuple[float, float], ...]
    slot: tuple[str, str] | None
    capabilities: tuple[str, ...]
    paid_min: float
    hourly_cost_cents: int


@dataclass(frozen=True)
class ShipmentTable:
    """The request's shipments as arrays (replay arrivals).

    Minutes from the horizon start; NaN where a value is absent. Lane
    codes index `LANES`, -1 when unset. Queue fields index `SiteModel.queues`.
    """

    ids: list[str]
    load: np.ndarray
    rank: np.ndarray
    documents_ready: np.ndarray
    sla_deadline: np.ndarray
    pallets: np.ndarray
    documents: np.ndarray
    lines: np.ndarray
    compliance: np.ndarray
    lane: np.ndarray
    exam_start: np.ndarray
    review_queue: np.ndarray
    broker_queue: np.ndarray
    skip_review: np.ndarray
    skip_declare: np.ndarray


@dataclass(frozen=True)
class LoadTable:
    """The request's loads as arrays: scheduled ETA, door queue, freighter."""

    ids: list[str]
    eta: np.ndarray
    door_queue: np.ndarray
    freighter: np.ndarray
    num_freighters: int
    pallets: np.ndarray


@dataclass(frozen=True)
class ForecastTable:
    """The forecast items as arrays (forecast arrivals)."""

    start: np.ndarray
    end: np.ndarray
    shipments: np.ndarray
    rank: np.ndarray
    pallets: np.ndarray
    documents: np.ndarray
    lines: np.ndarray
    compliance_share: np.ndarray
    review_queue: np.ndarray
    broker_queue: np.ndarray
    door_queue: np.ndarray


@dataclass(frozen=True)
class SiteModel:
    """Everything a replication needs, in minutes and indices.

    Parameters
    ----------
    horizon_min
        Length of the horizon; the simulation stops there.
    queues
        Queue names (``review:en``, ``broker:import:food``, ``door:exam``).
    queue_group
        Index into `GROUPS` per queue.
    queue_servers
        Per queue, the profiles that may serve it, most specialised first.
    profile_queues
        Per profile, the queues it may serve.
    servers
        People's shifts and doors.
    exam_open
        When at least one exam door is open: merged ``[start, end)``.
    standards
        Per task kind (`KINDS` order): base, per pallet, per document,
        per line minutes.
    lateness_min
        The freighter lateness sample draws come from (``None`` without
        lateness), read once here so worker processes need not.
    """

    scenario: Scenario
    start: datetime
    horizon_min: float
    sla_min: tuple[int, int, int]
    queues: list[str]
    queue_group: list[int]
    queue_servers: list[list[int]]
    profile_queues: list[list[int]]
    servers: list[Server]
    exam_queue: int
    exam_open: list[tuple[float, float]]
    standards: np.ndarray
    customs_response_min: float
    lane_shares: tuple[float, float, float]
    shipments: ShipmentTable | None
    loads: LoadTable | None
    forecast: ForecastTable | None
    lateness_min: np.ndarray | None = None
    person_servers: dict[str, list[int]] = field(default_factory=dict)
    door_servers: dict[str, int] = field(default_factory=dict)

    def minute(self, instant: datetime) -> float:
        """Minutes from the horizon start to an instant."""
        return (to_utc(instant) - self.start).total_seconds() / 60

    def cost_cents_per_horizon(self) -> int:
        """Cost of the people's paid hours and the doors' open hours, in
        whole cents."""
        return round(sum(s.paid_min / 60 * s.hourly_cost_cents for s in self.servers))


class _QueueBook:
    """Names the queues as the shipments and forecast need them."""

    def __init__(self) -> None:
        self.names: list[str] = []
        self.group: list[int] = []
        self.index: dict[str, int] = {}

    def get(self, name: str, group: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.names)
            self.names.append(name)
            self.group.append(GROUPS.index(group))
        return self.index[name]

    def review(self, language: str | None) -> int:
        return self.get(f"review:{language or '*'}", "clerk")

    def broker(self, regime: str, commodity: str) -> int:
        return self.get(f"broker:{regime}:{commodity}", "broker")

    def door(self, requirements: tuple[str, ...]) -> int:
        return self.get("door:" + ("+".join(sorted(requirements)) or "*"), "door")


def compile_site(scenario: Scenario) -> SiteModel:
    """Compile a site scenario; plans its roster when it carries none.

    Raises
    ------
    ValueError
        When the scenario is not of kind ``site``.
    """
    if scenario.kind != "site":
        raise ValueError("kind: only a 'site' scenario compiles to a site model")
    tz = scenario.site.timezone
    start = to_utc(local_midnight(scenario.horizon.start_date, tz))
    horizon_min = scenario.horizon.days * 24 * 60.0

    # Step 1: the queues the work needs.
    book = _QueueBook()
    book.get("compliance", "clerk")
    exam_queue = book.door((DoorCapability.exam.value,))
    shipments = loads = forecast = None
    if scenario.arrivals == "replay":
        loads = _load_table(scenario, start, book)
        shipments = _shipment_table(scenario, start, book, loads)
    else:
        forecast = _forecast_table(scenario, start, book)

    # Step 2: servers (shifts and doors) and the profiles they form.
    roster = scenario.roster if scenario.roster is not None else _plan_roster(scenario)
    raw: list[tuple[Server, frozenset[int]]] = []
    for shift in roster:
        raw.append(_person_server(scenario, shift, start, book))
    door_windows: dict[str, list[tuple[float, float]]] = {}
    for door in scenario.doors:
        spans = [
            ((a - start).total_seconds() / 60, (b - start).total_seconds() / 60)
            for a, b in door_open_intervals(scenario, door)
        ]
        door_windows[door.id] = spans
        caps = tuple(sorted(c.value for c in door.capabilities))
        queues = frozenset(
            q for q, name in enumerate(book.names) if _door_serves(caps, name)
        )
        server = Server(
            label=door.id,
            role="door",
            profile=-1,
            windows=tuple(spans),
            slot=None,
            capabilities=caps,
            paid_min=sum(b - a for a, b in spans),
            hourly_cost_cents=door.hourly_cost_cents,
        )
        raw.append((server, queues))
    servers, profile_queues, queue_servers = _profiles(raw, len(book.names))

    exam_spans = [
        span
        for door in scenario.doors
        if DoorCapability.exam in door.capabilities
        for span in door_windows[door.id]
    ]
    labour = scenario.labour_standards
    standards = np.array(
        [
            [
                std.base_min,
                std.per_pallet_min,
                std.per_document_min,
                std.per_line_min,
            ]
            for std in (getattr(labour, kind.value) for kind in KINDS)
        ]
    )
    site = SiteModel(
        scenario=scenario,
        start=start,
        horizon_min=horizon_min,
        sla_min=tuple(scenario.settings.sla.of(p) for p in PRIORITIES),  # type: ignore[arg-type]
        queues=book.names,
        queue_group=book.group,
        queue_servers=queue_servers,
        profile_queues=profile_queues,
        servers=servers,
        exam_queue=exam_queue,
        exam_open=_merge(sorted(exam_spans)),
        standards=standards,
        customs_response_min=float(labour.customs_response_min),
        lane_shares=(
            labour.lane_mix.green,
            labour.lane_mix.documentary,
            labour.lane_mix.physical,
        ),  # fmt: skip
        shipments=shipments,
        loads=loads,
        forecast=forecast,
        lateness_min=_lateness_sample(scenario),
    )
    return _with_lookups(site)


def _lateness_sample(scenario: Scenario) -> np.ndarray | None:
    if scenario.lateness.source == "none":
        return None
    sample, _ = freighter_lateness_min(tuple(scenario.lateness.months))
    return sample


def _plan_roster(scenario: Scenario) -> list[RosterShift]:
    """The roster engine's roster of the scenario (made once, not per run,
    in reproducible mode: `planning_request`)."""
    from scheduler.roster import plan_roster

    logger.info("des: the scenario has no roster; planning one")
    return plan_roster(planning_request(scenario)).roster


def _load_table(scenario: Scenario, start: datetime, book: _QueueBook) -> LoadTable:
    freighters: dict[str, int] = {}
    freighter_of = []
    for load in scenario.loads:
        key = load.id.rsplit("-", 1)[0] if "-" in load.id else load.id
        freighter_of.append(freighters.setdefault(key, len(freighters)))
    return LoadTable(
        ids=[load.id for load in scenario.loads],
        eta=np.array(
            [(to_utc(ld.eta) - start).total_seconds() / 60 for ld in scenario.loads]
        ),
        door_queue=np.array(
            [
                book.door(tuple(c.value for c in ld.requirements))
                for ld in scenario.loads
            ],
            dtype=np.int64,
        ),
        freighter=np.array(freighter_of, dtype=np.int64),
        num_freighters=len(freighters),
        pallets=np.array(
            [-1 if ld.pallets is None else ld.pallets for ld in scenario.loads],
            dtype=np.int64,
        ),
    )


def _shipment_table(
    scenario: Scenario, start: datetime, book: _QueueBook, loads: LoadTable
) -> ShipmentTable:
    load_index = {load_id: i for i, load_id in enumerate(loads.ids)}
    rows = scenario.shipments

    def minutes(instant: datetime | None) -> float:
        if instant is None:
            return math.nan
        return (to_utc(instant) - start).total_seconds() / 60

    lane_code = {lane: i for i, lane in enumerate(LANES)}
    return ShipmentTable(
        ids=[s.id for s in rows],
        load=np.array(
            [
                load_index[s.load_id] if needs_unload(s) and s.load_id else -1
                for s in rows
            ],
            dtype=np.int64,
        ),
        rank=np.array([PRIORITIES.index(s.priority) for s in rows], dtype=np.int64),
        documents_ready=np.array([minutes(s.documents_ready_at) for s in rows]),
        sla_deadline=np.array([minutes(s.sla_deadline) for s in rows]),
        pallets=np.array([s.pallets for s in rows], dtype=float),
        documents=np.array([s.documents for s in rows], dtype=float),
        lines=np.array([s.declaration_lines for s in rows], dtype=float),
        compliance=np.array(
            [
                s.compliance_required and TaskKind.compliance not in s.done_tasks
                for s in rows
            ]
        ),
        lane=np.array(
            [-1 if s.lane is None else lane_code[s.lane] for s in rows], dtype=np.int64
        ),
        exam_start=np.array(
            [minutes(s.exam_window.start if s.exam_window else None) for s in rows]
        ),
        review_queue=np.array([book.review(s.language) for s in rows], dtype=np.int64),
        broker_queue=np.array(
            [book.broker(s.regime.value, s.commodity) for s in rows], dtype=np.int64
        ),
        skip_review=np.array([TaskKind.review in s.done_tasks for s in rows]),
        skip_declare=np.array([TaskKind.declare in s.done_tasks for s in rows]),
    )


def _forecast_table(
    scenario: Scenario, start: datetime, book: _QueueBook
) -> ForecastTable:
    items = scenario.forecast

    def minutes(instant: datetime) -> float:
        return (to_utc(instant) - start).total_seconds() / 60

    return ForecastTable(
        start=np.array([minutes(f.start) for f in items]),
        end=np.array([minutes(f.end) for f in items]),
        shipments=np.array([f.shipments for f in items]),
        rank=np.array([PRIORITIES.index(f.priority) for f in items], dtype=np.int64),
        pallets=np.array([f.pallets_per_shipment for f in items]),
        documents=np.array([f.documents_per_shipment for f in items]),
        lines=np.array([f.lines_per_shipment for f in items]),
        compliance_share=np.array([f.compliance_share for f in items]),
        review_queue=np.array([book.review(None) for _ in items], dtype=np.int64),
        broker_queue=np.array(
            [book.broker(f.regime.value, f.commodity) for f in items], dtype=np.int64
        ),
        door_queue=np.array(
            [
                book.door(
                    tuple(c.value for c in FORECAST_DOOR_NEEDS.get(f.commodity, ()))
                )
                for f in items
            ],
            dtype=np.int64,
        ),
    )


def _person_server(
    scenario: Scenario, shift: RosterShift, start: datetime, book: _QueueBook
) -> tuple[Server, frozenset[int]]:
    person = scenario.person(shift.person_id)
    template = scenario.template(shift.template_id)
    real = instance(template, shift.date, scenario.site.timezone, shift.extension_min)

    def minutes(instant: datetime) -> float:
        return (to_utc(instant) - start).total_seconds() / 60

    windows: tuple[tuple[float, float], ...]
    if real.break_start is not None and real.break_end is not None:
        windows = (
            (minutes(real.start), minutes(real.break_start)),
            (minutes(real.break_end), minutes(real.end)),
        )
    else:
        windows = ((minutes(real.start), minutes(real.end)),)
    queues = frozenset(
        q
        for q, name in enumerate(book.names)
        if _person_serves(scenario, person, shift, name)
    )
    server = Server(
        label=person.id,
        role=person.role.value,
        profile=-1,
        windows=tuple((a, b) for a, b in windows if b > a),
        slot=(shift.date.isoformat(), shift.template_id),
        capabilities=(),
        paid_min=float(real.paid_min),
        hourly_cost_cents=scenario.role_hourly_cost_cents.of(person.role),
    )
    return server, queues


def _person_serves(
    scenario: Scenario, person: Person, shift: RosterShift, queue: str
) -> bool:
    """Whether a person on a shift qualifies for a queue's work."""
    kind, _, rest = queue.partition(":")
    if kind == "review":
        return person.role == Role.clerk and (rest == "*" or rest in person.languages)
    if kind == "compliance":
        return "compliance" in person.skills
    if kind != "broker" or person.role != Role.broker:
        return False
    regime, _, commodity = rest.partition(":")
    for licence in person.licences:
        if licence.jurisdiction != scenario.site.jurisdiction:
            continue
        if not licence.valid_on(shift.date):
            continue
        if licence.regimes and regime not in licence.regimes:
            continue
        if licence.commodities and commodity not in licence.commodities:
            continue
        return True
    return False


def _door_serves(capabilities: tuple[str, ...], queue: str) -> bool:
    kind, _, rest = queue.partition(":")
    if kind != "door":
        return False
    if rest == "*":
        return any(c != DoorCapability.exam.value for c in capabilities)
    return set(rest.split("+")) <= set(capabilities)


def _profiles(
    raw: list[tuple[Server, frozenset[int]]], num_queues: int
) -> tuple[list[Server], list[list[int]], list[list[int]]]:
    """Group servers by the queues they serve; order each queue's servers.

    A queue is offered first to the profile serving the fewest queues, so
    that people and doors who can do more stay free for work only they
    can do.
    """
    index: dict[frozenset[int], int] = {}
    servers = []
    for server, queues in raw:
        profile = index.setdefault(queues, len(index))
        servers.append(replace(server, profile=profile))
    profile_queues = [sorted(queues) for queues in index]
    queue_servers: list[list[int]] = [[] for _ in range(num_queues)]
    for profile in sorted(range(len(profile_queues)), key=lambda p: (
            len(profile_queues[p]), p)):  # fmt: skip
        for q in profile_queues[profile]:
            queue_servers[q].append(profile)
    return servers, profile_queues, queue_servers


def _merge(spans: list[tuple[float, float]]) -> list[tuple[float, float]]:
    merged: list[tuple[float, float]] = []
    for a, b in spans:
        if merged and a <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], b))
        else:
            merged.append((a, b))
    return merged


def _with_lookups(site: SiteModel) -> SiteModel:
    """Fill the person and door lookups plans are mapped through."""
    people: dict[str, list[int]] = defaultdict(list)
    doors: dict[str, int] = {}
    for i, server in enumerate(site.servers):
        if server.role == "door":
            doors[server.label] = i
        else:
            people[server.label].append(i)
    return replace(site, person_servers=dict(people), door_servers=doors)


# ----------------------------------------------------------------- staffing


def staffing_levels(site: SiteModel) -> dict[str, int]:
    """The site's mix: brokers and clerks on its busiest shift, and doors.

    A shift is a (date, template) slot of the roster.
    """
    per_slot: dict[tuple[str, tuple[str, str] | None], int] = defaultdict(int)
    doors = 0
    for server in site.servers:
        if server.role == "door":
            doors += 1
        else:
            per_slot[(server.role, server.slot)] += 1
    levels = {"brokers": 0, "clerks": 0, "doors": doors}
    for (role, _), count in per_slot.items():
        key = "brokers" if role == Role.broker.value else "clerks"
        levels[key] = max(levels[key], count)
    return levels


def with_staffing(
    site: SiteModel,
    brokers: int | None = None,
    clerks: int | None = None,
    doors: int | None = None,
) -> SiteModel:
    """The site with another mix of people and doors.

    A level of ``brokers`` puts that many brokers on the busiest shift of
    the roster and scales every other shift by the same factor (rounded,
    never to zero where the roster had someone), so the day keeps its
    shape. Shifts shrink by dropping people taken in turn across
    qualification profiles, so specialists go in proportion; they grow by
    adding copies of their people in the same turn. ``doors`` is the
    number of doors, shared out over the door kinds in the site's
    proportions (largest remainder, at least one of each kind). A level
    of ``None`` keeps the site's own. The servers kept stay in the site's
    order, copies after them, so the site's own mix simulates exactly as
    the site (who is offered work first follows that order).

    Raises
    ------
    ValueError
        When a level is below 1.
    """
    base = staffing_levels(site)
    for name, level in (("brokers", brokers), ("clerks", clerks), ("doors", doors)):
        if level is not None and level < 1:
            raise ValueError(f"{name} must be at least 1, not {level}")
        if level is not None and base[name] == 0:
            raise ValueError(f"{name}: the scenario has none to scale")

    groups: dict[tuple[str, object], list[Server]] = defaultdict(list)
    for server in site.servers:
        if server.role == "door":
            groups[("door", server.capabilities)].append(server)
        else:
            groups[(server.role, server.slot)].append(server)

    servers: list[Server] = []
    door_counts = (
        _share_doors({k: len(v) for k, v in groups.items() if k[0] == "door"}, doors)
        if doors is not None
        else {}
    )
    for key, members in groups.items():
        role = key[0]
        target = len(members)
        if role == Role.broker.value and brokers is not None:
            target = max(1, round(len(members) * brokers / base["brokers"]))
        elif role == Role.clerk.value and clerks is not None:
            target = max(1, round(len(members) * clerks / base["clerks"]))
        elif role == "door" and doors is not None:
            target = door_counts[key]
        servers.extend(_resize(members, target))
    position = {id(server): i for i, server in enumerate(site.servers)}
    kept = sorted(
        (s for s in servers if id(s) in position), key=lambda s: position[id(s)]
    )
    copies = [s for s in servers if id(s) not in position]
    return _with_lookups(replace(site, servers=kept + copies))


def _share_doors(counts: dict[tuple[str, object], int], total: int) -> dict:
    """Doors per kind for a total, in the site's proportions."""
    kinds = sorted(counts, key=str)
    if total < len(kinds):
        raise ValueError(
            f"doors must be at least {len(kinds)}, one of each kind of door"
        )
    base_total = sum(counts.values())
    exact = {k: counts[k] * total / base_total for k in kinds}
    result = {k: max(1, math.floor(exact[k])) for k in kinds}
    by_remainder = sorted(kinds, key=lambda k: (-(exact[k] - math.floor(exact[k])),
                                                str(k)))  # fmt: skip
    i = 0
    while sum(result.values()) < total:
        result[by_remainder[i % len(kinds)]] += 1
        i += 1
    while sum(result.values()) > total:
        largest = max(kinds, key=lambda k: (result[k], str(k)))
        result[largest] -= 1
    return result


def _resize(members: list[Server], target: int) -> list[Server]:
    """`target` servers from a group: a turn across profiles, copies after."""
    by_profile: dict[int, list[Server]] = defaultdict(list)
    for server in members:
        by_profile[server.profile].append(server)
    turn: list[Server] = []
    depth = 0
    while len(turn) < len(members):
        for profile in sorted(by_profile):
            if depth < len(by_profile[profile]):
                turn.append(by_profile[profile][depth])
        depth += 1
    result = turn[:target]
    for k in range(target - len(turn)):
        original = turn[k % len(turn)]
        copy_no = k // len(turn) + 1
        result.append(replace(original, label=f"{original.label}+{copy_no}"))
    return result
