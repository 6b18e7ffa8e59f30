"""`clearplan plan --report`: write the dispatcher's HTML report of a plan."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from scheduler.models import Plan
from scheduler.report import render_report

logger = logging.getLogger(__name__)


def write_report(plan: Plan, path: Path) -> None:
    """Render a plan's report and write it to `path`, creating its folder.

    The page goes to a temporary file beside `path` first and is moved into
    place at the end, so an interrupted write never leaves half a report
    that a dispatcher might open.

    Parameters
    ----------
    plan
        The plan to report on.
    path
        Where to write the HTML file.

    Raises
    ------
    ValueError
        When the file cannot be written there (the message says why).
    """
    page = render_report(plan)
    partial = path.with_name(f".{path.name}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial.write_text(page, encoding="utf-8")
        os.replace(partial, path)
    except OSError as exc:
        partial.unlink(missing_ok=True)
        raise ValueError(
            f"report: cannot write the HTML report to {path}: {exc.strerror}"
        ) from exc
    logger.info("report: plan %s written, %d bytes", plan.plan_id, len(page))
