"""Tests of `clearplan validate`: exit codes, the JSON answer, clean errors."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from api.validate_cmd import run_validate
from scheduler.models import (
    Objective,
    Plan,
    Provenance,
    Request,
    RosterShift,
    Task,
)

TERMS = (
    "unscheduled",
    "lateness",
    "undercover",
    "overcover",
    "cost",
    "requests",
    "unavailability",
    "fairness",
    "stability",
)


def _at(clock: str) -> datetime:
    return datetime.fromisoformat(f"2025-11-11T{clock}:00+08:00")


def _request(documents_ready: str = "08:00") -> Request:
    return Request.model_validate(
        {
            "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
            "horizon": {"start_date": "2025-11-11", "days": 1},
            "staff": [
                {"id": "c1", "role": "clerk"},
                {"id": "b1", "role": "broker", "licences": [{"jurisdiction": "HK"}]},
            ],
            "shift_templates": [
                {
                    "id": "day",
                    "start_local": "08:00",
                    "end_local": "16:00",
                    "break_start_local": "12:00",
                    "break_min": 30,
                }
            ],
            "shipments": [
                {
                    "id": "S1",
                    "in_warehouse": True,
                    "documents": 0,
                    "declaration_lines": 0,
                    "documents_ready_at": _at(documents_ready).isoformat(),
                }
            ],
        }
    )


def _plan(declare_start: str = "08:06", declare_end: str = "08:16") -> Plan:
    """One shipment: review 08:00-08:06 (6 min), declare 10 min."""
    return Plan(
        plan_id="p1",
        request=_request(),
        status="heuristic",
        objective=Objective(total=0, terms=dict.fromkeys(TERMS, 0)),
        roster=[
            RosterShift(person_id=p, date="2025-11-11", template_id="day", post=r)
            for p, r in (("c1", "clerk"), ("b1", "broker"))
        ],
        tasks=[
            Task(
                id="S1:review",
                kind="review",
                shipment_id="S1",
                person_id="c1",
                start=_at("08:00"),
                end=_at("08:06"),
                work_min=6,
            ),
            Task(
                id="S1:declare",
                kind="declare",
                shipment_id="S1",
                person_id="b1",
                start=_at(declare_start),
                end=_at(declare_end),
                work_min=10,
            ),
        ],
        provenance=Provenance(
            solver="hand", solver_version="0", clearplan_version="0", input_hash=""
        ),
    )


def _write(tmp_path: Path, name: str, model: Plan | Request) -> Path:
    path = tmp_path / name
    path.write_text(model.model_dump_json(indent=1), encoding="utf-8")
    return path


def test_validate_cmd_valid_plan_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that a valid plan exits 0 with the documented JSON shape."""
    plan_path = _write(tmp_path, "plan.json", _plan())

    code = run_validate(None, plan_path, as_json=True)
    answer = json.loads(capsys.readouterr().out)

    assert code == 0
    assert answer == {
        "valid": True,
        "violations": [],
        "objective": {"total": 0, "terms": dict.fromkeys(TERMS, 0)},
    }


def test_validate_cmd_invalid_plan_json(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that a plan breaking a rule exits 1 and lists rule, subject, message."""
    # The declaration runs into the 12:00-12:30 break.
    plan_path = _write(tmp_path, "plan.json", _plan("11:55", "12:05"))

    code = run_validate(None, plan_path, as_json=True)
    answer = json.loads(capsys.readouterr().out)

    assert code == 1
    assert answer["valid"] is False
    assert [(v["rule"], v["subject"]) for v in answer["violations"]] == [
        ("break", "S1:declare")
    ]
    assert set(answer["violations"][0]) == {"rule", "subject", "message"}


def test_validate_cmd_request_given(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that the plan passes with its own request and fails with another."""
    plan_path = _write(tmp_path, "plan.json", _plan())
    same = _write(tmp_path, "same.json", _request())
    other = _write(tmp_path, "other.json", _request(documents_ready="07:00"))

    assert run_validate(same, plan_path, as_json=True) == 0
    capsys.readouterr()
    assert run_validate(other, plan_path, as_json=True) == 1
    answer = json.loads(capsys.readouterr().out)

    assert [v["rule"] for v in answer["violations"]] == ["request_mismatch"]


def test_validate_cmd_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests the readable summary: verdict, objective and one line per violation."""
    plan_path = _write(tmp_path, "plan.json", _plan("11:55", "12:05"))

    code = run_validate(None, plan_path, as_json=False)
    lines = capsys.readouterr().out.splitlines()

    assert code == 1
    assert lines[0] == "plan p1 revision 1 (heuristic): INVALID, 1 violation"
    assert lines[1] == "objective 0"
    assert lines[2].startswith("  [break] S1:declare: task S1:declare runs into")


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (None, "cannot read the plan"),
        ("{not json", "not a valid plan: Invalid JSON"),
        ('{"plan_id": "p1"}', "not a valid plan: request: Field required"),
        (b"\xff\xfe\x00", "not UTF-8 text"),
    ],
)
def test_validate_cmd_bad_plan_file(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    content: str | bytes | None,
    expected: str,
) -> None:
    """Tests that a missing or broken plan file gives one clean line and exit 2."""
    plan_path = tmp_path / "plan.json"
    if isinstance(content, bytes):
        plan_path.write_bytes(content)
    elif content is not None:
        plan_path.write_text(content, encoding="utf-8")

    code = run_validate(None, plan_path, as_json=True)
    captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    assert len(captured.err.splitlines()) == 1
    assert captured.err.startswith(f"error: {plan_path}: ")
    assert expected in captured.err
    assert "Traceback" not in captured.err


def test_validate_cmd_missing_request_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Tests that a missing request file is a clean error, not a verdict."""
    plan_path = _write(tmp_path, "plan.json", _plan())

    code = run_validate(tmp_path / "nope.json", plan_path, as_json=True)
    captured = capsys.readouterr()

    assert code == 2
    assert captured.out == ""
    assert "cannot read the request: No such file or directory" in captured.err
