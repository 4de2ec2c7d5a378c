"""manage.py grant_pop3 ADDRESS --reason … --approver USER --expires YYYY-MM-DD --actor USER"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandParser

from audit.context import audit_context
from policies.management.commands._policy_args import day_start, mailbox_at, refusal, user_named
from policies.rules import format_moment
from policies.services import pop3_exception_grant


class Command(BaseCommand):
    help = "Allow POP3 for one mailbox until a date (00:00 UTC), with a reason and an approver."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("address", help="the mailbox, e.g. alice@example.org")
        parser.add_argument("--reason", required=True, help="who needs POP3 and why")
        parser.add_argument("--approver", required=True, help="username of the approver")
        parser.add_argument("--expires", required=True, help="expiry date, YYYY-MM-DD (UTC)")
        parser.add_argument("--actor", required=True, help="username of who grants it")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = user_named(options["actor"], "--actor")
        approver = user_named(options["approver"], "--approver")
        mailbox = mailbox_at(options["address"])
        expires_at = day_start(options["expires"], "--expires")
        with audit_context(source="command"):
            try:
                exception = pop3_exception_grant(
                    actor=actor,
                    mailbox=mailbox,
                    reason=options["reason"],
                    approver=approver,
                    expires_at=expires_at,
                )
            except ValidationError as error:
                raise refusal(error) from None
        self.stdout.write(
            f"POP3 allowed for {mailbox} until {format_moment(exception.expires_at)} "
            f"(exception {exception.pk})."
        )
