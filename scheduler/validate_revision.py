"""The independent check of a revision against its parent.

A second reading of the re-planning rules, from the two plans alone and
nothing of the re-planning code:

- ``[revision_link]`` same plan id, parent revision and revision number;
- ``[diff]`` the diff is exact: one operation per task that differs, of
  the right kind (``move``: same person and door, other times;
  ``reassign``: another person or door; ``add``: a new task; ``drop``: a
  task gone), each with a reason, and applied to the parent's tasks it
  gives the revision's tasks;
- ``[frozen]`` a parent task planned to start before the re-planning time
  is unchanged, unless an event concerns it (its task, shipment, load,
  person or door) or an earlier task of its shipment changed for one;
  reported tasks start (or end) at their reported times;
- ``[pinned]`` a task the revision lists as pinned is as in the parent;
- ``[absence]`` nobody starts a task inside their absence, except one
  that had started before it.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scheduler.models import Plan, Task
from scheduler.validate_roster import Violation


def validate_revision(plan: Plan, previous: Plan) -> list[Violation]:
    """Check a revision against its parent; an empty list means it holds."""
    violations = _link(plan, previous)
    violations += _diff(plan, previous)
    if plan.replanned_at is not None:
        violations += _frozen(plan, previous, plan.replanned_at)
    violations += _pinned(plan, previous)
    violations += _absences(plan)
    return violations


def _fields(task: Task) -> dict[str, Any]:
    return task.model_dump()


def _link(plan: Plan, previous: Plan) -> list[Violation]:
    found = []
    if plan.plan_id != previous.plan_id:
        found.append(
            Violation(
                "revision_link",
                plan.plan_id,
                f"the revision belongs to plan {plan.plan_id}, the parent to "
                f"{previous.plan_id}.",
            )
        )
    if plan.parent_revision != previous.revision or plan.revision <= previous.revision:
        found.append(
            Violation(
                "revision_link",
                plan.plan_id,
                f"revision {plan.revision} names parent {plan.parent_revision}, "
                f"the previous plan is revision {previous.revision}.",
            )
        )
    return found


def _diff(plan: Plan, previous: Plan) -> list[Violation]:
    """The diff names exactly the differences, with the right operations."""
    if plan.diff is None:
        return [Violation("diff", plan.plan_id, "the revision carries no diff.")]
    found: list[Violation] = []
    current = {task.id: task for task in previous.tasks}
    before = dict(current)
    seen: set[str] = set()
    for op in plan.diff:
        if op.task_id in seen:
            found.append(Violation("diff", op.task_id, "two operations on one task."))
        seen.add(op.task_id)
        old = before.get(op.task_id)
        if op.op == "drop":
            if old is None:
                found.append(
                    Violation("diff", op.task_id, "drop of a task the parent lacks.")
                )
            current.pop(op.task_id, None)
            continue
        new = op.task
        if new is None or new.id != op.task_id:
            found.append(Violation("diff", op.task_id, f"{op.op} without its task."))
            continue
        expected = _kind_of(old, new)
        if expected != op.op:
            found.append(
                Violation(
                    "diff",
                    op.task_id,
                    f"recorded as {op.op}, the change is {expected or 'none'}.",
                )
            )
        current[op.task_id] = new

    mine = {task.id: _fields(task) for task in plan.tasks}
    got = {task_id: _fields(task) for task_id, task in current.items()}
    for task_id in sorted(mine.keys() | got.keys()):
        if mine.get(task_id) != got.get(task_id):
            found.append(
                Violation(
                    "diff",
                    task_id,
                    "the diff applied to the parent does not give this task.",
                )
            )
    return found


def _kind_of(old: Task | None, new: Task) -> str | None:
    if old is None:
        return "add"
    if (old.person_id, old.door_id) != (new.person_id, new.door_id):
        return "reassign"
    if _fields(old) != _fields(new):
        return "move"
    return None


def _concerned(plan: Plan, task: Task) -> bool:
    """Whether an event of the revision concerns the task."""
    shipment_id = task.shipment_id or ""
    keys = {task.id, shipment_id, task.load_id, task.person_id, task.door_id}
    keys.discard(None)
    keys.discard("")
    return any(event.subject_id in keys for event in plan.events)


def _frozen(plan: Plan, previous: Plan, at: datetime) -> list[Violation]:
    found: list[Violation] = []
    mine = {task.id: task for task in plan.tasks}
    load_of = {s.id: s.load_id for s in previous.request.shipments}
    changed_by_event: set[str] = set()
    for old in sorted(previous.tasks, key=lambda t: t.start):
        if old.start >= at:
            continue
        new = mine.get(old.id)
        if new is not None and _fields(new) == _fields(old):
            continue
        # A task follows its shipment's earlier tasks; an exam its truck too.
        chain = {old.shipment_id or "", old.load_id or ""}
        if old.kind.value == "exam":
            chain.add(load_of.get(old.shipment_id or "") or "")
        chain.discard("")
        if _concerned(plan, old) or chain & changed_by_event:
            changed_by_event |= chain
            continue
        found.append(
            Violation(
                "frozen",
                old.id,
                "planned to start before the re-planning time with no event "
                "against it, yet changed.",
            )
        )
    for event in plan.events:
        task = mine.get(event.subject_id)
        if task is None:
            continue
        if event.type == "task.started":
            reported = datetime.fromisoformat(str(event.payload["started_at"]))
            if task.start != reported:
                found.append(
                    Violation("frozen", task.id, "does not start at its reported time.")
                )
        if event.type == "task.finished":
            reported = datetime.fromisoformat(str(event.payload["finished_at"]))
            if task.end != reported:
                found.append(
                    Violation("frozen", task.id, "does not end at its reported time.")
                )
    return found


def _pinned(plan: Plan, previous: Plan) -> list[Violation]:
    found: list[Violation] = []
    before = {task.id: task for task in previous.tasks}
    mine = {task.id: task for task in plan.tasks}
    for task_id in plan.pinned_task_ids:
        old, new = before.get(task_id), mine.get(task_id)
        if old is None:
            continue
        if new is None or _fields(new) != _fields(old):
            found.append(Violation("pinned", task_id, "a pinned task changed."))
    return found


def _absences(plan: Plan) -> list[Violation]:
    found: list[Violation] = []
    # What was reported done happened, whatever the absence says.
    reported = {
        e.subject_id for e in plan.events if e.type in ("task.started", "task.finished")
    }
    for event in plan.events:
        if event.type != "person.absent":
            continue
        start = datetime.fromisoformat(str(event.payload["start"]))
        end_text = event.payload.get("end")
        end = None if end_text is None else datetime.fromisoformat(str(end_text))
        for task in plan.tasks:
            if task.person_id != event.subject_id or task.start < start:
                continue
            if task.id in reported:
                continue
            if end is not None and task.start >= end:
                continue
            found.append(
                Violation(
                    "absence", task.id, "starts while its person is reported absent."
                )
            )
    return found
