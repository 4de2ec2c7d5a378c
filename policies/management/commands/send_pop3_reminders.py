"""manage.py send_pop3_reminders: the twin of the daily policies.send_pop3_expiry_reminders task."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone

from audit.context import audit_context
from policies.services import pop3_exception_send_reminders


class Command(BaseCommand):
    help = "E-mail approvers about POP3 exceptions that expire within a week (once each)."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_context(source="command"):
            sent = pop3_exception_send_reminders(now=timezone.now())
        self.stdout.write(f"{sent} reminder{'s' if sent != 1 else ''} sent.")
