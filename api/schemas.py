"""Response bodies of the service, per resource, for the OpenAPI document."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from api.store import JobStatus


class Problem(BaseModel):
    """An error: one sentence, and for 422 one line per invalid field."""

    detail: str
    errors: list[str] = Field(default_factory=list)


class Submitted(BaseModel):
    """A plan request accepted for solving."""

    job_id: str
    plan_id: str
    status: JobStatus
    job_url: str
    plan_url: str
    reused: bool = Field(
        default=False, description="true when an Idempotency-Key was repeated"
    )


class JobView(BaseModel):
    """A job: its status, progress while running, reason when failed."""

    job_id: str
    plan_id: str
    site_id: str
    status: JobStatus
    attempt: int
    created_at: str | None
    started_at: str | None
    finished_at: str | None
    best_objective: float | None = Field(description="best objective so far")
    best_bound: float | None
    gap: float | None
    elapsed_s: float | None
    reason: str | None = Field(
        description='why it failed: "timeout", "resource limit", "worker lost", ...'
    )
    force_stopped: bool = Field(description="the solver was killed after a stop")
    cancel_requested: bool
    revision: int | None = Field(description="the plan revision it produced")
    time_limit_s: float
    queue_timeout_s: int


class JobList(BaseModel):
    """Jobs newest first; expired ones are left out."""

    jobs: list[JobView]


class CancelAnswer(BaseModel):
    """What a cancel did: `cancelled` at once, or `cancelling` a running job."""

    job_id: str
    status: str


class Published(BaseModel):
    """The site's current plan after a publish."""

    site_id: str
    plan_id: str
    revision: int
    dates: list[str]


class PlanSummary(BaseModel):
    """Status, objective and KPIs of a plan revision."""

    plan_id: str
    revision: int
    status: str
    status_reason: str
    objective: dict[str, Any]
    bound: int | None
    gap: float | None
    kpis: dict[str, Any]
