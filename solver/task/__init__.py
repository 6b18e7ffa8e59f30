"""The task model over index-based data: problem, CP-SAT builder, search.

Nothing here knows shipments or doors: `scheduler.task_index` turns the
domain into `TaskProblem` and reads a `TaskSolution` back.
"""

from solver.task.bound import ChainBound, chain_bound
from solver.task.builder import Alternative, TaskModel, TaskModelBuilder
from solver.task.data import (
    JobData,
    Precedence,
    ReleaseSource,
    ResourceData,
    TaskData,
    TaskProblem,
)
from solver.task.result import SearchParams, TaskResult, TaskStatus
from solver.task.search import count_alternatives, improve
from solver.task.solution import JobCosts, TaskSolution, evaluate, job_late_min

__all__ = [
    "Alternative",
    "ChainBound",
    "JobCosts",
    "JobData",
    "Precedence",
    "ReleaseSource",
    "ResourceData",
    "SearchParams",
    "TaskData",
    "TaskModel",
    "TaskModelBuilder",
    "TaskProblem",
    "TaskResult",
    "TaskSolution",
    "TaskStatus",
    "chain_bound",
    "count_alternatives",
    "evaluate",
    "improve",
    "job_late_min",
]
