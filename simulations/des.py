"""Discrete-event simulation (SimPy) of a peak period at a clearance site.

One replication draws a random day from the scenario (`draw_day`) and
plays it out (`simulate`):

1. trucks arrive at their ETA (replay) plus the freighter's lateness, or
   shipments arrive as a non-homogeneous Poisson process (forecast), the
   volume factor applied either way;
2. each shipment's documents are reviewed by a clerk, a compliance
   review follows where required, a licensed broker lodges the
   declaration; after customs' response time the lane drawn for it
   decides: green is released, documentary needs a broker's answer and
   a second response, physical needs its goods in, an exam door and a
   broker at the appointment customs set (the first half hour after the
   decision when an exam door is open), then a second response;
3. each truck waits for a door able to take it and is unloaded;
4. a shipment is released when customs has released it and its goods
   are in; its lateness follows `docs/task-rules.md` ("Release and
   SLA"): minutes past the SLA deadline less the minutes spent waiting
   on customs (the drawn response times and the wait for the
   appointment).

People work only in their rostered shifts (breaks out) and doors only
while open; who may do what is in `simulations.des_site`, and how work is
given out in `simulations.des_core`. Greedy dispatch gives a free server
the waiting task of the highest priority (express, standard, deferred),
earliest SLA deadline first; a truck takes the priority of its most
urgent shipment. Plan dispatch is described in `simulations.dispatch`.

The simulation stops at the end of the horizon; shipments not released
by then whose deadline has passed count as missing their SLA
(``unreleased``), the others as ``pending``.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import simpy

from simulations.des_core import DispatchCore
from simulations.des_site import GROUPS, PRIORITIES, SiteModel

if TYPE_CHECKING:
    from simulations.dispatch import Assignment, Replanner

logger = logging.getLogger(__name__)

UNLOAD, REVIEW, COMPLIANCE, DECLARE, RESPOND, EXAM, EXAM_DOOR = range(7)
GREEN, DOCUMENTARY, PHYSICAL = range(3)
# A key orders waiting work: priority rank first, then the SLA deadline
# (minutes, far below this factor).
RANK_FACTOR = 1.0e7
LATENESS_BINS_MIN = (0.0, 30.0, 60.0, 120.0, 240.0)
EXAM_SLOT_MIN = 30.0


@dataclass
class Day:
    """One random day drawn from a site scenario (plain lists for speed).

    Shipment fields are indexed by shipment, load fields by load; times
    are minutes from the horizon start, durations minutes.
    """

    rank: list[int]
    documents_ready: list[float]
    deadline: list[float]
    load: list[int]
    review_queue: list[int]
    broker_queue: list[int]
    compliance: list[bool]
    skip_review: list[bool]
    skip_declare: list[bool]
    lane: list[int]
    exam_start: list[float]
    origin: list[int]
    durations: list[list[float]]
    first_response: list[float]
    second_response: list[float]
    load_arrival: list[float]
    load_queue: list[int]
    load_duration: list[float]
    load_key: list[float]
    load_shipments: list[list[int]]
    load_origin: list[int]

    @property
    def num_shipments(self) -> int:
        return len(self.rank)


@dataclass
class RunResult:
    """What one replication measured.

    Parameters
    ----------
    metrics
        Scalars by name: ``sla.<priority|all>`` (share of the due
        shipments released within SLA; a shipment is due unless it is
        still in work at the end with its deadline beyond it, then it is
        ``pending``), ``late_min.<priority|all>.<mean|p50|p90|p99|max>``
        (over released shipments), ``late_share.<bin>`` (lateness
        distribution over due shipments), ``unreleased`` (due, not
        released), ``pending``, ``shipments``, ``trucks``,
        ``door_wait_min.<mean|p90|max>``, ``utilisation.<broker|clerk|
        door>`` and ``utilisation.door.<id>``, ``overrun_min.<role>``,
        ``queue.<group>.max``, ``cost_cents``. NaN where undefined (no
        shipment of a priority).
    series
        Over time: ``queue.<group>`` (tasks waiting, sampled every
        `sample_interval_min`), ``door_wait_min.by_hour`` (mean wait of
        the trucks arriving in each hour, NaN when none) and
        ``trucks_waiting``.
    """

    metrics: dict[str, float]
    series: dict[str, list[float]] = field(default_factory=dict)


# ------------------------------------------------------------ random day


def draw_day(site: SiteModel, rng: np.random.Generator) -> Day:
    """Draw one day's arrivals, lanes and task times from the scenario."""
    scenario = site.scenario
    if scenario.arrivals == "replay":
        return _replay_arrivals(site, rng)
    return _forecast_arrivals(site, rng)


def _lognormal_factors(rng: np.random.Generator, cv: float, size: int) -> np.ndarray:
    """Multipliers with mean 1 and coefficient of variation `cv`."""
    if cv == 0:
        return np.ones(size)
    sigma2 = math.log1p(cv * cv)
    return rng.lognormal(-sigma2 / 2, math.sqrt(sigma2), size)


def _standard_min(
    site: SiteModel, kind: int, pallets: np.ndarray, documents: np.ndarray,
    lines: np.ndarray,
) -> np.ndarray:  # fmt: skip
    """Labour-standard minutes, rounded up, at least 1 (`task_index`)."""
    base, per_pallet, per_document, per_line = site.standards[kind]
    exact = base + per_pallet * pallets + per_document * documents + per_line * lines
    # The small offset keeps 0.7 x 10 lines at 7 minutes in floating point.
    return np.maximum(1.0, np.ceil(exact - 1e-9))


def _task_times(
    site: SiteModel,
    rng: np.random.Generator,
    pallets: np.ndarray,
    documents: np.ndarray,
    lines: np.ndarray,
) -> list[list[float]]:
    """Drawn minutes per shipment task kind (index `REVIEW`..`EXAM`)."""
    cv = site.scenario.task_time_cv
    n = len(pallets)
    zeros = np.zeros(n)
    spec = {
        REVIEW: (cv.review, zeros, documents, lines),
        COMPLIANCE: (cv.compliance, zeros, documents, lines),
        DECLARE: (cv.declare, zeros, zeros, lines),
        RESPOND: (cv.respond, zeros, documents, lines),
        EXAM: (cv.exam, pallets, zeros, zeros),
    }
    durations: list[list[float]] = [[] for _ in range(EXAM + 1)]
    for kind, (kind_cv, p, d, ln) in spec.items():
        minutes = _standard_min(site, kind, p, d, ln)
        durations[kind] = (minutes * _lognormal_factors(rng, kind_cv, n)).tolist()
    return durations


def _lanes(site: SiteModel, rng: np.random.Generator, given: np.ndarray) -> np.ndarray:
    drawn = rng.choice(3, size=len(given), p=np.array(site.lane_shares))
    if site.scenario.lanes == "given":
        return np.where(given >= 0, given, drawn)
    return drawn


def _responses(site: SiteModel, rng: np.random.Generator, n: int) -> tuple:
    cv = site.scenario.task_time_cv.customs_response
    mean = site.customs_response_min
    first = mean * _lognormal_factors(rng, cv, n)
    second = mean * _lognormal_factors(rng, cv, n)
    return first.tolist(), second.tolist()


def _lateness(site: SiteModel, rng: np.random.Generator, n: int) -> np.ndarray:
    sample = site.lateness_min
    if sample is None or n == 0:
        return np.zeros(n)
    return sample[rng.integers(len(sample), size=n)] * site.scenario.lateness.scale


def _copies(volume: float, rng: np.random.Generator, n: int) -> np.ndarray:
    """How many times each shipment occurs at a volume factor."""
    whole = math.floor(volume)
    extra = rng.random(n) < volume - whole
    return whole + extra.astype(np.int64)


def _replay_arrivals(site: SiteModel, rng: np.random.Generator) -> Day:
    table, loads = site.shipments, site.loads
    assert table is not None and loads is not None
    n0 = len(table.ids)

    # Step 1: the volume factor copies (or thins) shipments.
    index = np.repeat(np.arange(n0), _copies(site.scenario.volume, rng, n0))
    first = np.ones(len(index), dtype=bool)
    first[1:] = index[1:] != index[:-1]
    origin = np.where(first, index, -1)

    # Step 2: trucks move with their freighter's lateness.
    arrival = loads.eta + _lateness(site, rng, loads.num_freighters)[loads.freighter]
    ship_load = table.load[index]
    used = np.unique(ship_load[ship_load >= 0])
    new_of_old = np.full(len(loads.ids), -1, dtype=np.int64)
    new_of_old[used] = np.arange(len(used))
    # Index -1 (no truck) picks the appended -1.
    ship_load = np.append(new_of_old, -1)[ship_load]
    pallets = table.pallets[index]
    carried = ship_load >= 0
    load_pallets = np.bincount(
        ship_load[carried], weights=pallets[carried], minlength=len(used)
    )
    given = loads.pallets[used]
    if (given >= 0).any():
        before = np.bincount(table.load[table.load >= 0], minlength=len(loads.ids))
        after = np.bincount(ship_load[carried], minlength=len(used))
        scaled = given * after / np.maximum(before[used], 1)
        load_pallets = np.where(given >= 0, np.round(scaled), load_pallets)

    # Step 3: lanes, deadlines and task times.
    lanes = _lanes(site, rng, table.lane[index])
    exam_start = np.where(lanes == PHYSICAL, table.exam_start[index], math.nan)
    documents_ready = table.documents_ready[index]
    # Goods already in are at the door from the start of the horizon.
    at_door = np.append(arrival[used], 0.0)[ship_load]
    actionable = np.maximum(documents_ready, at_door)
    rank = table.rank[index]
    sla = np.array(site.sla_min, dtype=float)[rank]
    given_deadline = table.sla_deadline[index]
    deadline = np.where(np.isnan(given_deadline), actionable + sla, given_deadline)
    return _assemble(
        site,
        rng,
        rank=rank,
        documents_ready=documents_ready,
        deadline=deadline,
        ship_load=ship_load,
        review_queue=table.review_queue[index],
        broker_queue=table.broker_queue[index],
        compliance=table.compliance[index],
        skip_review=table.skip_review[index],
        skip_declare=table.skip_declare[index],
        lanes=lanes,
        exam_start=exam_start,
        origin=origin,
        pallets=pallets,
        documents=table.documents[index],
        lines=table.lines[index],
        load_arrival=arrival[used],
        load_queue=loads.door_queue[used],
        load_pallets=load_pallets,
        load_origin=used,
    )


def _forecast_arrivals(site: SiteModel, rng: np.random.Generator) -> Day:
    items = site.forecast
    assert items is not None
    volume = site.scenario.volume

    # Step 1: Poisson counts per item, arrival instants uniform inside it
    # (a piecewise-constant rate), sorted.
    counts = rng.poisson(items.shipments * volume)
    item = np.repeat(np.arange(len(counts)), counts)
    arrival = items.start[item] + rng.random(len(item)) * (
        items.end[item] - items.start[item]
    )
    order = np.argsort(arrival, kind="stable")
    item, arrival = item[order], arrival[order]
    arrival = arrival + _lateness(site, rng, len(item))
    n = len(item)

    # Step 2: sizes around the item's means, kept whole.
    def around(mean: np.ndarray) -> np.ndarray:
        whole = np.floor(mean)
        return whole + (rng.random(len(mean)) < mean - whole)

    pallets = around(items.pallets[item])
    documents = around(items.documents[item])
    lines = around(items.lines[item])
    compliance = rng.random(n) < items.compliance_share[item]
    rank = items.rank[item]
    lanes = _lanes(site, rng, np.full(n, -1))
    deadline = arrival + np.array(site.sla_min, dtype=float)[rank]
    return _assemble(
        site,
        rng,
        rank=rank,
        documents_ready=arrival,
        deadline=deadline,
        ship_load=np.arange(n),
        review_queue=items.review_queue[item],
        broker_queue=items.broker_queue[item],
        compliance=compliance,
        skip_review=np.zeros(n, dtype=bool),
        skip_declare=np.zeros(n, dtype=bool),
        lanes=lanes,
        exam_start=np.full(n, math.nan),
        origin=np.full(n, -1),
        pallets=pallets,
        documents=documents,
        lines=lines,
        load_arrival=arrival,
        load_queue=items.door_queue[item],
        load_pallets=pallets,
        load_origin=np.full(n, -1),
    )


def _assemble(site: SiteModel, rng: np.random.Generator, **a: np.ndarray) -> Day:
    """The day's lists, with drawn task times and keys."""
    n = len(a["rank"])
    key = a["rank"] * RANK_FACTOR + a["deadline"]
    ship_load = a["ship_load"]
    num_loads = len(a["load_arrival"])
    load_key = np.full(num_loads, np.inf)
    carried = ship_load >= 0
    np.minimum.at(load_key, ship_load[carried], key[carried])
    load_shipments: list[list[int]] = [[] for _ in range(num_loads)]
    for s, ld in enumerate(ship_load.tolist()):
        if ld >= 0:
            load_shipments[ld].append(s)
    zeros = np.zeros(num_loads)
    unload = _standard_min(site, UNLOAD, a["load_pallets"], zeros, zeros)
    unload = unload * _lognormal_factors(
        rng, site.scenario.task_time_cv.unload, num_loads
    )
    first, second = _responses(site, rng, n)
    return Day(
        rank=a["rank"].tolist(),
        documents_ready=a["documents_ready"].tolist(),
        deadline=a["deadline"].tolist(),
        load=ship_load.tolist(),
        review_queue=a["review_queue"].tolist(),
        broker_queue=a["broker_queue"].tolist(),
        compliance=a["compliance"].tolist(),
        skip_review=a["skip_review"].tolist(),
        skip_declare=a["skip_declare"].tolist(),
        lane=a["lanes"].tolist(),
        exam_start=a["exam_start"].tolist(),
        origin=a["origin"].tolist(),
        durations=_task_times(site, rng, a["pallets"], a["documents"], a["lines"]),
        first_response=first,
        second_response=second,
        load_arrival=a["load_arrival"].tolist(),
        load_queue=a["load_queue"].tolist(),
        load_duration=unload.tolist(),
        load_key=load_key.tolist(),
        load_shipments=load_shipments,
        load_origin=a["load_origin"].tolist(),
    )


# ------------------------------------------------------------ simulation


class SiteRun(DispatchCore):
    """One replication of the site: the shipment flow on the dispatch core.

    Parameters
    ----------
    site
        The compiled scenario (with the mix to simulate).
    day
        The drawn day.
    assignment
        A plan to follow (plan and replan dispatch); ``None`` for greedy.
    replanner
        Called every `replan_every_min` with the run, returns a new
        assignment (replan dispatch only).
    """

    def __init__(
        self,
        site: SiteModel,
        day: Day,
        assignment: Assignment | None = None,
        replanner: Replanner | None = None,
    ) -> None:
        super().__init__(
            site.queue_servers,
            site.profile_queues,
            [s.profile for s in site.servers],
            site.queue_group,
            len(GROUPS),
        )
        self.site = site
        self.day = day
        self.assignment = assignment
        self.replanner = replanner
        n = day.num_shipments
        self.task_kind: list[int] = []
        self.task_ref: list[int] = []
        self.task_door: list[int] = []
        self.goods_in = [math.nan] * n
        self.customs_done = [math.nan] * n
        self.customs_wait = [0.0] * n
        self.release_at = [math.nan] * n
        self.exam_ready_at = [math.nan] * n
        self.done_kinds: list[set[int]] = [set() for _ in range(n)]
        self.unloaded = [False] * len(day.load_arrival)
        self.truck_wait: list[tuple[float, float]] = []
        self.samples: list[list[float]] = []
        self.held_since: dict[int, float] = {}
        self.last_open = [s.windows[-1][1] if s.windows else 0.0 for s in site.servers]

    # -------------------------------------------------------------- setup

    def run(self) -> RunResult:
        """Play the day out to the end of the horizon; its measurements."""
        env, day = self.env, self.day
        for server, spec in enumerate(self.site.servers):
            self.schedule_windows(server, spec.windows)
        for ld, arrival in enumerate(day.load_arrival):
            if day.load_shipments[ld]:
                event = env.timeout(max(0.0, arrival), ld)
                event.callbacks.append(self._truck_arrives)
        for s, ready in enumerate(day.documents_ready):
            if day.load[s] < 0:
                self.goods_in[s] = 0.0
            event = env.timeout(max(0.0, ready), s)
            event.callbacks.append(self._documents_ready)
        env.process(self._sampler())
        if self.replanner is not None:
            env.process(self._replanning())
        env.run(until=self.site.horizon_min)
        return measure(self)

    def _sampler(self) -> simpy.events.ProcessGenerator:
        interval = self.site.scenario.sample_interval_min
        while True:
            self.samples.append([float(w) for w in self.waiting])
            yield self.env.timeout(interval)

    def _replanning(self) -> simpy.events.ProcessGenerator:
        every = self.site.scenario.replan_every_min
        while True:
            yield self.env.timeout(every)
            assert self.replanner is not None
            self.assignment = self.replanner(self)
            for task in self.drain_waiting():
                self._give(task)

    # --------------------------------------------------------------- tasks

    def _task(self, kind: int, ref: int, queue: int, door: int = -1) -> int:
        task = self.new_task(queue, self.env.now)
        self.task_kind.append(kind)
        self.task_ref.append(ref)
        self.task_door.append(door)
        return task

    def _key(self, task: int) -> float:
        kind, ref = self.task_kind[task], self.task_ref[task]
        if kind == UNLOAD:
            return self.day.load_key[ref]
        return self.day.rank[ref] * RANK_FACTOR + self.day.deadline[ref]

    def _give(self, task: int) -> None:
        """Submit a ready task: to its planned server, or greedily."""
        if self.assignment is not None:
            planned = self.assignment.lookup(self, task)
            # A plan made without knowing the time may name a shift that
            # has ended; that work goes to whoever is on shift.
            if planned is not None and self.last_open[planned[0]] > self.env.now:
                self.submit(task, planned[1], planned[0])
                return
        self.submit(task, self._key(task))

    def start(self, task: int, server: int) -> None:
        kind, ref = self.task_kind[task], self.task_ref[task]
        day = self.day
        if kind == EXAM_DOOR:
            # The bay is held while a broker is found for the exam.
            self.busy[server] = True
            self.task_start[task] = self.env.now
            self.held_since[server] = self.env.now
            exam = self._task(EXAM, ref, day.broker_queue[ref], door=server)
            self._give(exam)
            return
        if kind == UNLOAD:
            self.truck_wait.append(
                (day.load_arrival[ref], self.env.now - max(0.0, day.load_arrival[ref]))
            )
            duration = day.load_duration[ref]
        else:
            duration = day.durations[kind][ref]
        self.occupy(task, server, duration)

    def on_end(self, event: simpy.Event) -> None:
        task, server = event._value
        kind, ref = self.task_kind[task], self.task_ref[task]
        self.release(server)
        if kind == UNLOAD:
            self._unloaded(ref)
            return
        self.done_kinds[ref].add(kind)
        if kind == REVIEW:
            self._after_review(ref)
        elif kind == COMPLIANCE:
            self._declare(ref)
        elif kind == DECLARE:
            self._await_customs(ref, self.day.first_response[ref], self._decision)
        else:
            if kind == EXAM:
                door = self.task_door[task]
                self.busy_min[door] += self.env.now - self.held_since.pop(door)
                self.release(door)
            self._await_customs(ref, self.day.second_response[ref], self._released)

    # ---------------------------------------------------------- the flow

    def _truck_arrives(self, event: simpy.Event) -> None:
        ld = event._value
        self._give(self._task(UNLOAD, ld, self.day.load_queue[ld]))

    def _unloaded(self, ld: int) -> None:
        now = self.env.now
        self.unloaded[ld] = True
        for s in self.day.load_shipments[ld]:
            self.goods_in[s] = now
            if not math.isnan(self.exam_ready_at[s]):
                self._exam_when_ready(s)
            self._maybe_release(s)

    def _documents_ready(self, event: simpy.Event) -> None:
        s = event._value
        if self.day.skip_review[s]:
            self._after_review(s)
        else:
            self._give(self._task(REVIEW, s, self.day.review_queue[s]))

    def _after_review(self, s: int) -> None:
        if self.day.compliance[s]:
            self._give(self._task(COMPLIANCE, s, 0))
        else:
            self._declare(s)

    def _declare(self, s: int) -> None:
        if self.day.skip_declare[s]:
            self._await_customs(s, 0.0, self._decision)
        else:
            self._give(self._task(DECLARE, s, self.day.broker_queue[s]))

    def _await_customs(
        self, s: int, minutes: float, then: Callable[[simpy.Event], None]
    ) -> None:
        self.customs_wait[s] += minutes
        event = self.env.timeout(minutes, s)
        event.callbacks.append(then)

    def _decision(self, event: simpy.Event) -> None:
        s = event._value
        lane = self.day.lane[s]
        if lane == GREEN:
            self.customs_done[s] = self.env.now
            self._maybe_release(s)
        elif lane == DOCUMENTARY:
            self._give(self._task(RESPOND, s, self.day.broker_queue[s]))
        else:
            appointment = self._appointment(s)
            self.customs_wait[s] += max(0.0, appointment - self.env.now)
            self.exam_ready_at[s] = appointment
            if not math.isnan(self.goods_in[s]):
                self._exam_when_ready(s)

    def _appointment(self, s: int) -> float:
        """When customs examine: the shipment's window, else the first half
        hour after the decision when an exam door is open."""
        now = self.env.now
        given = self.day.exam_start[s]
        if not math.isnan(given) and given >= now:
            return given
        slot = math.ceil(now / EXAM_SLOT_MIN) * EXAM_SLOT_MIN
        for start, end in self.site.exam_open:
            if end > slot:
                return max(slot, start)
        return math.inf

    def _exam_when_ready(self, s: int) -> None:
        """Queue the exam for a door at its appointment, goods being in."""
        ready = self.exam_ready_at[s]
        self.exam_ready_at[s] = math.nan
        if math.isinf(ready):
            return
        delay = max(0.0, ready - self.env.now)
        event = self.env.timeout(delay, s)
        event.callbacks.append(self._exam_due)

    def _exam_due(self, event: simpy.Event) -> None:
        s = event._value
        self._give(self._task(EXAM_DOOR, s, self.site.exam_queue))

    def _released(self, event: simpy.Event) -> None:
        s = event._value
        self.customs_done[s] = self.env.now
        self._maybe_release(s)

    def _maybe_release(self, s: int) -> None:
        goods, customs = self.goods_in[s], self.customs_done[s]
        if math.isnan(goods) or math.isnan(customs):
            return
        self.release_at[s] = max(goods, customs)


def simulate(
    site: SiteModel,
    rng: np.random.Generator,
    assignment: Assignment | None = None,
    replanner: Replanner | None = None,
) -> RunResult:
    """One replication: draw a day and play it out."""
    day = draw_day(site, rng)
    return SiteRun(site, day, assignment, replanner).run()


# ------------------------------------------------------------ measuring


def _nearest_rank(ordered: Sequence[float], pct: float) -> float:
    if not ordered:
        return math.nan
    rank = max(1, math.ceil(pct / 100 * len(ordered)))
    return float(ordered[rank - 1])


def measure(run: SiteRun) -> RunResult:
    """The replication's measurements (see `RunResult`)."""
    site, day = run.site, run.day
    metrics: dict[str, float] = {
        "shipments": float(day.num_shipments),
        "trucks": float(sum(1 for s in day.load_shipments if s)),
        "cost_cents": float(site.cost_cents_per_horizon()),
    }

    # SLA attainment and lateness per priority.
    # A shipment still in work at the end whose deadline lies beyond it
    # is pending: neither met nor missed, and left out of the attainment.
    late_by_rank: list[list[float]] = [[] for _ in PRIORITIES]
    totals = [0] * len(PRIORITIES)
    unreleased = pending = 0
    end = site.horizon_min
    for s in range(day.num_shipments):
        rank = day.rank[s]
        release = run.release_at[s]
        if math.isnan(release):
            if day.deadline[s] + run.customs_wait[s] >= end:
                pending += 1
                continue
            unreleased += 1
        totals[rank] += 1
        if math.isnan(release):
            continue
        late = max(0.0, release - day.deadline[s] - run.customs_wait[s])
        late_by_rank[rank].append(late)
    metrics["unreleased"] = float(unreleased)
    metrics["pending"] = float(pending)
    all_late: list[float] = []
    for rank, priority in enumerate(PRIORITIES):
        lates = sorted(late_by_rank[rank])
        all_late.extend(lates)
        met = sum(1 for x in lates if x <= 0)
        metrics[f"sla.{priority.value}"] = (
            met / totals[rank] if totals[rank] else math.nan
        )
        _late_stats(metrics, priority.value, lates)
    met_all = sum(1 for x in all_late if x <= 0)
    counted = sum(totals)
    metrics["sla.all"] = met_all / counted if counted else math.nan
    all_late.sort()
    _late_stats(metrics, "all", all_late)
    _late_shares(metrics, all_late, counted)

    # Doors: waiting trucks, by the hour they arrived.
    waits = sorted(w for _, w in run.truck_wait)
    metrics["door_wait_min.mean"] = sum(waits) / len(waits) if waits else math.nan
    metrics["door_wait_min.p90"] = _nearest_rank(waits, 90)
    metrics["door_wait_min.max"] = waits[-1] if waits else math.nan
    hours = math.ceil(site.horizon_min / 60)
    wait_sum, wait_count = [0.0] * hours, [0] * hours
    for arrival, wait in run.truck_wait:
        hour = min(hours - 1, max(0, int(arrival // 60)))
        wait_sum[hour] += wait
        wait_count[hour] += 1

    # Utilisation per role and door, and overrun past windows.
    _utilisation(run, metrics)

    series: dict[str, list[float]] = {
        f"queue.{group}": [sample[g] for sample in run.samples]
        for g, group in enumerate(GROUPS)
    }
    for group in GROUPS:
        metrics[f"queue.{group}.max"] = max(series[f"queue.{group}"], default=0.0)
    series["door_wait_min.by_hour"] = [
        wait_sum[h] / wait_count[h] if wait_count[h] else math.nan for h in range(hours)
    ]
    return RunResult(metrics=metrics, series=series)


def _late_stats(metrics: dict[str, float], name: str, lates: list[float]) -> None:
    metrics[f"late_min.{name}.mean"] = sum(lates) / len(lates) if lates else math.nan
    for pct in (50, 90, 99):
        metrics[f"late_min.{name}.p{pct}"] = _nearest_rank(lates, pct)
    metrics[f"late_min.{name}.max"] = lates[-1] if lates else math.nan


def _late_shares(metrics: dict[str, float], lates: list[float], total: int) -> None:
    """Share of all shipments per lateness band; unreleased apart."""
    if total == 0:
        return
    bounds = (*LATENESS_BINS_MIN, math.inf)
    metrics["late_share.on_time"] = sum(1 for x in lates if x <= 0) / total
    for low, high in zip(bounds[:-1], bounds[1:], strict=True):
        label = f"{low:g}-{high:g}" if math.isfinite(high) else f"{low:g}+"
        count = sum(1 for x in lates if low < x <= high)
        metrics[f"late_share.{label}"] = count / total
    metrics["late_share.unreleased"] = metrics["unreleased"] / total


def _utilisation(run: SiteRun, metrics: dict[str, float]) -> None:
    busy: dict[str, float] = {}
    open_min: dict[str, float] = {}
    overrun: dict[str, float] = {}
    for i, server in enumerate(run.site.servers):
        window_min = sum(b - a for a, b in server.windows)
        busy[server.role] = busy.get(server.role, 0.0) + run.busy_min[i]
        open_min[server.role] = open_min.get(server.role, 0.0) + window_min
        overrun[server.role] = overrun.get(server.role, 0.0) + run.overrun_min[i]
        if server.role == "door":
            metrics[f"utilisation.door.{server.label}"] = (
                run.busy_min[i] / window_min if window_min else math.nan
            )
    for role in ("broker", "clerk", "door"):
        total = open_min.get(role, 0.0)
        metrics[f"utilisation.{role}"] = (
            busy.get(role, 0.0) / total if total else math.nan
        )
        metrics[f"overrun_min.{role}"] = overrun.get(role, 0.0)
