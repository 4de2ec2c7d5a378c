from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from accounts.management.commands._base import AccountCommand, find_mailbox
from accounts.services import mailbox_reactivate, mailbox_suspend


class Command(AccountCommand):
    help = "Suspend a mailbox (logins refused from the next one), or --reactivate it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("address")
        parser.add_argument("--reactivate", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        mailbox = find_mailbox(options["address"])
        if options["reactivate"]:
            self.run(lambda: mailbox_reactivate(mailbox=mailbox, actor=actor))
            self.stdout.write(f"{mailbox} is active again.")
        else:
            self.run(lambda: mailbox_suspend(mailbox=mailbox, actor=actor))
            self.stdout.write(f"{mailbox} is suspended.")
