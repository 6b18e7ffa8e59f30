"""The `clearplan` command line: plan, roster, validate, schema, examples.

Without a server the command line plans in-process. Every command that
reads a file answers bad input with one line per problem naming the field,
and exit code 2; never a traceback.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.markup import escape

from scheduler.errors import describe
from scheduler.models import EventBatch, Plan, Request

app = typer.Typer(
    help="clearplan: shift plans, task plans and peak simulations for "
    "customs-clearance sites.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
bench_app = typer.Typer(help="Run benchmark instances.", no_args_is_help=True)
example_app = typer.Typer(help="Build example requests.", no_args_is_help=True)
app.add_typer(bench_app, name="bench")
app.add_typer(example_app, name="example")

# soft_wrap: an error line stays one line, whatever the terminal width.
err = Console(stderr=True, soft_wrap=True)
log = logging.getLogger("clearplan")


class InputError(Exception):
    """A file the user gave cannot be used; the message says why."""


def _fail(lines: list[str], code: int = 2) -> typer.Exit:
    for line in lines:
        err.print(f"[red]error:[/red] {escape(line)}", highlight=False)
    return typer.Exit(code)


def load_model(path: Path, model: type[BaseModel], what: str) -> Any:
    """Read and validate a JSON file, turning every problem into InputError."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise InputError(f"{path}: cannot read the {what}: {exc.strerror}") from exc
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        problems = describe(exc)
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        raise InputError(f"{path}: invalid {what}: {shown}{more}") from exc


def write_json(model: BaseModel, path: Path) -> None:
    """Write a model as JSON, creating the folder if needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.model_dump_json(indent=1) + "\n", encoding="utf-8")


def _apply_overrides(
    request: Request,
    time_limit_s: float | None,
    seed: int | None,
    reproducible: bool | None,
) -> Request:
    settings = request.settings.model_copy()
    if time_limit_s is not None:
        if not 0 < time_limit_s <= 3600:
            raise InputError("--time-limit must be between 0 and 3600 seconds")
        settings.time_limit_s = time_limit_s
    if seed is not None:
        if not 0 <= seed <= 2**31 - 1:
            raise InputError("--seed must be between 0 and 2147483647")
        settings.seed = seed
    if reproducible is not None:
        settings.reproducible = reproducible
    return request.model_copy(update={"settings": settings})


def _solve_with_progress(
    solve: Callable[..., Plan], request: Request, label: str
) -> Plan:
    """Run a solve in a thread, showing the best objective so far.

    Ctrl-C sets the stop flag; the solve returns its best plan so far,
    which the engine marks `cancelled`.
    """
    stop = threading.Event()
    best: dict[str, Any] = {"objective": None, "bound": None}
    outcome: dict[str, Any] = {}

    def on_progress(objective: float, bound: float | None, elapsed_s: float) -> None:
        best["objective"], best["bound"] = objective, bound

    def run() -> None:
        try:
            outcome["plan"] = solve(request, on_progress=on_progress, stop=stop)
        except BaseException as exc:  # handed to the main thread below
            outcome["error"] = exc

    worker = threading.Thread(target=run, name="clearplan-solve", daemon=True)
    started = time.monotonic()
    worker.start()
    with err.status(f"{label}: building the model") as status:
        while worker.is_alive():
            try:
                worker.join(timeout=0.25)
            except KeyboardInterrupt:
                stop.set()
                status.update(f"{label}: stopping, keeping the best plan so far")
                continue
            elapsed = time.monotonic() - started
            if best["objective"] is not None:
                bound = best["bound"]
                bound_text = f", bound {bound:,.0f}" if bound is not None else ""
                status.update(
                    f"{label}: best objective {best['objective']:,.0f}"
                    f"{bound_text} after {elapsed:.1f} s"
                    + (" (stopping)" if stop.is_set() else "")
                )
            else:
                status.update(f"{label}: searching, {elapsed:.1f} s")
    if "error" in outcome:
        raise outcome["error"]
    plan: Plan = outcome["plan"]
    return plan


def _summary(plan: Plan) -> str:
    terms = ", ".join(f"{k} {v:,}" for k, v in plan.objective.terms.items() if v)
    gap = f", gap {plan.gap:.1%}" if plan.gap is not None else ""
    return f"{plan.status.value}{gap}: objective {plan.objective.total:,}" + (
        f" ({terms})" if terms else ""
    )


@app.command()
def schema(
    kind: Annotated[str, typer.Argument(help="request, plan or events")],
) -> None:
    """Print the JSON Schema of the request, plan or events format."""
    models: dict[str, type[BaseModel]] = {
        "request": Request,
        "plan": Plan,
        "events": EventBatch,
    }
    if kind not in models:
        raise _fail(
            [f"schema: unknown format '{kind}' (choose request, plan or events)"]
        )
    document = models[kind].model_json_schema()
    document["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    typer.echo(json.dumps(document, indent=1, sort_keys=True))


@app.command()
def roster(
    request_path: Annotated[Path, typer.Argument(metavar="REQUEST")],
    out: Annotated[Path, typer.Option("--out", help="where to write the plan")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="seconds")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    reproducible: Annotated[
        bool | None, typer.Option("--reproducible/--parallel")
    ] = None,
) -> None:
    """Plan the shifts of a request and write a plan holding the roster."""
    plan = _plan_file(request_path, "roster", time_limit, seed, reproducible)
    write_json(plan, out)
    err.print(f"roster: {_summary(plan)}; {len(plan.roster)} shifts -> {out}")
    _exit_on_failure(plan)


def _plan_file(
    request_path: Path,
    stage: str,
    time_limit_s: float | None,
    seed: int | None,
    reproducible: bool | None,
) -> Plan:
    """Read a request, refuse what cannot fit in memory, then solve it.

    `stage` is "roster" (shifts only) or "plan" (roster, then tasks). The
    engines are imported only once the request is known to be good.
    """
    from scheduler.sizing import ModelTooLarge, check_size

    try:
        request = load_model(request_path, Request, "request")
        request = _apply_overrides(request, time_limit_s, seed, reproducible)
        try:
            check_size(request)
        except ModelTooLarge as exc:
            raise InputError(str(exc)) from exc
        from scheduler.planning import make_plan
        from scheduler.roster import plan_roster

        solve: Callable[..., Plan] = plan_roster if stage == "roster" else make_plan
        return _solve_with_progress(solve, request, stage)
    except InputError as exc:
        raise _fail([str(exc)]) from exc


def _exit_on_failure(plan: Plan) -> None:
    """Exit 1 with the reason when the plan is failed or infeasible."""
    if plan.status.value in ("failed", "infeasible"):
        err.print(f"[red]{escape(plan.status_reason)}[/red]")
        raise typer.Exit(1)


@app.command()
def plan(
    request_path: Annotated[Path, typer.Argument(metavar="REQUEST")],
    out: Annotated[Path, typer.Option("--out", help="where to write the plan")],
    report: Annotated[
        Path | None, typer.Option("--report", help="where to write the HTML report")
    ] = None,
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="seconds")
    ] = None,
    seed: Annotated[int | None, typer.Option("--seed")] = None,
    reproducible: Annotated[
        bool | None, typer.Option("--reproducible/--parallel")
    ] = None,
) -> None:
    """Roster (when the request has staff but no roster), then plan the tasks."""
    result = _plan_file(request_path, "plan", time_limit, seed, reproducible)
    write_json(result, out)
    err.print(
        f"plan: {_summary(result)}; {len(result.tasks)} tasks, "
        f"{len(result.unscheduled)} shipments unscheduled -> {out}"
    )
    if report is not None:
        from api.report_cmd import write_report

        try:
            write_report(result, report)
        except ValueError as exc:
            raise _fail([str(exc)]) from exc
        err.print(f"report -> {report}")
    _exit_on_failure(result)


@app.command()
def validate(
    paths: Annotated[
        list[Path], typer.Argument(metavar="[REQUEST] PLAN", help="files to check")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    previous: Annotated[
        Path | None,
        typer.Option("--previous", help="the parent revision of a re-plan"),
    ] = None,
) -> None:
    """Check a plan with the independent validator; exit 0 only when valid."""
    from api.validate_cmd import run_validate

    if len(paths) not in (1, 2):
        raise _fail(["validate: give PLAN, or REQUEST and PLAN"])
    request_path = paths[0] if len(paths) == 2 else None
    raise typer.Exit(run_validate(request_path, paths[-1], as_json, previous))


@bench_app.command("roster")
def bench_roster_cmd(
    path: Annotated[Path, typer.Argument(help="a Curtois & Qu instance file")],
    time_limit: Annotated[float, typer.Option("--time-limit", help="seconds")] = 60.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    as_json: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
) -> None:
    """Solve a Curtois & Qu instance; the objective is the validator's."""
    from scheduler.curtois import bench_roster

    if not path.is_file():
        raise _fail([f"{path}: no such instance file"])
    try:
        result = bench_roster(path, time_limit_s=time_limit, seed=seed)
    except ValueError as exc:
        raise _fail([f"{path}: {exc}"]) from exc
    if as_json:
        typer.echo(json.dumps(result, sort_keys=True))
    else:
        for key, value in result.items():
            typer.echo(f"{key}: {value}")


@example_app.command("hkia")
def example_hkia(
    day: Annotated[str, typer.Option("--date", help="YYYY-MM-DD")],
    out: Annotated[Path, typer.Option("--out")],
    volume: Annotated[float, typer.Option("--volume")] = 1.0,
    seed: Annotated[int, typer.Option("--seed")] = 0,
) -> None:
    """Build the request of a day of real HKIA freighter arrivals."""
    from api.example_cmd import run_example_hkia

    try:
        parsed = date.fromisoformat(day)
    except ValueError as exc:
        raise _fail([f"--date: '{day}' is not a date YYYY-MM-DD"]) from exc
    if not 0 < volume <= 10:
        raise _fail(["--volume must be above 0 and at most 10"])
    try:
        run_example_hkia(parsed, volume, seed, out)
    except ValueError as exc:
        raise _fail([str(exc)]) from exc
    err.print(f"request -> {out}")


def main() -> None:
    """Entry point of the `clearplan` console script."""
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    try:
        app()
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)


if __name__ == "__main__":
    main()


# The service: `clearplan serve`, `clearplan worker` and `clearplan keys`.
from api.keys import keys_app  # noqa: E402

app.add_typer(keys_app, name="keys")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port")] = 8000,
    access_log: Annotated[
        bool, typer.Option("--access-log/--no-access-log", help="log every request")
    ] = True,
) -> None:
    """Run the web service (it never solves; run `clearplan worker` too)."""
    from api.app import serve as run_service

    raise typer.Exit(run_service(host, port, access_log))


@app.command()
def worker(
    burst: Annotated[bool, typer.Option("--burst", help="quit when idle")] = False,
    name: Annotated[str | None, typer.Option("--name")] = None,
) -> None:
    """Run a worker that solves queued plan jobs (one job at a time)."""
    from api.worker import main as run_worker

    raise typer.Exit(run_worker(burst=burst, name=name))


# Capacity planning: `clearplan simulate` and `clearplan sweep`.


@app.command()
def simulate(
    scenario_path: Annotated[Path, typer.Argument(metavar="SCENARIO")],
    out: Annotated[Path, typer.Option("--out", help="where to write the result")],
    replications: Annotated[int, typer.Option("--replications")] = 100,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int | None, typer.Option("--workers")] = None,
    report: Annotated[Path | None, typer.Option("--report")] = None,
) -> None:
    """Simulate a scenario many times; means with confidence intervals."""
    from api.simulate_cmd import run_simulate

    try:
        line = run_simulate(
            scenario_path,
            replications=replications,
            seed=seed,
            workers=workers,
            out=out,
            report=report,
        )
    except InputError as exc:
        raise _fail([str(exc)]) from exc
    err.print(line, highlight=False, markup=False)


@app.command()
def sweep(
    scenario_path: Annotated[Path, typer.Argument(metavar="SCENARIO")],
    out: Annotated[Path, typer.Option("--out", help="where to write the result")],
    brokers: Annotated[str, typer.Option("--brokers", help="e.g. 10,12,14")] = "",
    clerks: Annotated[str, typer.Option("--clerks")] = "",
    doors: Annotated[str, typer.Option("--doors")] = "",
    volumes: Annotated[str, typer.Option("--volumes")] = "1.0",
    target_priority: Annotated[str, typer.Option("--target-priority")] = "express",
    target: Annotated[float, typer.Option("--target", help="share, 0-1")] = 0.95,
    replications: Annotated[int, typer.Option("--replications")] = 30,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    workers: Annotated[int | None, typer.Option("--workers")] = None,
    report: Annotated[Path | None, typer.Option("--report")] = None,
) -> None:
    """Sweep brokers, clerks and doors x volumes; the cheapest mix on target."""
    from api.simulate_cmd import run_sweep_cmd

    try:
        lines = run_sweep_cmd(
            scenario_path,
            brokers=brokers,
            clerks=clerks,
            doors=doors,
            volumes=volumes,
            target_priority=target_priority,
            target=target,
            replications=replications,
            seed=seed,
            workers=workers,
            out=out,
            report=report,
        )
    except InputError as exc:
        raise _fail([str(exc)]) from exc
    for line in lines:
        err.print(line, highlight=False, markup=False)


@app.command()
def replan(
    plan_path: Annotated[Path, typer.Argument(metavar="PLAN")],
    events_path: Annotated[Path, typer.Argument(metavar="EVENTS")],
    at: Annotated[str, typer.Option("--at", help="re-planning time, RFC 3339")],
    out: Annotated[Path, typer.Option("--out", help="where to write the revision")],
    time_limit: Annotated[
        float | None, typer.Option("--time-limit", help="seconds")
    ] = None,
) -> None:
    """Re-plan a task plan at a time after events: a new revision and its diff."""
    from datetime import datetime

    from scheduler.replan import replan as replan_plan

    try:
        parent = load_model(plan_path, Plan, "plan")
        batch = load_model(events_path, EventBatch, "event list")
        when = datetime.fromisoformat(at)
        if when.tzinfo is None:
            raise InputError(f"--at: '{at}' needs a UTC offset, like +08:00")
        if time_limit is not None and not 0 < time_limit <= 3600:
            raise InputError("--time-limit must be between 0 and 3600 seconds")
        result = replan_plan(parent, batch.events, when, time_limit_s=time_limit)
    except InputError as exc:
        raise _fail([str(exc)]) from exc
    except ValueError as exc:
        raise _fail([str(exc)]) from exc
    write_json(result, out)
    err.print(
        f"replan: {_summary(result)}; revision {result.revision}, "
        f"{len(result.diff or [])} changes -> {out}"
    )
    if result.status.value == "failed":
        err.print(f"[red]{escape(result.status_reason)}[/red]")
        raise typer.Exit(1)
