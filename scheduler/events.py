"""The event types of live re-planning: payloads keyed by the envelope's `type`.

An `Event` (see `scheduler.models`) says what happened (`type`), when it
happened or was learnt (`at`), what it concerns (`subject_id`) and carries
a payload. Each type below names what its subject is and checks its
payload; `read_events` turns envelopes into `TypedEvent`s and refuses a
bad one with a `ValueError` naming the event, the field and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from pydantic import Field, ValidationError, model_validator

from scheduler.models import (
    Event,
    ExamWindow,
    Identifier,
    Instant,
    Load,
    Model,
    Shipment,
)


class LoadAdded(Model):
    """subject: the load id. A new truck and the shipments it brings."""

    load: Load
    shipments: list[Shipment] = Field(default_factory=list)

    @model_validator(mode="after")
    def _bring_their_load(self) -> LoadAdded:
        for i, shipment in enumerate(self.shipments):
            if shipment.load_id != self.load.id:
                raise ValueError(f"shipments[{i}].load_id must be the added load's id")
        return self


class ShipmentAdded(Model):
    """subject: the shipment id. A new shipment (its load already known)."""

    shipment: Shipment


class Cancelled(Model):
    """subject: a shipment or load id. It will not be handled here."""


class EtaChanged(Model):
    """subject: the load id. The truck now reaches the dock at `eta`."""

    eta: Instant


class DocumentsLate(Model):
    """subject: the shipment id. Its documents are ready only at this time."""

    documents_ready_at: Instant


class CustomsReleased(Model):
    """subject: the shipment id. Customs released it (green lane)."""


class CustomsDocumentary(Model):
    """subject: the shipment id. A documentary check: a broker answers."""

    reply_deadline: Instant | None = None


class CustomsExam(Model):
    """subject: the shipment id. A physical exam at customs' appointment."""

    window: ExamWindow


class PersonAbsent(Model):
    """subject: the person id. Absent from `start` until `end` (none: the
    end of the horizon)."""

    start: Instant
    end: Instant | None = None

    @model_validator(mode="after")
    def _ordered(self) -> PersonAbsent:
        if self.end is not None and self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class PersonCalledIn(Model):
    """subject: the person id (from the pool: on call or agency). The
    shift they are called in for."""

    date: date
    template_id: Identifier
    post: str = Field(min_length=1, max_length=128)


class DoorOutage(Model):
    """subject: the door id. Out of service over [start, end)."""

    start: Instant
    end: Instant

    @model_validator(mode="after")
    def _ordered(self) -> DoorOutage:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        return self


class TaskStarted(Model):
    """subject: the task id. It started at `started_at` (by whom and where,
    when not as planned)."""

    started_at: Instant
    person_id: Identifier | None = None
    door_id: Identifier | None = None


class TaskFinished(Model):
    """subject: the task id. It finished at `finished_at`."""

    finished_at: Instant


class TaskPinned(Model):
    """subject: the task id. The dispatcher fixes it where it is."""


class TaskUnpinned(Model):
    """subject: the task id. The dispatcher frees it again."""


Payload = (
    LoadAdded
    | ShipmentAdded
    | Cancelled
    | EtaChanged
    | DocumentsLate
    | CustomsReleased
    | CustomsDocumentary
    | CustomsExam
    | PersonAbsent
    | PersonCalledIn
    | DoorOutage
    | TaskStarted
    | TaskFinished
    | TaskPinned
    | TaskUnpinned
)

EVENT_TYPES: dict[str, type[Payload]] = {
    "load.added": LoadAdded,
    "shipment.added": ShipmentAdded,
    "load.cancelled": Cancelled,
    "shipment.cancelled": Cancelled,
    "load.eta_changed": EtaChanged,
    "shipment.documents_late": DocumentsLate,
    "customs.released": CustomsReleased,
    "customs.documentary": CustomsDocumentary,
    "customs.exam": CustomsExam,
    "person.absent": PersonAbsent,
    "person.called_in": PersonCalledIn,
    "door.outage": DoorOutage,
    "task.started": TaskStarted,
    "task.finished": TaskFinished,
    "task.pinned": TaskPinned,
    "task.unpinned": TaskUnpinned,
}


@dataclass(frozen=True)
class TypedEvent:
    """An envelope with its payload read as its type's model.

    Parameters
    ----------
    event
        The envelope as given.
    payload
        The payload, checked.
    position
        Its position in the list it came from, for messages.
    """

    event: Event
    payload: Payload
    position: int

    @property
    def type(self) -> str:
        return self.event.type

    @property
    def subject_id(self) -> str:
        return self.event.subject_id

    def label(self) -> str:
        """How a diff reason names this event."""
        name = self.event.id or f"#{self.position}"
        return f"event {name} ({self.event.type} {self.event.subject_id})"


def read_event(event: Event, position: int = 0) -> TypedEvent:
    """Check one envelope's type and payload.

    Raises
    ------
    ValueError
        When the type is unknown or the payload breaks its type's rules.
    """
    payload_type = EVENT_TYPES.get(event.type)
    if payload_type is None:
        known = ", ".join(sorted(EVENT_TYPES))
        raise ValueError(
            f"events[{position}].type: '{event.type}' is not an event type "
            f"(one of {known})"
        )
    try:
        payload = payload_type.model_validate(event.payload)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        field = f"events[{position}].payload" + (f".{where}" if where else "")
        raise ValueError(f"{field}: {first['msg']}") from exc
    return TypedEvent(event=event, payload=payload, position=position)


def read_events(events: Sequence[Event]) -> list[TypedEvent]:
    """Check every envelope and return them in the order they happened.

    Events at the same instant keep their given order.
    """
    typed = [read_event(event, i) for i, event in enumerate(events)]
    return sorted(typed, key=lambda item: (item.event.at, item.position))
