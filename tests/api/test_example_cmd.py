"""Tests of `clearplan example hkia` and the request file it writes."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.cli import app
from api.example_cmd import request_json, run_example_hkia
from scheduler.models import Request
from simulations.hkia import build_request

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "hkia-2025-11-11.json"


def test_run_example_hkia_writes_the_request_bytes(tmp_path):
    """The file is the request's indented JSON, read back as the same request."""
    out = tmp_path / "nested" / "request.json"
    run_example_hkia(date(2025, 11, 28), 1.5, 3, out)
    data = out.read_bytes()
    assert data == request_json(build_request(date(2025, 11, 28), 1.5, 3))
    assert data.startswith(b'{\n "schema_version": "1.0",\n "request_id": ')
    assert data.endswith(b"}\n")
    request = Request.model_validate_json(data)
    assert request.request_id == "hkia-2025-11-28-x1.5-seed3"


def test_run_example_hkia_outside_the_data_names_the_range(tmp_path):
    """A day the records do not cover is refused, naming the covered range."""
    with pytest.raises(ValueError, match="cover 2025-10-16 to 2026-01-21"):
        run_example_hkia(date(2026, 3, 1), 1.0, 0, tmp_path / "r.json")
    assert not (tmp_path / "r.json").exists()


def test_cli_example_hkia_outside_the_data_exits_2(tmp_path):
    """The command line answers a day outside the data with one line, exit 2."""
    result = runner.invoke(
        app,
        ["example", "hkia", "--date", "2024-11-11", "--out", str(tmp_path / "r")],
    )
    assert result.exit_code == 2
    # The console wraps long lines; compare the words.
    assert "cover 2025-10-16 to 2026-01-21" in " ".join(result.output.split())


def test_bundled_example_is_the_command_output(tmp_path):
    """examples/hkia-2025-11-11.json is exactly what the README command writes."""
    out = tmp_path / "request.json"
    result = runner.invoke(
        app,
        [
            "example",
            "hkia",
            "--date",
            "2025-11-11",
            "--volume",
            "1.0",
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0
    written = hashlib.sha256(out.read_bytes()).hexdigest()
    assert written == hashlib.sha256(EXAMPLE.read_bytes()).hexdigest()
