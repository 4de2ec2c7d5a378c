from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts.management.commands._base import AccountCommand, find_mailbox
from accounts.management.commands._passwords import read_password
from accounts.services import mailbox_set_password


class Command(AccountCommand):
    help = "Set a mailbox password (from --password-stdin or a prompt). Applies at the next login."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("address")
        parser.add_argument("--password-stdin", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        mailbox = find_mailbox(options["address"])
        password = read_password(from_stdin=options["password_stdin"])
        self.run(lambda: mailbox_set_password(mailbox=mailbox, password=password, actor=actor))
        self.stdout.write(f"Password of {mailbox} changed.")
