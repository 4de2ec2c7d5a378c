"""Small assertions shared by the accounts tests."""

from __future__ import annotations

from audit.models import AuditEvent


def message_of(exc) -> str:
    """The rendered text of a ValidationError's first message."""
    return str(exc.value.messages[0])


def last_event(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-id").first()
    assert event is not None, f"no {action} event"
    return event
