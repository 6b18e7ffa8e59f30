"""Tests of the request, plan and event formats and their error messages."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError

from scheduler.errors import describe
from scheduler.models import Event, Plan, Request


def _request(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "site": {"id": "BER", "timezone": "Europe/Berlin", "jurisdiction": "DE"},
        "horizon": {"start_date": "2024-03-31", "days": 1},
    }
    base.update(extra)
    return base


def _forecast(start: str) -> dict[str, Any]:
    return {"start": start, "end": "2024-11-01T00:00:00+01:00", "shipments": 3}


def _errors(data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as info:
        Request.model_validate(data)
    return describe(info.value)


def test_request_minimal_defaults() -> None:
    """Tests that a request with only site and horizon gets the documented defaults."""
    request = Request.model_validate(_request())
    assert request.schema_version == "1.0"
    assert request.settings.sla.express == 240
    assert request.settings.sla.standard == 1440
    assert request.settings.sla.deferred == 2880
    assert request.settings.policies.breaks == "no_straddle"
    assert request.settings.policies.unavailability == "hard"


@pytest.mark.parametrize(
    "value",
    [
        "2024-03-31",  # date only: never midnight UTC
        "2024-03-31T18:00",  # no offset
        "2024-03-31T02:30",  # does not exist in Europe/Berlin, and no offset
        "2024-10-27T02:30",  # happens twice in Europe/Berlin: needs an offset
        "31/03/2024 18:00",  # not RFC 3339
    ],
)
def test_instant_without_offset_is_refused(value: str) -> None:
    """Tests C-08: date-only and offset-less instants are refused, naming the field."""
    errors = _errors(_request(forecast=[_forecast(value)]))
    assert len(errors) == 1
    assert errors[0].startswith("forecast[0].start: must be an RFC 3339 instant")


def test_instant_with_offset_is_kept_exactly() -> None:
    """Tests C-08: a valid instant is accepted and not moved by an hour."""
    request = Request.model_validate(
        _request(forecast=[_forecast("2024-03-31T18:00+02:00")])
    )
    start = request.forecast[0].start
    assert start.astimezone(UTC) == datetime(2024, 3, 31, 16, 0, tzinfo=UTC)


def test_repeated_local_time_with_offsets_gives_two_instants() -> None:
    """Tests C-08: 02:30 on the fall-back night is two instants, told by offset."""
    first = Request.model_validate(
        _request(forecast=[_forecast("2024-10-27T02:30+02:00")])
    ).forecast[0]
    second = Request.model_validate(
        _request(forecast=[_forecast("2024-10-27T02:30+01:00")])
    ).forecast[0]
    assert (second.start - first.start).total_seconds() == 3600


def test_unknown_time_zone_names_the_field() -> None:
    """Tests that a wrong zone name is refused with the field and the rule."""
    data = _request()
    data["site"]["timezone"] = "Europe/Atlantis"
    assert _errors(data) == [
        "site.timezone: 'Europe/Atlantis' is not an IANA time zone name "
        "(like Europe/Berlin)"
    ]


def test_duplicate_staff_id_names_the_index() -> None:
    """Tests that ids must be unique per kind, naming the offending entry."""
    person = {"id": "c1", "role": "clerk"}
    errors = _errors(_request(staff=[person, dict(person)]))
    assert errors == ["staff[1].id: duplicate id 'c1'"]


def test_contract_band_is_checked() -> None:
    """Tests that a minimum above the maximum weekly minutes is refused."""
    person = {
        "id": "c1",
        "role": "clerk",
        "contract": {"min_minutes_per_week": 3000, "max_minutes_per_week": 2400},
    }
    errors = _errors(_request(staff=[person]))
    assert errors == [
        "staff[0].contract: min_minutes_per_week must not exceed max_minutes_per_week"
    ]


def test_local_clock_field_rejects_bad_time() -> None:
    """Tests that a shift template's HH:MM is checked."""
    template = {"id": "early", "start_local": "25:00", "end_local": "06:00"}
    errors = _errors(_request(shift_templates=[template]))
    assert errors == [
        "shift_templates[0].start_local: must be a local wall-clock time HH:MM "
        "(00:00-23:59)"
    ]


def test_unknown_field_is_refused() -> None:
    """Tests that a misspelt field is refused rather than silently ignored."""
    errors = _errors(_request(setings={}))
    assert errors == ["setings: Extra inputs are not permitted"]


def test_horizon_is_bounded() -> None:
    """Tests that the horizon is at most 31 days, so no term can overflow."""
    data = _request()
    data["horizon"]["days"] = 32
    assert _errors(data) == ["horizon.days: Input should be less than or equal to 31"]


def test_event_envelope_requires_offset_and_type() -> None:
    """Tests the event envelope: type, aware `at`, subject id, payload."""
    event = Event.model_validate(
        {
            "type": "load.eta_changed",
            "at": "2025-11-11T10:00:00+08:00",
            "subject_id": "L1",
            "payload": {"eta": "2025-11-11T12:00:00+08:00"},
        }
    )
    assert event.subject_id == "L1"
    with pytest.raises(ValidationError):
        Event.model_validate({"type": "x", "at": "2025-11-11", "subject_id": "L1"})


def test_plan_schema_has_every_contract_field() -> None:
    """Tests that the plan format carries every field the design's contract names."""
    fields = set(Plan.model_json_schema()["properties"])
    assert {
        "plan_id",
        "revision",
        "parent_revision",
        "request",
        "status",
        "objective",
        "bound",
        "gap",
        "kpis",
        "roster",
        "tasks",
        "dock_schedule",
        "unscheduled",
        "explanations",
        "provenance",
        "timings",
    } <= fields


def test_site_id_with_slash_is_refused() -> None:
    """Tests that an id cannot hold a slash, which no URL path could carry."""
    data = _request()
    data["site"]["id"] = "a/b"
    assert _errors(data) == [
        "site.id: must be an id of 1 to 128 characters without spaces, ':' or '/'"
    ]
