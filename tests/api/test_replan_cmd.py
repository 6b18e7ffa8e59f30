"""Tests of `clearplan replan` and `clearplan validate --previous`."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from typer.testing import CliRunner

from api.cli import app
from scheduler.models import Plan
from scheduler.taskplan import plan_tasks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "scheduler"))
from task_site import at, broker, clerk, shipment, site_request  # noqa: E402


def _files(tmp_path: Path) -> tuple[Path, Path]:
    """A plan where b1 and b2 alternate declares from 09:00, and b1's absence
    from 09:30 as an event file."""
    request = site_request(
        staff=[clerk("c1"), broker("b1"), broker("b2")],
        shipments=[
            shipment(
                f"s{i}",
                documents_ready_at=at("09:00").isoformat(),
                declaration_lines=40,
            )
            for i in range(4)
        ],
    )
    plan_path, events_path = tmp_path / "plan.json", tmp_path / "events.json"
    plan_path.write_text(plan_tasks(request).model_dump_json())
    absent = {
        "type": "person.absent",
        "at": at("09:20").isoformat(),
        "subject_id": "b1",
        "payload": {"start": at("09:30").isoformat()},
    }
    events_path.write_text(json.dumps({"events": [absent]}))
    return plan_path, events_path


def test_replan_cmd_writes_a_revision_the_validator_accepts(tmp_path: Path) -> None:
    """replan writes revision 2; validate --previous says it is valid (exit 0)."""
    plan_path, events_path = _files(tmp_path)
    out = tmp_path / "rev2.json"
    runner = CliRunner()
    result = runner.invoke(
        app,
        [
            "replan",
            str(plan_path),
            str(events_path),
            "--at",
            "2025-11-11T09:30:00+08:00",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    child = Plan.model_validate_json(out.read_text())
    assert (child.revision, child.parent_revision) == (2, 1)

    checked = runner.invoke(app, ["validate", str(out), "--previous", str(plan_path)])
    assert checked.exit_code == 0, checked.output
    assert "valid" in checked.output


def test_validate_previous_flags_a_diff_that_is_not_exact(tmp_path: Path) -> None:
    """A revision whose diff lost an operation is invalid (exit 1, [diff])."""
    plan_path, events_path = _files(tmp_path)
    out = tmp_path / "rev2.json"
    runner = CliRunner()
    runner.invoke(
        app,
        [
            "replan",
            str(plan_path),
            str(events_path),
            "--at",
            "2025-11-11T09:30:00+08:00",
            "--out",
            str(out),
        ],
    )
    child = Plan.model_validate_json(out.read_text())
    assert child.diff
    tampered = child.model_copy(update={"diff": child.diff[1:]})
    out.write_text(tampered.model_dump_json())
    checked = runner.invoke(app, ["validate", str(out), "--previous", str(plan_path)])
    assert checked.exit_code == 1
    assert "[diff]" in checked.output


def test_replan_cmd_at_without_offset_is_refused(tmp_path: Path) -> None:
    """--at without an offset is an input error (exit 2), not a guess."""
    plan_path, events_path = _files(tmp_path)
    result = CliRunner().invoke(
        app,
        [
            "replan",
            str(plan_path),
            str(events_path),
            "--at",
            "2025-11-11T09:30",
            "--out",
            str(tmp_path / "x.json"),
        ],
    )
    assert result.exit_code == 2
    assert "UTC offset" in result.output
