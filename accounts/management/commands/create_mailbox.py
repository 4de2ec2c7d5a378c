from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import CommandError

from accounts.management.commands._base import AccountCommand, find_domain
from accounts.management.commands._passwords import read_password
from accounts.services import mailbox_create
from mailadmin.lib.units import SizeError, parse_size


class Command(AccountCommand):
    help = "Create a mailbox. The password comes from --password-stdin or a prompt, never argv."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("address", help="local@domain; the domain must exist.")
        parser.add_argument("--name", default="", help="Display name.")
        parser.add_argument(
            "--quota", default=None, help='Size like "2 GB"; default: the domain default.'
        )
        parser.add_argument("--password-stdin", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        local, sep, domain_name = options["address"].partition("@")
        if not sep:
            raise CommandError(f"“{options['address']}” has no @. Give the full address.")
        domain = find_domain(domain_name)
        quota = None
        if options["quota"] is not None:
            try:
                quota = parse_size(options["quota"])
            except SizeError as exc:
                raise CommandError(str(exc)) from None
        password = read_password(from_stdin=options["password_stdin"])
        mailbox = self.run(
            lambda: mailbox_create(
                domain=domain,
                local_part=local,
                password=password,
                display_name=options["name"],
                quota_bytes=quota,
                actor=actor,
            )
        )
        self.stdout.write(f"Created mailbox {mailbox}.")
