"""Tests of site time: DST-correct shift lengths and local-day splits."""

from __future__ import annotations

from datetime import date

from scheduler.models import ShiftTemplate
from scheduler.shifts import instance
from scheduler.sitetime import local_instant, parse_hhmm, split_by_local_day

NIGHT = ShiftTemplate(id="night", start_local="22:00", end_local="06:00")


def test_night_shift_lasts_7_hours_on_spring_forward() -> None:
    """Tests that 22:00-06:00 from 2024-03-30 in Europe/Berlin lasts 7 h."""
    shift = instance(NIGHT, date(2024, 3, 30), "Europe/Berlin")
    assert shift.length_min == 7 * 60
    assert shift.end.isoformat() == "2024-03-31T06:00:00+02:00"


def test_night_shift_lasts_9_hours_on_fall_back() -> None:
    """Tests that 22:00-06:00 from 2024-10-26 in Europe/Berlin lasts 9 h."""
    shift = instance(NIGHT, date(2024, 10, 26), "Europe/Berlin")
    assert shift.length_min == 9 * 60


def test_overnight_shift_is_8_hours_and_ends_next_day() -> None:
    """Tests C-07 (a): a 22:00-06:00 shift on 2024-05-07 is 8 h to 05-08 06:00."""
    shift = instance(NIGHT, date(2024, 5, 7), "Europe/Berlin")
    assert shift.length_min == 480
    assert shift.end.isoformat() == "2024-05-08T06:00:00+02:00"


def test_night_minutes_fall_on_the_days_they_are_worked() -> None:
    """Tests that a night shift's minutes count on each local day they fall on."""
    shift = instance(NIGHT, date(2024, 10, 26), "Europe/Berlin")
    assert shift.worked_by_local_day("Europe/Berlin") == {
        date(2024, 10, 26): 120,
        date(2024, 10, 27): 420,
    }


def test_shift_ending_at_midnight_has_nothing_on_next_day() -> None:
    """Tests that intervals are half-open: 16:00-00:00 is all on its start date."""
    late = ShiftTemplate(id="late", start_local="16:00", end_local="00:00")
    shift = instance(late, date(2024, 5, 7), "Europe/Berlin")
    assert shift.worked_by_local_day("Europe/Berlin") == {date(2024, 5, 7): 480}


def test_break_is_taken_out_of_worked_minutes() -> None:
    """Tests that worked minutes leave the break out and a paid break is paid."""
    day = ShiftTemplate(
        id="day",
        start_local="08:00",
        end_local="16:00",
        break_start_local="12:00",
        break_min=30,
        break_paid=True,
    )
    shift = instance(day, date(2024, 5, 7), "Europe/Berlin")
    assert (shift.worked_min, shift.paid_min) == (450, 480)
    assert shift.break_start is not None
    assert shift.break_start.isoformat() == "2024-05-07T12:00:00+02:00"


def test_time_in_dst_gap_moves_to_end_of_gap() -> None:
    """Tests that a local 02:30 on the spring-forward day is taken as 03:00."""
    instant = local_instant(date(2024, 3, 31), parse_hhmm("02:30"), "Europe/Berlin")
    assert instant.isoformat() == "2024-03-31T03:00:00+02:00"


def test_repeated_time_takes_first_occurrence() -> None:
    """Tests that a local 02:30 on the fall-back night is the first one (+02:00)."""
    instant = local_instant(date(2024, 10, 27), parse_hhmm("02:30"), "Europe/Berlin")
    assert instant.isoformat() == "2024-10-27T02:30:00+02:00"


def test_split_by_local_day_over_fall_back() -> None:
    """Tests that the 25-hour fall-back day holds 1500 minutes."""
    start = local_instant(date(2024, 10, 27), parse_hhmm("00:00"), "Europe/Berlin")
    end = local_instant(date(2024, 10, 28), parse_hhmm("00:00"), "Europe/Berlin")
    assert split_by_local_day(start, end, "Europe/Berlin") == {date(2024, 10, 27): 1500}
