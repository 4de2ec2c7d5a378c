"""Celery adapters for protocol policy: thin, named, calling the services."""

from __future__ import annotations

from celery import shared_task

from policies.doveadm import DoveadmError


@shared_task(name="policies.send_pop3_expiry_reminders")
def send_pop3_expiry_reminders() -> int:
    """Daily: remind approvers of POP3 exceptions that expire within a week (once each)."""
    from django.utils import timezone

    from policies.services import pop3_exception_send_reminders

    return pop3_exception_send_reminders(now=timezone.now())


@shared_task(
    name="policies.enforce_hold",
    autoretry_for=(DoveadmError,),
    retry_backoff=5,
    retry_backoff_max=600,
    retry_jitter=True,
    max_retries=20,
)
def enforce_hold_task(enforcement_id: int) -> bool:
    """Put one held mailbox's hold in force on the mail server (folder + kick); retried with
    backoff while doveadm fails (the error is on the hold page meanwhile)."""
    from policies.holds import enforcement_apply

    return enforcement_apply(enforcement_id)


@shared_task(name="policies.verify_holds")
def verify_holds_task() -> int:
    """Every 15 minutes: is every active hold really in force? Returns the failures found."""
    from policies.holds import holds_verify

    return holds_verify().failed
