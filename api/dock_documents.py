"""Dock-schedule documents of a plan revision, ready to serve byte for byte.

Publishing renders, once, each local date's schedule as JSON and as CSV
with its ETag; polls then serve stored bytes. A slot is listed on every
local date its half-open window `[start, end)` touches, so a truck
unloading 23:30-00:30 is on both dates. Slots carry doors, windows, loads,
shipments and pallets, never a person.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections import defaultdict
from datetime import date, datetime
from typing import Any

from scheduler.dock import dates_touched, dock_schedule
from scheduler.models import DockSlot, Plan
from scheduler.sitetime import zone

FORMATS = {"json": "application/json", "csv": "text/csv; charset=utf-8"}
CSV_COLUMNS = ["door_id", "load_id", "kind", "start", "end", "shipment_ids", "pallets"]


def field_prefix(day: date, fmt: str) -> str:
    """The store field naming one date's document in one format."""
    return f"{day.isoformat()}|{fmt}"


def etag_of(body: bytes) -> bytes:
    """A strong ETag of a document's bytes."""
    return b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'


def render(site_id: str, day: date, slots: list[dict[str, Any]], fmt: str) -> bytes:
    """One date's document in `json` or `csv`."""
    if fmt == "json":
        document = {"site_id": site_id, "date": day.isoformat(), "slots": slots}
        return json.dumps(document, separators=(",", ":")).encode()
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for slot in slots:
        writer.writerow(
            [
                slot["door_id"],
                slot["load_id"] or "",
                slot["kind"],
                slot["start"],
                slot["end"],
                " ".join(slot["shipment_ids"]),
                slot["pallets"],
            ]
        )
    return out.getvalue().encode()


def documents(plan: Plan) -> dict[str, bytes]:
    """Every date's documents and ETags of a plan, as store hash fields."""
    site_id = plan.request.site.id
    fields: dict[str, bytes] = {}
    for day, slots in slots_by_date(plan).items():
        for fmt in FORMATS:
            body = render(site_id, day, slots, fmt)
            fields[field_prefix(day, fmt) + "|body"] = body
            fields[field_prefix(day, fmt) + "|etag"] = etag_of(body)
    return fields


def slots_by_date(plan: Plan) -> dict[date, list[dict[str, Any]]]:
    """The plan's door slots under each local date they touch, in order."""
    tz = plan.request.site.timezone
    schedule = plan.dock_schedule or dock_schedule(plan.request, plan.tasks)

    # The engine may list a slot under one or several dates; list each
    # once, then place it on every date it touches.
    unique: dict[tuple[object, ...], DockSlot] = {}
    for day_slots in schedule.values():
        for slot in day_slots:
            identity = (slot.door_id, slot.load_id, slot.kind, slot.start, slot.end)
            unique.setdefault(identity, slot)
    by_date: dict[date, list[DockSlot]] = defaultdict(list)
    for slot in unique.values():
        for day in dates_touched(slot.start, slot.end, tz):
            by_date[day].append(slot)
    return {
        day: [
            _slot_row(slot, tz)
            for slot in sorted(slots, key=lambda s: (s.start, s.door_id))
        ]
        for day, slots in sorted(by_date.items())
    }


def _slot_row(slot: DockSlot, tz: str) -> dict[str, Any]:
    return {
        "door_id": slot.door_id,
        "load_id": slot.load_id,
        "kind": slot.kind.value,
        "start": _instant(slot.start, tz),
        "end": _instant(slot.end, tz),
        "shipment_ids": list(slot.shipment_ids),
        "pallets": slot.pallets,
    }


def _instant(instant: datetime, tz: str) -> str:
    """RFC 3339 in the site's offset; RFC 3339 requires the seconds, which
    strict parsers (Go's time.RFC3339, for one) insist on."""
    return instant.astimezone(zone(tz)).isoformat(timespec="seconds")


def choose_format(accept: str | None) -> str | None:
    """`json` or `csv` from an Accept header; None when neither is acceptable."""
    if not accept:
        return "json"
    best: tuple[float, int, str] | None = None
    for order, part in enumerate(accept.split(",")):
        media, _, params = part.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        media = media.strip().lower()
        fmt = {
            "application/json": "json",
            "text/csv": "csv",
            "application/*": "json",
            "text/*": "csv",
            "*/*": "json",
        }.get(media)
        if fmt is None or quality <= 0:
            continue
        # Higher quality wins; at equal quality, the header's order.
        candidate = (quality, -order, fmt)
        if best is None or candidate > best:
            best = candidate
    return None if best is None else best[2]
