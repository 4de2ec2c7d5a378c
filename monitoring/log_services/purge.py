"""Retention: delete events older than the configured age, except those of custodians on hold."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.utils import timezone

from monitoring import log_selectors
from monitoring.log_services.sources import log_settings
from monitoring.models import ConnectionEvent, MailboxEvent


def log_events_purge(*, now: datetime | None = None) -> dict[str, int]:
    """Delete events older than the retention, except those of custodians on legal hold."""
    moment = now or timezone.now()
    cutoff = moment - timedelta(days=log_settings().retention_days)
    held = sorted(log_selectors.mailboxes_on_hold())
    counts = {}
    for name, model in (("connection_events", ConnectionEvent), ("mailbox_events", MailboxEvent)):
        old = model._default_manager.filter(occurred_at__lt=cutoff).exclude(username__in=held)
        counts[name], _ = old.delete()
    return counts
