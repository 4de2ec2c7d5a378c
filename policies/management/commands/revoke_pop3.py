"""manage.py revoke_pop3 ADDRESS --reason … --actor USER"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils import timezone

from audit.context import audit_context
from policies.management.commands._policy_args import mailbox_at, refusal, user_named
from policies.models import Pop3Exception
from policies.services import pop3_exception_revoke


class Command(BaseCommand):
    help = "Revoke the current (or next scheduled) POP3 exception of a mailbox."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="the mailbox, e.g. alice@example.org")
        parser.add_argument("--reason", required=True, help="why POP3 must stop")
        parser.add_argument("--actor", required=True, help="username of who revokes it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["actor"], "--actor")
        mailbox = mailbox_at(options["address"])
        exception = (
            Pop3Exception.objects.filter(
                mailbox=mailbox, revoked_at__isnull=True, expires_at__gt=timezone.now()
            )
            .order_by("starts_at")
            .first()
        )
        if exception is None:
            raise CommandError(f"{mailbox} has no active or scheduled POP3 exception to revoke.")
        with audit_context(source="command"):
            try:
                pop3_exception_revoke(actor=actor, exception=exception, reason=options["reason"])
            except ValidationError as error:
                raise refusal(error) from None
        self.stdout.write(f"POP3 exception {exception.pk} of {mailbox} revoked.")
