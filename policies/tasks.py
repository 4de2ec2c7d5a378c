"""Celery adapters for protocol policy: thin, named, calling the services."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="policies.send_pop3_expiry_reminders")
def send_pop3_expiry_reminders() -> int:
    """Daily: remind approvers of POP3 exceptions that expire within a week (once each)."""
    from django.utils import timezone

    from policies.services import pop3_exception_send_reminders

    return pop3_exception_send_reminders(now=timezone.now())
