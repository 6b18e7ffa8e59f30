"""Shift instances: a template on a local date, made real in the site's zone.

A shift belongs to the local date it starts on (for one-shift-a-day,
consecutive days and weekends); its minutes count on the local days they
actually fall on (for hour caps). An `end_local` at or before `start_local`
ends on the next local date, so a 22:00-06:00 shift over a DST change lasts
7 or 9 hours.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from scheduler.models import WEEKDAYS, Request, ShiftTemplate
from scheduler.sitetime import (
    add_minutes,
    local_instant,
    minutes_between,
    parse_hhmm,
    split_by_local_day,
    week_start,
)

LocalDate = date


@dataclass(frozen=True)
class ShiftInstance:
    """A template on a date with an optional overtime extension."""

    template_id: str
    date: LocalDate
    extension_min: int
    start: datetime
    end: datetime
    break_start: datetime | None
    break_end: datetime | None
    break_paid: bool

    @property
    def length_min(self) -> int:
        """Real minutes from start to end, extension included."""
        return minutes_between(self.start, self.end)

    @property
    def break_min(self) -> int:
        if self.break_start is None or self.break_end is None:
            return 0
        return minutes_between(self.break_start, self.break_end)

    @property
    def worked_min(self) -> int:
        """Minutes worked: the length less the break, paid or not."""
        return self.length_min - self.break_min

    @property
    def paid_min(self) -> int:
        """Minutes paid: worked minutes plus a paid break."""
        return self.worked_min + (self.break_min if self.break_paid else 0)

    def shift_id(self, person_id: str) -> str:
        return f"{person_id}:{self.date.isoformat()}:{self.template_id}"

    def worked_by_local_day(self, tz: str) -> dict[LocalDate, int]:
        """Worked minutes on each local date (the break taken out)."""
        per_day = split_by_local_day(self.start, self.end, tz)
        if self.break_start is not None and self.break_end is not None:
            for day, minutes in split_by_local_day(
                self.break_start, self.break_end, tz
            ).items():
                per_day[day] = per_day.get(day, 0) - minutes
        return {day: m for day, m in per_day.items() if m > 0}

    def worked_by_week(self, tz: str) -> dict[LocalDate, int]:
        """Worked minutes per week (keyed by its Monday)."""
        weeks: dict[LocalDate, int] = {}
        for day, minutes in self.worked_by_local_day(tz).items():
            monday = week_start(day)
            weeks[monday] = weeks.get(monday, 0) + minutes
        return weeks


def runs_on(template: ShiftTemplate, day: date) -> bool:
    """Whether a template may start on a local date (its weekdays)."""
    return WEEKDAYS[day.weekday()] in template.weekdays


def instance(
    template: ShiftTemplate, day: date, tz: str, extension_min: int = 0
) -> ShiftInstance:
    """The real instants of `template` started on local `day`."""
    start_clock = parse_hhmm(template.start_local)
    end_clock = parse_hhmm(template.end_local)
    start = local_instant(day, start_clock, tz)
    end_day = day if end_clock > start_clock else day + timedelta(days=1)
    end = local_instant(end_day, end_clock, tz)
    break_start = break_end = None
    if template.break_min > 0 and template.break_start_local is not None:
        break_clock = parse_hhmm(template.break_start_local)
        break_day = day if break_clock >= start_clock else day + timedelta(days=1)
        break_start = local_instant(break_day, break_clock, tz)
        break_end = add_minutes(break_start, template.break_min)
        if not (start <= break_start and break_end <= end):
            raise ValueError(
                f"shift_templates[{template.id}]: the break must lie inside the shift"
            )
    end = add_minutes(end, extension_min)
    return ShiftInstance(
        template_id=template.id,
        date=day,
        extension_min=extension_min,
        start=start,
        end=end,
        break_start=break_start,
        break_end=break_end,
        break_paid=template.break_paid,
    )


def extension_options(template: ShiftTemplate) -> list[int]:
    """The overtime extensions a template allows: 0, step, 2*step, ..."""
    options = [0]
    step = template.extension_step_min
    while options[-1] + step <= template.max_extension_min:
        options.append(options[-1] + step)
    return options


def all_instances(request: Request) -> list[ShiftInstance]:
    """Every template instance (without extension) in the horizon."""
    tz = request.site.timezone
    result = []
    for day in request.horizon.dates():
        for template in request.shift_templates:
            if runs_on(template, day):
                result.append(instance(template, day, tz))
    return result
