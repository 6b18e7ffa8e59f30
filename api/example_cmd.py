"""`clearplan example hkia`: write the request of a real HKIA day.

The file is the request's JSON with one-space indentation, keys in the
format's field order and instants in the site's offset, so the same
arguments give the same bytes whatever the machine's time zone (`TZ`) or
locale.
"""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path

from scheduler.models import Request
from simulations.hkia import build_request

logger = logging.getLogger(__name__)


def request_json(request: Request) -> bytes:
    """The bytes of a request file: indented JSON, UTF-8, one final newline."""
    return (request.model_dump_json(indent=1) + "\n").encode("utf-8")


def run_example_hkia(day: date, volume: float, seed: int, out: Path) -> None:
    """Build the request of `day` at `volume` and write it to `out`.

    Raises
    ------
    ValueError
        When the day is outside the records (the message names the range),
        or volume or seed is out of range.
    """
    request = build_request(day, volume, seed)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(request_json(request))
    logger.info(
        "example hkia %s x%g seed %d: %d shipments written to %s",
        day,
        volume,
        seed,
        len(request.shipments),
        out,
    )
