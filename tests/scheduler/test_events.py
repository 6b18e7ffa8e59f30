"""Tests of the re-planning event types: payloads checked, errors named."""

from __future__ import annotations

import pytest
from task_site import at

from scheduler.events import (
    EVENT_TYPES,
    CustomsExam,
    PersonAbsent,
    read_event,
    read_events,
)
from scheduler.models import Event


def _event(kind: str, payload: dict[str, object], clock: str = "09:00") -> Event:
    return Event(type=kind, at=at(clock), subject_id="x1", payload=payload)


def test_read_event_exam_payload_is_typed() -> None:
    """An exam event reads its window as instants."""
    window = {"start": at("15:00").isoformat(), "end": at("16:00").isoformat()}
    typed = read_event(_event("customs.exam", {"window": window}))
    assert isinstance(typed.payload, CustomsExam)
    assert typed.payload.window.start == at("15:00")


def test_read_event_absence_until_horizon_end_by_default() -> None:
    """An absence without an end lasts to the end of the horizon (None)."""
    typed = read_event(_event("person.absent", {"start": at("10:00").isoformat()}))
    assert isinstance(typed.payload, PersonAbsent)
    assert typed.payload.end is None


def test_read_event_unknown_type_names_the_field() -> None:
    """An unknown type is refused naming events[i].type."""
    with pytest.raises(ValueError, match=r"events\[3\]\.type: 'truck\.lost'"):
        read_event(_event("truck.lost", {}), 3)


def test_read_event_bad_payload_names_the_field() -> None:
    """An ETA without an offset is refused naming events[i].payload.eta."""
    with pytest.raises(ValueError, match=r"events\[0\]\.payload\.eta: .*offset"):
        read_event(_event("load.eta_changed", {"eta": "2025-11-11T12:00:00"}))


def test_read_event_refuses_unknown_payload_fields() -> None:
    """A payload field the type does not have is refused, not ignored."""
    with pytest.raises(ValueError, match=r"events\[0\]\.payload\.eta"):
        read_event(_event("task.pinned", {"eta": at("12:00").isoformat()}))


def test_read_event_refuses_absence_ending_before_it_starts() -> None:
    """An absence whose end is not after its start is refused."""
    payload = {"start": at("10:00").isoformat(), "end": at("09:00").isoformat()}
    with pytest.raises(ValueError, match="end must be after start"):
        read_event(_event("person.absent", payload))


def test_read_events_orders_by_time_keeping_ties() -> None:
    """Events come back in time order; equal times keep their given order."""
    events = [
        _event("task.pinned", {}, "10:00"),
        _event("task.unpinned", {}, "09:00"),
        _event("task.pinned", {}, "09:00"),
    ]
    order = [item.position for item in read_events(events)]
    assert order == [1, 2, 0]


def test_event_types_cover_the_issue() -> None:
    """Every kind of disruption the issue lists has a type."""
    assert len(EVENT_TYPES) == 16
    assert {"customs.documentary", "person.called_in", "door.outage"} <= set(
        EVENT_TYPES
    )
