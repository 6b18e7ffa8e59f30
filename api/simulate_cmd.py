"""The functions behind `clearplan simulate` and `clearplan sweep`.

Both read a scenario file (`simulations.scenario.Scenario`), run the
replications in local processes with a progress bar, write the result as
JSON and, when asked, an offline HTML report with the curves. Bad input
is one line naming the field, exit code 2.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pydantic import BaseModel
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

from api.cli import InputError, load_model
from scheduler.models import Priority
from simulations.scenario import Scenario

logger = logging.getLogger(__name__)

err = Console(stderr=True)


@contextmanager
def _progress_bar(label: str) -> Iterator[Callable[[int, int], None]]:
    """A rich progress bar on stderr; yields the callback that moves it."""
    with Progress(
        f"[bold]{label}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        transient=False,
    ) as bar:
        task = bar.add_task(label, total=None)

        def advance(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield advance


def parse_levels(text: str, name: str) -> list[int]:
    """`10,12,14` as whole numbers of at least 1."""
    try:
        values = [int(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(
            f"{name}: '{text}' is not a list of whole numbers like 10,12,14"
        ) from exc
    if not values or any(v < 1 for v in values):
        raise InputError(f"{name}: give whole numbers of at least 1, like 10,12,14")
    return values


def parse_volumes(text: str) -> list[float]:
    """`1.0,1.5,1.8` as volume factors above 0 and at most 10."""
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError as exc:
        raise InputError(
            f"--volumes: '{text}' is not a list of numbers like 1.0,1.5"
        ) from exc
    if not values or any(not 0 < v <= 10 for v in values):
        raise InputError("--volumes: each volume factor must be above 0 and at most 10")
    return values


def _check_counts(replications: int, seed: int, workers: int | None) -> int:
    if not 1 <= replications <= 100_000:
        raise InputError("--replications must be between 1 and 100000")
    if not 0 <= seed <= 2**63 - 1:
        raise InputError("--seed must be between 0 and 2**63 - 1")
    if workers is not None and not 1 <= workers <= 256:
        raise InputError("--workers must be between 1 and 256")
    return workers or 1


def _write(model: BaseModel, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(model.model_dump_json(indent=1) + "\n", encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


def _write_text(text: str, path: Path) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot write: {exc.strerror}") from exc


def run_simulate(
    scenario_path: Path,
    *,
    replications: int,
    seed: int,
    workers: int | None,
    out: Path,
    report: Path | None,
) -> str:
    """Simulate a scenario; a one-line summary. Raises InputError."""
    from simulations.des_site import compile_site
    from simulations.dispatch import dispatch_options
    from simulations.montecarlo import run_replications, summarise

    scenario: Scenario = load_model(scenario_path, Scenario, "scenario")
    processes = _check_counts(replications, seed, workers)

    # Step 1: the model to replicate, compiled once.
    if scenario.kind == "single_queue":
        assert scenario.single_queue is not None
        model: object = scenario.single_queue
        options: dict[str, object] = {}
        site = None
    else:
        try:
            site = compile_site(scenario)
        except ValueError as exc:
            raise InputError(f"{scenario_path}: {exc}") from exc
        model = site
        options = dispatch_options(site)

    # Step 2: the replications, then their summary and report.
    with _progress_bar("simulate") as advance:
        runs = run_replications(
            model,  # type: ignore[arg-type]
            replications,
            seed,
            workers=processes,
            progress=advance,
            **options,
        )
    result = summarise(runs, seed=seed, site=site)
    result.kind = scenario.kind
    if site is None:
        result.scenario_id = scenario.request_id
        result.site_id = scenario.site.id
    _write(result, out)
    if report is not None:
        from simulations.sim_report import simulation_report_html

        _write_text(simulation_report_html(result), report)
    return _simulate_summary(result.metrics, out)


def _simulate_summary(metrics: dict, out: Path) -> str:
    if "wait_min.mean" in metrics:
        wait = metrics["wait_min.mean"]
        theory = metrics["erlang_c_wait_min"].mean
        interval = (
            f"[{wait.low:.3f}, {wait.high:.3f}]"
            if wait.low is not None and wait.high is not None
            else "(one replication: no interval)"
        )
        return (
            f"simulate: mean wait {wait.mean:.3f} min {interval}, "
            f"Erlang C {theory:.3f} min -> {out}"
        )
    parts = []
    for name in ("express", "standard", "deferred"):
        summary = metrics.get(f"sla.{name}")
        if summary is not None and summary.mean is not None:
            parts.append(f"{name} {summary.mean:.1%}")
    return "simulate: within SLA " + ", ".join(parts) + f" -> {out}"


def run_sweep_cmd(
    scenario_path: Path,
    *,
    brokers: str,
    clerks: str,
    doors: str,
    volumes: str,
    target_priority: str,
    target: float,
    replications: int,
    seed: int,
    workers: int | None,
    out: Path,
    report: Path | None,
) -> list[str]:
    """Sweep a grid; one line per volume with its answer. Raises InputError."""
    from simulations.des_site import compile_site, staffing_levels
    from simulations.sweep import grid, run_sweep

    levels = {
        "brokers": parse_levels(brokers, "--brokers") if brokers else None,
        "clerks": parse_levels(clerks, "--clerks") if clerks else None,
        "doors": parse_levels(doors, "--doors") if doors else None,
    }
    factors = parse_volumes(volumes)
    try:
        priority = Priority(target_priority)
    except ValueError as exc:
        raise InputError(
            f"--target-priority: '{target_priority}' is not express, standard "
            "or deferred"
        ) from exc
    if not 0 < target <= 1:
        raise InputError("--target must be a share above 0 and at most 1, like 0.95")
    processes = _check_counts(replications, seed, workers)
    scenario: Scenario = load_model(scenario_path, Scenario, "scenario")
    if scenario.kind != "site":
        raise InputError(f"{scenario_path}: kind: a sweep needs a 'site' scenario")

    try:
        site = compile_site(scenario)
        base = staffing_levels(site)
        mixes = grid(
            levels["brokers"] or [base["brokers"]],
            levels["clerks"] or [base["clerks"]],
            levels["doors"] or [base["doors"]],
            factors,
        )
        with _progress_bar("sweep") as advance:
            result = run_sweep(
                site,
                mixes,
                replications,
                seed,
                target_priority=priority,
                target=target,
                workers=processes,
                progress=advance,
            )
    except ValueError as exc:
        raise InputError(f"{scenario_path}: {exc}") from exc
    _write(result, out)
    if report is not None:
        from simulations.sim_report import sweep_report_html

        _write_text(sweep_report_html(result), report)
    lines = []
    for answer in result.answers:
        if answer.point is None:
            lines.append(f"sweep x{answer.volume:g}: {answer.reason}")
        else:
            p = answer.point
            lines.append(
                f"sweep x{answer.volume:g}: cheapest mix {p.brokers} brokers, "
                f"{p.clerks} clerks, {p.doors} doors ({p.cost_cents / 100:,.0f} "
                f"over the horizon)"
            )
    lines.append(f"sweep: {len(result.points)} points -> {out}")
    return lines
