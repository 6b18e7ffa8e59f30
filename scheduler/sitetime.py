"""Site time: local dates and wall-clock times turned into real instants.

Every instant inside clearplan is an aware ``datetime``. Local wall-clock
times (``HH:MM``) appear only in fields whose names end in ``_local`` and
are read in the site's IANA time zone with :mod:`zoneinfo`, so a
22:00-06:00 shift lasts 7 or 9 hours on a DST night.

Two rules decide what a local time means when the clock jumps:

- a local time inside a spring-forward gap (02:30 in Europe/Berlin on the
  last Sunday of March) is moved to the first real minute after the gap,
  because that is when a person starting "at 02:30" actually starts;
- a local time that happens twice (02:30 on the fall-back night) is the
  first occurrence (``fold=0``).

Both rules apply only to shift templates and opening hours, which are
recurring local times. Instants given by the caller always carry an offset
and are never reinterpreted.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

MINUTE = timedelta(minutes=1)


@lru_cache(maxsize=64)
def zone(name: str) -> ZoneInfo:
    """Return the ``ZoneInfo`` of an IANA name (cached)."""
    return ZoneInfo(name)


def parse_hhmm(text: str) -> time:
    """Parse ``HH:MM`` (00:00 to 23:59, or 24:00 meaning end of day)."""
    hours, minutes = text.split(":")
    hour, minute = int(hours), int(minutes)
    if hour == 24 and minute == 0:
        return time(0, 0)
    return time(hour, minute)


def _exists(local: datetime) -> bool:
    """Whether a naive-with-tzinfo local time exists in its zone."""
    round_trip = local.astimezone(UTC).astimezone(local.tzinfo)
    return round_trip.replace(tzinfo=None) == local.replace(tzinfo=None)


def local_instant(day: date, clock: time, tz: str) -> datetime:
    """The instant of ``clock`` on local ``day`` in zone ``tz``.

    A time inside a DST gap moves to the end of the gap; a repeated time
    takes its first occurrence.
    """
    tzinfo = zone(tz)
    local = datetime.combine(day, clock, tzinfo=tzinfo)
    if _exists(local):
        return local.replace(fold=0)
    # Walk forward a minute at a time: gaps are at most a few hours.
    probe = local
    for _ in range(24 * 60):
        probe = (probe.replace(tzinfo=None) + MINUTE).replace(tzinfo=tzinfo)
        if _exists(probe):
            return probe
    raise ValueError(f"no valid local time after {local!r}")


def local_midnight(day: date, tz: str) -> datetime:
    """The instant local ``day`` begins in zone ``tz``."""
    return local_instant(day, time(0, 0), tz)


def local_date_of(instant: datetime, tz: str) -> date:
    """The local date an instant falls on at the site."""
    return instant.astimezone(zone(tz)).date()


def to_utc(instant: datetime) -> datetime:
    """Normalise an aware instant to UTC."""
    if instant.tzinfo is None:
        raise ValueError("instant has no UTC offset")
    return instant.astimezone(UTC)


def add_minutes(instant: datetime, minutes: int) -> datetime:
    """The instant `minutes` of real time after `instant`, in its zone.

    Plain `datetime + timedelta` adds wall-clock time in a zoneinfo zone,
    which is an hour off across a DST change; this adds elapsed time.
    """
    moved = to_utc(instant) + timedelta(minutes=minutes)
    return moved.astimezone(instant.tzinfo)


def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from ``start`` to ``end`` (real elapsed time)."""
    return int((to_utc(end) - to_utc(start)).total_seconds() // 60)


def split_by_local_day(start: datetime, end: datetime, tz: str) -> dict[date, int]:
    """Minutes of the half-open interval [start, end) on each local date."""
    result: dict[date, int] = {}
    cursor = to_utc(start)
    stop = to_utc(end)
    while cursor < stop:
        day = local_date_of(cursor, tz)
        next_midnight = to_utc(local_midnight(day + timedelta(days=1), tz))
        chunk_end = min(stop, next_midnight)
        result[day] = result.get(day, 0) + minutes_between(cursor, chunk_end)
        cursor = chunk_end
    return result


def week_start(day: date) -> date:
    """The Monday of the week holding ``day`` (weeks run Monday to Monday)."""
    return day - timedelta(days=day.weekday())


def overlap_minutes(
    a_start: datetime, a_end: datetime, b_start: datetime, b_end: datetime
) -> int:
    """Minutes shared by two half-open intervals (0 when disjoint)."""
    start = max(to_utc(a_start), to_utc(b_start))
    end = min(to_utc(a_end), to_utc(b_end))
    if end <= start:
        return 0
    return minutes_between(start, end)


def format_instant(instant: datetime, tz: str) -> str:
    """RFC 3339 text of an instant in the site's local offset."""
    return instant.astimezone(zone(tz)).isoformat(timespec="minutes")
