"""One solve in a child process, watched: memory cap, stop, deadline, kill.

The worker's job process never solves itself. It forks a child that caps
its own address space (`RLIMIT_AS`), runs the planning engine and sends
back progress, incumbents and the final plan through a pipe; the parent
keeps polling Redis, so a cancel, the queue timeout or a lost child are
noticed within a fraction of a second whatever the solver is doing. A
solver that does not stop within the grace time after a stop request is
killed, and the attempt records that it was force-stopped.
"""

from __future__ import annotations

import contextlib
import ctypes
import importlib
import inspect
import logging
import multiprocessing
import os
import resource
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from scheduler.models import Plan, Request

logger = logging.getLogger(__name__)

ENGINE = "scheduler.planning:make_plan"
POLL_S = 0.2

# Reasons an attempt can end without a plan from the engine.
RESOURCE_LIMIT = "resource limit"
TIMEOUT = "timeout"

_PR_SET_PDEATHSIG = 1


@dataclass(frozen=True)
class Limits:
    """What the supervisor enforces on one attempt."""

    memory_bytes: int
    deadline_s: float
    cancel_grace_s: float


@dataclass
class Outcome:
    """How an attempt ended.

    `plan_json` is the engine's answer; `incumbent_json` the last plan it
    reported while solving. `failure` names why there is no normal answer
    (None when there is one); `retryable` says whether another attempt
    could go better.
    """

    plan_json: bytes | None = None
    incumbent_json: bytes | None = None
    failure: str | None = None
    retryable: bool = False
    cancelled: bool = False
    timed_out: bool = False
    force_stopped: bool = False
    fenced: bool = False


class Hooks:
    """What the supervisor asks of the job around it (overridden by jobs.py)."""

    def poll(self) -> str:
        """'ok', 'cancel' or 'fenced' (another attempt has taken over)."""
        return "ok"

    def progress(self, objective: float, bound: float | None, elapsed_s: float) -> None:
        """A better plan was found."""

    def incumbent(self, plan_json: bytes) -> None:
        """The engine handed over its best plan so far."""


def resolve(path: str) -> Callable[..., Plan]:
    """Import `module:function`."""
    module_name, _, name = path.partition(":")
    function: Callable[..., Plan] = getattr(importlib.import_module(module_name), name)
    return function


def supervise(
    request: Request, plan_id: str, solve_path: str, limits: Limits, hooks: Hooks
) -> Outcome:
    """Run `solve_path` on `request` in a child process and watch it.

    Parameters
    ----------
    request
        The validated request.
    plan_id
        The id the plan is stored under; the engine's plans are renamed
        to it as revision 1 before they leave the child.
    solve_path
        `module:function` with the engine's signature
        `(request, *, on_progress=None, stop=None) -> Plan`.
    limits
        The memory cap, the instant (monotonic) of the queue timeout and
        the grace a solver gets to stop.
    hooks
        Polled every `POLL_S` for a cancel; told of progress and incumbents.
    """
    context = multiprocessing.get_context("fork")
    parent_end, child_end = context.Pipe(duplex=False)
    stop = context.Event()
    child = context.Process(
        target=_child_main,
        args=(child_end, request, plan_id, solve_path, limits.memory_bytes, stop),
        name="clearplan-solve",
        daemon=True,
    )
    child.start()
    child_end.close()
    outcome = Outcome()
    try:
        _watch(child, parent_end, stop, limits, hooks, outcome)
    finally:
        if child.is_alive():
            child.kill()
        child.join(timeout=5)
        parent_end.close()
    answered = outcome.plan_json is not None or outcome.failure is not None
    if not (answered or outcome.fenced or outcome.force_stopped):
        outcome.failure, outcome.retryable = _death_reason(child.exitcode)
    return outcome


def _watch(
    child: Any,
    pipe: Connection,
    stop: Any,
    limits: Limits,
    hooks: Hooks,
    outcome: Outcome,
) -> None:
    stop_sent_at: float | None = None
    while True:
        # Step 1: drain what the child said; its end of the pipe closing
        # means it is gone.
        try:
            if pipe.poll(POLL_S) and _receive(pipe.recv(), hooks, outcome):
                return
        except (EOFError, OSError):
            return

        # Step 2: ask the job whether to stop, and check the deadline.
        now = time.monotonic()
        command = hooks.poll()
        if command == "fenced":
            outcome.fenced = True
            return
        if stop_sent_at is None and command == "cancel":
            outcome.cancelled = True
        if stop_sent_at is None and now >= limits.deadline_s:
            outcome.timed_out = True
        if stop_sent_at is None and (outcome.cancelled or outcome.timed_out):
            logger.info("supervisor: asking the solver (pid %s) to stop", child.pid)
            stop.set()
            stop_sent_at = now

        # Step 3: a solver that ignores the stop is killed after the grace.
        if stop_sent_at is not None and now - stop_sent_at > limits.cancel_grace_s:
            logger.warning(
                "supervisor: solver (pid %s) did not stop within %.1f s; killing it",
                child.pid,
                limits.cancel_grace_s,
            )
            child.kill()
            outcome.force_stopped = True
            return


def _receive(message: tuple[Any, ...], hooks: Hooks, outcome: Outcome) -> bool:
    """Handle one message from the child; True when it was the last."""
    kind = message[0]
    if kind == "progress":
        hooks.progress(message[1], message[2], message[3])
        return False
    if kind == "incumbent":
        outcome.incumbent_json = message[1]
        hooks.incumbent(message[1])
        return False
    if kind == "plan":
        outcome.plan_json = message[1]
        return True
    # ("error", reason, retryable)
    outcome.failure, outcome.retryable = message[1], message[2]
    return True


def _death_reason(exitcode: int | None) -> tuple[str, bool]:
    """Why a child that sent no answer ended, and whether to try again."""
    if exitcode is not None and exitcode < 0:
        signum = -exitcode
        # The kernel's OOM killer sends SIGKILL; a C++ allocation failing
        # under RLIMIT_AS aborts (SIGABRT) or faults. Either way another
        # attempt may fit (the machine may be less loaded), so retry.
        if signum in (signal.SIGKILL, signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS):
            return RESOURCE_LIMIT, True
        return f"solver crashed (signal {signal.Signals(signum).name})", True
    return f"solver ended without an answer (exit code {exitcode})", True


# ------------------------------------------------------------- child side


def _child_main(
    pipe: Connection,
    request: Request,
    plan_id: str,
    solve_path: str,
    memory_bytes: int,
    stop_flag: Any,
) -> None:
    """Entry of the solve process: cap memory, solve, send the plan."""
    _die_with_parent()
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    send_lock = threading.Lock()

    def send(*message: Any) -> None:
        with send_lock:
            pipe.send(message)

    def as_revision_one(plan: Plan) -> bytes:
        update = {"plan_id": plan_id, "revision": 1, "parent_revision": None}
        return plan.model_copy(update=update).model_dump_json().encode()

    try:
        solve = resolve(solve_path)
        # The engine expects a threading.Event; relay the process-wide flag.
        stop = threading.Event()

        def relay_stop() -> None:
            stop_flag.wait()
            stop.set()

        threading.Thread(target=relay_stop, daemon=True).start()

        def on_progress(
            objective: float, bound: float | None, elapsed_s: float
        ) -> None:
            send("progress", objective, bound, elapsed_s)

        kwargs: dict[str, Any] = {"on_progress": on_progress, "stop": stop}
        if "on_incumbent" in inspect.signature(solve).parameters:
            kwargs["on_incumbent"] = lambda plan: send(
                "incumbent", as_revision_one(plan)
            )
        plan = solve(request, **kwargs)
        send("plan", as_revision_one(plan))
    except MemoryError:
        with contextlib.suppress(Exception):
            send("error", RESOURCE_LIMIT, True)
    except ValueError as exc:
        # The engine's refusals (a model too large to build, a request it
        # cannot plan) are final: another attempt would say the same.
        send("error", f"request refused: {exc}", False)
    except ImportError as exc:
        send("error", f"planning engine unavailable: {exc}", False)
    except Exception as exc:
        logger.error("solve process: the engine raised", exc_info=True)
        send("error", f"engine error: {type(exc).__name__}: {exc}", False)
    finally:
        pipe.close()


def _die_with_parent() -> None:
    """Ask Linux to kill this process when its parent dies (no orphan solves)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:
        os._exit(1)
