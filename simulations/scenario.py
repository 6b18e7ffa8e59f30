"""The scenario format: a request plus what a simulation of it needs.

A scenario is a `Request` (site, horizon, staff, shift templates, doors,
labour standards, forecast or loads and shipments, roster, settings) with
the fields that say how to draw random days from it and how to dispatch
the work. It reads and writes as JSON like a request; every request field
keeps its meaning.

Two kinds:

- ``site``: the discrete-event simulation of a peak period at the site
  (`simulations.des`);
- ``single_queue``: one queue with Poisson arrivals, exponential service
  and identical servers, to check the engine against Erlang C
  (`simulations.queueing`). Only `single_queue` is read; the request part
  just has to be a valid request.

Task times vary around the labour standards by a log-normal law with the
standard's minutes as its mean and a coefficient of variation per task
kind (`TaskTimeVariation`); why each value was chosen is written there.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Literal

import numpy as np
from pydantic import Field, field_validator, model_validator

from scheduler.models import Cents, Model, Request, Role, Task
from scheduler.sitetime import zone

logger = logging.getLogger(__name__)

MAX_VOLUME = 10.0
_MONTH_RE = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


class TaskTimeVariation(Model):
    """Coefficient of variation (standard deviation / mean) per task kind.

    Each task's minutes are drawn from a log-normal law whose mean is the
    labour standard's minutes for that task, so the standards stay the
    average and only the spread is added. The values are our assumptions:

    - unload 0.25: pallets are counted into the standard; what varies is
      the forklift, the seal check and the truck's position;
    - review 0.5 and respond 0.5: paperwork varies most (missing
      certificates, a query to the shipper); studies of clerical task
      times commonly see coefficients of 0.4 to 0.7;
    - compliance 0.5: as review;
    - declare 0.4: lines are counted into the standard, the rest is
      keying and the customs system's answer;
    - exam 0.3: officers work to a routine, the pallets are counted;
    - customs response 0.5: the response time of the customs system and
      officers around `customs_response_min` (the time-release surveys
      report means, with long right tails).
    """

    unload: float = Field(default=0.25, ge=0, le=3)
    review: float = Field(default=0.5, ge=0, le=3)
    compliance: float = Field(default=0.5, ge=0, le=3)
    declare: float = Field(default=0.4, ge=0, le=3)
    respond: float = Field(default=0.5, ge=0, le=3)
    exam: float = Field(default=0.3, ge=0, le=3)
    customs_response: float = Field(default=0.5, ge=0, le=3)


class ArrivalLateness(Model):
    """Freighter lateness added to each scheduled arrival.

    With ``source: hkia`` every freighter (the loads whose ids share the
    part before their last ``-``, as the HKIA example names them; a load
    id without ``-`` is a freighter of its own) is moved by one draw from
    the real actual-minus-scheduled on-block minutes at Hong Kong airport
    (records more than 12 h off schedule dropped), optionally only from
    the scheduled months in `months` ("2025-11") and multiplied by
    `scale`. The loads' ``eta`` are then read as scheduled times.
    """

    source: Literal["none", "hkia"] = "none"
    months: list[str] = Field(default_factory=list)
    scale: float = Field(default=1.0, ge=0, le=10)

    @field_validator("months")
    @classmethod
    def _month_format(cls, value: list[str]) -> list[str]:
        for month in value:
            if not _MONTH_RE.match(month):
                raise ValueError(f"'{month}' is not a month YYYY-MM")
        return value


class RoleCosts(Model):
    """Loaded hourly cost of one person of each role, for capacity sweeps."""

    broker: Cents = 0
    clerk: Cents = 0

    def of(self, role: Role | str) -> int:
        return int(getattr(self, Role(role).value))


class SingleQueue(Model):
    """An M/M/c queue: Poisson arrivals, exponential service, c servers.

    Rates are per minute. A run serves `customers` arrivals and measures
    the wait in queue of those after the first `warmup_customers`, whose
    start from an empty system would bias the mean low. A run holds about
    300 bytes per customer (300 MB and 14 s at 1,000,000), hence the cap.
    """

    arrival_rate_per_min: float = Field(gt=0, le=10_000)
    service_rate_per_min: float = Field(gt=0, le=10_000)
    servers: int = Field(ge=1, le=10_000)
    customers: int = Field(default=20_000, ge=10, le=1_000_000)
    warmup_customers: int = Field(default=2_000, ge=0, le=1_000_000)

    @model_validator(mode="after")
    def _stable(self) -> SingleQueue:
        load = self.arrival_rate_per_min / (self.servers * self.service_rate_per_min)
        if load >= 1:
            raise ValueError(
                f"the load lambda / (c * mu) is {load:.3f}; it must stay below 1 "
                f"for the queue to have a steady state"
            )
        if self.warmup_customers >= self.customers:
            raise ValueError("warmup_customers must be fewer than customers")
        return self


class Scenario(Request):
    """A request with the settings of a simulation of it.

    Parameters
    ----------
    kind
        ``site`` (the peak at the site) or ``single_queue`` (M/M/c check).
    arrivals
        ``replay``: the request's loads and shipments at their times;
        ``forecast``: shipments drawn as a non-homogeneous Poisson process
        from the forecast's rates (each on its own truck, documents ready
        on arrival).
    volume
        Multiplies the arrivals: a forecast's rates, or in replay each
        shipment copied `floor(volume)` times plus once more with
        probability `volume - floor(volume)` (copies ride on the same
        truck); below 1 each shipment is kept with probability `volume`.
    lateness
        Freighter lateness drawn from the real HKIA records.
    lanes
        ``drawn``: each shipment's customs lane drawn from the labour
        standards' lane shares in every run; ``given``: a lane set on the
        shipment is kept (and its exam window), unset ones are drawn.
    task_time_cv
        Spread of task times around the labour standards.
    dispatch
        ``greedy``: priority dispatch (express before standard before
        deferred, then earliest SLA deadline); ``plan``: follow a task
        plan (`plan_tasks`, or one made by the task planner once for the
        scenario), work outside it dispatched greedily; ``replan``: make
        a new plan of the remaining work every `replan_every_min`.
    role_hourly_cost_cents
        Hourly cost per person of each role; doors cost their own
        `hourly_cost_cents` while open.
    sample_interval_min
        Queue lengths are sampled this often.
    """

    kind: Literal["site", "single_queue"] = "site"
    arrivals: Literal["replay", "forecast"] = "replay"
    volume: float = Field(default=1.0, gt=0, le=MAX_VOLUME)
    lateness: ArrivalLateness = Field(default_factory=ArrivalLateness)
    lanes: Literal["drawn", "given"] = "drawn"
    task_time_cv: TaskTimeVariation = Field(default_factory=TaskTimeVariation)
    dispatch: Literal["greedy", "plan", "replan"] = "greedy"
    replan_every_min: int = Field(default=60, ge=5, le=24 * 60)
    replan_time_limit_s: float = Field(default=5.0, gt=0, le=600)
    plan_tasks: list[Task] | None = None
    role_hourly_cost_cents: RoleCosts = Field(default_factory=RoleCosts)
    sample_interval_min: int = Field(default=30, ge=1, le=24 * 60)
    single_queue: SingleQueue | None = None

    @model_validator(mode="after")
    def _kind_needs(self) -> Scenario:
        if self.kind == "single_queue":
            if self.single_queue is None:
                raise ValueError(
                    "single_queue: required when kind is 'single_queue' "
                    "(arrival_rate_per_min, service_rate_per_min, servers)"
                )
            return self
        if self.arrivals == "forecast" and not self.forecast:
            raise ValueError("forecast: arrivals 'forecast' needs forecast items")
        if self.arrivals == "replay" and not self.shipments:
            raise ValueError("shipments: arrivals 'replay' needs shipments to replay")
        if not self.staff:
            raise ValueError("staff: a site scenario needs people to do the work")
        return self


def load_scenario(text: str) -> Scenario:
    """Validate scenario JSON (pydantic's ValidationError names the field)."""
    return Scenario.model_validate_json(text)


def planning_request(scenario: Scenario, **settings: object) -> Request:
    """The request part of a scenario, to plan inside a simulation.

    Plans made inside a simulation (the roster of a scenario without one,
    the plan to follow, every re-plan) are made in reproducible mode: the
    search budget follows from the request, not from the wall clock, so a
    run's result depends on the scenario and the seed only, not on how
    loaded the machine is nor on how many processes or batches share the
    replications. `settings` overrides more settings fields.
    """
    request = Request.model_validate(
        scenario.model_dump(include=set(Request.model_fields))
    )
    update = {"reproducible": True, **settings}
    return request.model_copy(
        update={"settings": request.settings.model_copy(update=update)}
    )


def scenario_from_request(request: Request, **fields: object) -> Scenario:
    """A scenario on top of a request, with simulation fields set."""
    data = request.model_dump(mode="json")
    data.update(fields)
    return Scenario.model_validate(data)


@lru_cache(maxsize=16)
def freighter_lateness_min(months: tuple[str, ...] = ()) -> tuple[np.ndarray, int]:
    """Actual minus scheduled on-block minutes of real HKIA freighters.

    Reads the project's copy of the records through `simulations.hkia`,
    which drops (and counts) records more than 12 h off schedule and
    cancelled flights.

    Parameters
    ----------
    months
        Keep only flights scheduled in these months ("2025-11"); empty
        keeps all.

    Returns
    -------
    tuple
        The minutes (a read-only array) and how many records of the whole
        file were dropped as more than 12 h off schedule.

    Raises
    ------
    ValueError
        When no record falls in the months asked for.
    """
    from simulations.hkia import HKIA_TZ, load_arrivals

    records = load_arrivals()
    wanted = set(months)
    minutes = []
    for arrival in records.arrivals:
        month = arrival.scheduled.astimezone(zone(HKIA_TZ)).strftime("%Y-%m")
        if wanted and month not in wanted:
            continue
        delta = arrival.on_block - arrival.scheduled
        minutes.append(delta.total_seconds() / 60)
    if not minutes:
        raise ValueError(
            f"lateness.months: no HKIA record falls in {', '.join(months)} "
            f"(the records cover {records.first_date} to {records.last_date})"
        )
    sample = np.asarray(minutes, dtype=float)
    sample.setflags(write=False)
    logger.info(
        "scenario: %d freighter lateness records (%s, zone %s); %d records "
        "dropped as more than 12 h off schedule",
        len(sample),
        ", ".join(months) or "all months",
        HKIA_TZ,
        records.dropped_off_schedule,
    )
    return sample, records.dropped_off_schedule
