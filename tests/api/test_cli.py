"""Tests of the command line: schemas, and bad input answered without a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def test_schema_request_is_versioned_json_schema() -> None:
    """Tests that `clearplan schema request` prints the request's JSON Schema."""
    result = runner.invoke(app, ["schema", "request"])
    assert result.exit_code == 0
    document = json.loads(result.stdout)
    assert document["properties"]["schema_version"]["const"] == "1.0"
    assert {"site", "horizon", "staff", "shift_templates", "doors"} <= set(
        document["properties"]
    )


def test_schema_events_describes_the_envelope() -> None:
    """Tests that the events schema holds the envelope's four fields."""
    result = runner.invoke(app, ["schema", "events"])
    document = json.loads(result.stdout)
    event = document["$defs"]["Event"]
    assert set(event["required"]) == {"type", "at", "subject_id"}


def test_schema_unknown_kind_exits_2() -> None:
    """Tests that an unknown schema name is a clean error with exit code 2."""
    result = runner.invoke(app, ["schema", "roster"])
    assert result.exit_code == 2
    assert "unknown format 'roster'" in result.output


def test_roster_bad_request_names_the_field(tmp_path: Path) -> None:
    """Tests that an invalid request file gives one line naming the field, exit 2."""
    path = tmp_path / "request.json"
    path.write_text(
        json.dumps(
            {
                "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
                "horizon": {"start_date": "2025-11-11", "days": 0},
            }
        )
    )
    result = runner.invoke(app, ["roster", str(path), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "horizon.days: Input should be greater than or equal to 1" in result.output
    assert "Traceback" not in result.output


def test_roster_missing_file_is_a_clean_error(tmp_path: Path) -> None:
    """Tests that a missing request file is reported, not raised."""
    result = runner.invoke(
        app, ["roster", str(tmp_path / "nope.json"), "--out", str(tmp_path / "p")]
    )
    assert result.exit_code == 2
    assert "cannot read the request" in result.output


def test_roster_malformed_json_is_a_clean_error(tmp_path: Path) -> None:
    """Tests that a file that is not JSON is reported with exit 2."""
    path = tmp_path / "request.json"
    path.write_text("{not json")
    result = runner.invoke(app, ["roster", str(path), "--out", str(tmp_path / "p")])
    assert result.exit_code == 2
    assert "invalid request" in result.output


def test_roster_refuses_c05_request_in_2_gib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tests C-05 on the command line: 400 staff x 31 days x quarter hours in
    a 2 GiB process is refused before any model is built, saying what to cut."""
    import scheduler.sizing

    monkeypatch.setattr(scheduler.sizing, "available_memory_bytes", lambda: 2**31)
    staff = [
        {"id": f"p{i}", "role": "clerk" if i % 2 else "broker"} for i in range(400)
    ]
    path = tmp_path / "request.json"
    path.write_text(
        json.dumps(
            {
                "site": {"id": "HKG", "timezone": "Asia/Hong_Kong"},
                "horizon": {"start_date": "2025-11-01", "days": 31},
                "staff": staff,
                "shift_templates": [
                    {"id": "day", "start_local": "08:00", "end_local": "16:00"}
                ],
                "settings": {"interval_min": 15},
            }
        )
    )

    result = runner.invoke(app, ["roster", str(path), "--out", str(tmp_path / "p")])

    assert result.exit_code == 2
    assert "400 staff x 31 days x 96 quarter-hour slots needs about" in result.output
    assert "the limit is 2.0 GiB" in result.output
    assert not (tmp_path / "p").exists()
