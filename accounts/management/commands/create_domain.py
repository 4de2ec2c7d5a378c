from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts.management.commands._base import AccountCommand
from accounts.services import domain_create
from mailadmin.lib.units import SizeError, parse_size


def _size(text: str) -> int:
    try:
        return parse_size(text)
    except SizeError as exc:
        from django.core.management.base import CommandError

        raise CommandError(str(exc)) from None


class Command(AccountCommand):
    help = "Create a domain (Unicode names are stored in IDNA form)."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("name")
        parser.add_argument(
            "--quota", default="0", help='Domain storage quota, like "50 GB"; 0 = none.'
        )
        parser.add_argument("--default-quota", default="1 GB", help="Default mailbox size.")
        parser.add_argument("--max-mailboxes", type=int, default=0)
        parser.add_argument("--inactive", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        domain = self.run(
            lambda: domain_create(
                name=options["name"],
                actor=actor,
                is_active=not options["inactive"],
                quota_bytes=_size(options["quota"]),
                default_quota_bytes=_size(options["default_quota"]),
                max_mailboxes=options["max_mailboxes"],
            )
        )
        self.stdout.write(f"Created domain {domain} ({domain.name}).")
