"""Tests of `clearplan simulate` and `clearplan sweep`: outputs and exit codes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from api.cli import app

runner = CliRunner()


def _single_queue(tmp_path: Path, **queue: Any) -> Path:
    data = {
        "kind": "single_queue",
        "site": {"id": "mmc", "timezone": "UTC"},
        "horizon": {"start_date": "2025-11-11", "days": 1},
        "single_queue": {
            "arrival_rate_per_min": 0.5,
            "service_rate_per_min": 1.0,
            "servers": 1,
            "customers": 2000,
            "warmup_customers": 200,
            **queue,
        },
    }
    path = tmp_path / "queue.json"
    path.write_text(json.dumps(data))
    return path


def _tiny_site(tmp_path: Path) -> Path:
    """One clerk, one broker, one door, ten express shipments at 01:00."""
    data = {
        "site": {"id": "tiny", "timezone": "UTC"},
        "horizon": {"start_date": "2025-11-11", "days": 1},
        "staff": [
            {"id": "c1", "role": "clerk"},
            {"id": "b1", "role": "broker", "licences": [{"jurisdiction": "HK"}]},
        ],
        "shift_templates": [
            {"id": "all", "start_local": "00:00", "end_local": "24:00"}
        ],
        "doors": [{"id": "D1", "hourly_cost_cents": 1000}],
        "roster": [
            {"person_id": p, "date": "2025-11-11", "template_id": "all", "post": r}
            for p, r in (("c1", "clerk"), ("b1", "broker"))
        ],
        "shipments": [
            {
                "id": f"S{i}",
                "priority": "express",
                "documents_ready_at": "2025-11-11T01:00:00+00:00",
                "in_warehouse": True,
            }
            for i in range(10)
        ],
        "role_hourly_cost_cents": {"broker": 10000, "clerk": 5000},
    }
    path = tmp_path / "site.json"
    path.write_text(json.dumps(data))
    return path


def test_simulate_cmd_writes_result_and_report(tmp_path: Path) -> None:
    """A single-queue run writes the summary JSON and an HTML report; exit 0."""
    out, report = tmp_path / "r.json", tmp_path / "r.html"
    result = runner.invoke(
        app,
        ["simulate", str(_single_queue(tmp_path)), "--replications", "3",
         "--seed", "4", "--out", str(out), "--report", str(report)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert written["replications"] == 3
    assert written["metrics"]["erlang_c_wait_min"]["mean"] == 1.0
    assert "Erlang C 1.000 min" in result.output
    assert report.read_text().startswith("<!DOCTYPE html>")


def test_simulate_cmd_missing_file_exits_2(tmp_path: Path) -> None:
    """A scenario that cannot be read is one line and exit code 2."""
    result = runner.invoke(
        app, ["simulate", str(tmp_path / "none.json"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "cannot read the scenario" in result.output
    assert "Traceback" not in result.output


def test_simulate_cmd_invalid_scenario_names_the_field(tmp_path: Path) -> None:
    """An unstable queue is refused naming single_queue; exit code 2."""
    path = _single_queue(tmp_path, arrival_rate_per_min=2.0)
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "single_queue" in result.output
    assert "must stay below 1" in result.output


def test_simulate_cmd_bad_replications_exits_2(tmp_path: Path) -> None:
    """Zero replications is refused naming the option."""
    path = _single_queue(tmp_path)
    result = runner.invoke(
        app,
        ["simulate", str(path), "--replications", "0", "--out", str(tmp_path / "o")],
    )
    assert result.exit_code == 2
    assert "--replications" in result.output


def test_sweep_cmd_answers_and_reports_curves(tmp_path: Path) -> None:
    """A 2 x 2 grid: the answer line, the JSON table and the report's curves."""
    out, report = tmp_path / "s.json", tmp_path / "s.html"
    result = runner.invoke(
        app,
        ["sweep", str(_tiny_site(tmp_path)), "--brokers", "1,2", "--clerks", "1,2",
         "--doors", "1", "--volumes", "1.0", "--target", "0.9", "--replications",
         "2", "--out", str(out), "--report", str(report)],
    )  # fmt: skip

    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text())
    assert len(written["points"]) == 4
    assert written["criterion"] == "lower confidence bound"
    assert "sweep x1:" in result.output
    page = report.read_text()
    assert "Capacity sweep" in page and "against brokers" in page


def test_sweep_cmd_bad_levels_exit_2(tmp_path: Path) -> None:
    """Levels that are not whole numbers, or a target of 95, exit 2 naming them."""
    site = str(_tiny_site(tmp_path))
    bad = runner.invoke(app, ["sweep", site, "--brokers", "a,b", "--out", "o.json"])
    assert bad.exit_code == 2
    assert "--brokers" in bad.output
    target = runner.invoke(app, ["sweep", site, "--target", "95", "--out", "o.json"])
    assert target.exit_code == 2
    assert "--target" in target.output


def test_sweep_cmd_refuses_a_single_queue_scenario(tmp_path: Path) -> None:
    """A sweep needs a site; the kind is named."""
    result = runner.invoke(
        app, ["sweep", str(_single_queue(tmp_path)), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "kind" in result.output


def test_simulate_cmd_one_replication_says_it_has_no_interval(tmp_path: Path) -> None:
    """One replication has no interval: said in words, not "[nan, nan]";
    the result names the scenario as the service's does."""
    path, out = _single_queue(tmp_path), tmp_path / "r.json"
    path.write_text(json.dumps({**json.loads(path.read_text()), "request_id": "mmc"}))
    result = runner.invoke(
        app, ["simulate", str(path), "--replications", "1", "--out", str(out)]
    )

    assert result.exit_code == 0, result.output
    assert "(one replication: no interval)" in result.output
    assert "nan" not in result.output
    assert json.loads(out.read_text())["scenario_id"] == "mmc"


def test_simulate_cmd_refuses_more_than_a_million_customers(tmp_path: Path) -> None:
    """10,000,000 customers would hold about 3 GB per run: refused naming
    the field and its limit."""
    path = _single_queue(tmp_path, customers=10_000_000)
    result = runner.invoke(app, ["simulate", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2
    assert "single_queue.customers" in result.output
    assert "1000000" in result.output
