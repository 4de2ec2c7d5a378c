"""Reads of the audit trail for the page and the export."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from audit.models import AuditEvent


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def event_search(filters: dict[str, Any]) -> QuerySet[AuditEvent]:
    """Events matching the cleaned EventFilterForm data, newest first.

    Actor and source match exactly, the target text anywhere in the target's name (case
    insensitive); dates are whole days in the site's time zone, both ends included.
    """
    events = AuditEvent.objects.order_by("-id")
    if filters.get("actor"):
        events = events.filter(actor_repr=filters["actor"])
    if filters.get("action"):
        events = events.filter(action=filters["action"])
    if filters.get("target"):
        events = events.filter(target_repr__icontains=filters["target"])
    if filters.get("source"):
        events = events.filter(source=filters["source"])
    if filters.get("date_from"):
        events = events.filter(created_at__gte=_start_of(filters["date_from"]))
    if filters.get("date_to"):
        events = events.filter(created_at__lt=_start_of(filters["date_to"] + timedelta(days=1)))
    if filters.get("matter"):
        # Legal-hold events carry their matter's name and reference (policies.holds).
        events = events.filter(
            Q(details__matter__icontains=filters["matter"])
            | Q(details__matter_reference__iexact=filters["matter"])
        )
    if filters.get("target_type") and filters.get("target_id"):
        events = events.filter(target_type=filters["target_type"], target_id=filters["target_id"])
    return events


def target_name(target_type: str, target_id: str) -> str | None:
    """The latest name recorded for a target (it survives the target's deletion)."""
    return (
        AuditEvent.objects.filter(target_type=target_type, target_id=target_id)
        .order_by("-id")
        .values_list("target_repr", flat=True)
        .first()
    )
