"""Tests of the re-plan diff: exact operations, and the patch applied."""

from __future__ import annotations

from datetime import timedelta

import pytest
from task_site import at

from scheduler.diff import apply_patch, task_diff
from scheduler.models import PatchOp, Task, TaskKind


def _task(
    task_id: str, start: str, person: str | None = "b1", minutes: int = 10
) -> Task:
    begin = at(start)
    return Task(
        id=task_id,
        kind=TaskKind.declare,
        shipment_id=task_id.split(":")[0],
        person_id=person,
        start=begin,
        end=begin + timedelta(minutes=minutes),
        work_min=minutes,
    )


def _why(op: str, task_id: str) -> str:
    return f"{op} {task_id}"


def test_task_diff_names_each_kind_of_change() -> None:
    """A moved, a reassigned, an added and a dropped task: one operation each."""
    parent = [
        _task("s1:declare", "09:00"),
        _task("s2:declare", "09:10"),
        _task("s3:declare", "09:20"),
        _task("s4:declare", "09:30"),
    ]
    child = [
        _task("s1:declare", "09:00"),
        _task("s2:declare", "09:40"),
        _task("s3:declare", "09:20", person="b2"),
        _task("s5:declare", "10:00"),
    ]
    patch = task_diff(parent, child, _why)
    assert [(op.op, op.task_id) for op in patch] == [
        ("drop", "s4:declare"),
        ("move", "s2:declare"),
        ("reassign", "s3:declare"),
        ("add", "s5:declare"),
    ]
    assert patch[1].reason == "move s2:declare"


def test_apply_patch_gives_the_child_in_plan_order() -> None:
    """The patch applied to the parent gives the child's tasks, by start."""
    parent = [_task("s1:declare", "09:00"), _task("s2:declare", "09:10")]
    child = [_task("s2:declare", "08:30"), _task("s3:declare", "09:00")]
    patch = task_diff(parent, child, _why)
    assert apply_patch(parent, patch) == child


def test_apply_patch_refuses_adding_an_existing_task() -> None:
    """Adding a task the parent has is refused naming patch[i].task_id."""
    parent = [_task("s1:declare", "09:00")]
    patch = [PatchOp(op="add", task_id="s1:declare", reason="x", task=parent[0])]
    with pytest.raises(ValueError, match=r"patch\[0\]\.task_id"):
        apply_patch(parent, patch)


def test_apply_patch_refuses_dropping_a_missing_task() -> None:
    """Dropping a task the parent lacks is refused."""
    with pytest.raises(ValueError, match=r"patch\[0\]\.task_id: 's9:declare'"):
        apply_patch([], [PatchOp(op="drop", task_id="s9:declare", reason="x")])


def test_task_diff_of_identical_plans_is_empty() -> None:
    """No change, no operation."""
    tasks = [_task("s1:declare", "09:00")]
    assert task_diff(tasks, list(tasks), _why) == []
