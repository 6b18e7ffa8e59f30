"""Questions a dispatcher asks of a roster, answered in real time.

A shift's interval comes from its template on its local date (see
``scheduler.shifts``), so a shift crossing midnight is found on both sides
of it: the 22:00-06:00 shift of 7 May is on duty at 01:30 on 8 May.
"""

from __future__ import annotations

import logging
from datetime import datetime

from scheduler.models import Request, RosterShift
from scheduler.shifts import instance
from scheduler.sitetime import to_utc

logger = logging.getLogger(__name__)


def on_duty(
    request: Request, roster: list[RosterShift], instant: datetime
) -> list[str]:
    """The ids of the people on shift at an instant.

    A person is on duty from the start of their shift to its end,
    extension included, the end excluded; a break does not take them off
    duty. Shifts whose template is unknown are left out.

    Parameters
    ----------
    request
        The request the roster answers (its site's time zone and templates).
    roster
        The shifts to look in.
    instant
        An aware instant.

    Returns
    -------
    list[str]
        Person ids in roster order, each once.
    """
    moment = to_utc(instant)
    templates = {template.id: template for template in request.shift_templates}
    tz = request.site.timezone

    on_shift: list[str] = []
    for shift in roster:
        template = templates.get(shift.template_id)
        if template is None:
            continue
        real = instance(template, shift.date, tz, shift.extension_min)
        on_shift_now = to_utc(real.start) <= moment < to_utc(real.end)
        if on_shift_now and shift.person_id not in on_shift:
            on_shift.append(shift.person_id)
    return on_shift
