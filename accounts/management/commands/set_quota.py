from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from accounts.management.commands._base import AccountCommand, find_mailbox
from accounts.services import mailbox_set_quota
from mailadmin.lib.units import SizeError, format_size, parse_size


class Command(AccountCommand):
    help = 'Set a mailbox quota: size like "2.5 GB" (0 = no limit) and optionally a message limit.'

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("address")
        parser.add_argument("size")
        parser.add_argument("--messages", type=int, default=None, help="Message limit; 0 = none.")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        mailbox = find_mailbox(options["address"])
        try:
            size = parse_size(options["size"])
        except SizeError as exc:
            raise CommandError(str(exc)) from None
        messages = mailbox.quota_messages if options["messages"] is None else options["messages"]
        self.run(
            lambda: mailbox_set_quota(
                mailbox=mailbox, quota_bytes=size, quota_messages=messages, actor=actor
            )
        )
        self.stdout.write(f"Quota of {mailbox}: {format_size(size) if size else 'no limit'}.")
