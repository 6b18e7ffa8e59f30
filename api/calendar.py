"""A person's shifts in a plan as an iCalendar file, for their own calendar."""

from __future__ import annotations

from datetime import UTC, datetime

from icalendar import Calendar, Event

from scheduler.models import Plan


def shifts_calendar(plan: Plan, person_id: str) -> bytes:
    """The person's shifts as VEVENTs in UTC, one per rostered shift.

    The UID is the shift instance id with the plan id, so a calendar that
    imports a later revision updates the same events. Only ids, templates
    and posts are written: no name, since the file may be forwarded.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//clearplan//shift plan//EN")
    calendar.add("version", "2.0")
    calendar.add("x-wr-calname", f"shifts of {person_id} ({plan.request.site.id})")
    stamp = datetime.now(UTC).replace(microsecond=0)
    for shift in sorted(
        (s for s in plan.roster if s.person_id == person_id),
        key=lambda s: (s.date, s.template_id),
    ):
        if shift.start is None or shift.end is None:
            continue
        event = Event()
        event.add("uid", f"{shift.id or shift.person_id}@{plan.plan_id}.clearplan")
        event.add("dtstamp", stamp)
        event.add("dtstart", shift.start.astimezone(UTC))
        event.add("dtend", shift.end.astimezone(UTC))
        summary = f"{shift.template_id} shift, post {shift.post}"
        if shift.extension_min:
            summary += f", +{shift.extension_min} min overtime"
        event.add("summary", summary)
        if shift.break_start is not None and shift.break_end is not None:
            span = f"{shift.break_start.isoformat()} - {shift.break_end.isoformat()}"
            event.add("description", f"break {span}")
        event.add("location", plan.request.site.name or plan.request.site.id)
        calendar.add_component(event)
    return bytes(calendar.to_ical())
