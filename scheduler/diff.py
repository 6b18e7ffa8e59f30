"""The diff of a re-plan: a patch of `move`, `reassign`, `add` and `drop`.

`task_diff` compares a parent's tasks with a child's and names one
operation per task that differs, with a reason; `apply_patch` applies such
a patch to the parent's tasks and gives the child's, in plan order (start,
then id). Unchanged tasks have no operation.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from scheduler.models import PatchOp, Task

ReasonOf = Callable[[str, str], str]


def same_task(a: Task, b: Task) -> bool:
    """Whether two tasks are identical in every planned field."""
    return a.model_dump() == b.model_dump()


def task_diff(
    parent: Sequence[Task], child: Sequence[Task], reason_of: ReasonOf
) -> list[PatchOp]:
    """The exact patch from the parent's tasks to the child's.

    Parameters
    ----------
    parent, child
        The tasks of the parent revision and of the new one.
    reason_of
        Called with (operation, task id); returns the reason to record.

    Returns
    -------
    list[PatchOp]
        Drops first (by id), then moves, reassigns and adds by task id.
    """
    before = {task.id: task for task in parent}
    after = {task.id: task for task in child}
    patch: list[PatchOp] = []

    for task_id in sorted(before.keys() - after.keys()):
        patch.append(
            PatchOp(op="drop", task_id=task_id, reason=reason_of("drop", task_id))
        )

    for task_id in sorted(after):
        new = after[task_id]
        old = before.get(task_id)
        if old is None:
            op = "add"
        elif same_task(old, new):
            continue
        elif (old.person_id, old.door_id) != (new.person_id, new.door_id):
            op = "reassign"
        else:
            op = "move"
        patch.append(
            PatchOp(
                op=op,
                task_id=task_id,
                reason=reason_of(op, task_id),
                task=new,
            )
        )
    return patch


def apply_patch(tasks: Sequence[Task], patch: Sequence[PatchOp]) -> list[Task]:
    """The tasks after the patch, sorted by start then id.

    Raises
    ------
    ValueError
        When an operation names a task it cannot apply to (adding a task
        that exists, changing or dropping one that does not).
    """
    by_id = {task.id: task for task in tasks}
    for i, op in enumerate(patch):
        present = op.task_id in by_id
        if op.op == "add" and present:
            raise ValueError(
                f"patch[{i}].task_id: '{op.task_id}' exists; add needs a new task"
            )
        if op.op != "add" and not present:
            raise ValueError(
                f"patch[{i}].task_id: '{op.task_id}' is not a task to {op.op}"
            )
        if op.op == "drop":
            del by_id[op.task_id]
            continue
        if op.task is None or op.task.id != op.task_id:
            raise ValueError(
                f"patch[{i}].task: must be the task '{op.task_id}' after the {op.op}"
            )
        by_id[op.task_id] = op.task
    return sorted(by_id.values(), key=lambda task: (task.start, task.id))
