from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import CommandError

from accounts.management.commands._base import AccountCommand
from accounts.services import import_mailboxes


class Command(AccountCommand):
    help = (
        "Import mailboxes from a CSV file (address,display_name,password,quota): "
        "all rows or none. --dry-run only lists the problems."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        super().add_arguments(parser)
        parser.add_argument("file")
        parser.add_argument("--dry-run", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = self.actor(options)
        try:
            text = Path(options["file"]).read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"Cannot read {options['file']}: {exc}") from None
        result = self.run(
            lambda: import_mailboxes(csv_text=text, dry_run=options["dry_run"], actor=actor)
        )
        for error in result.errors:
            self.stderr.write(f"line {error['line']}: {error['address']}: {error['message']}")
        if result.errors:
            raise CommandError(
                f"{len(result.errors)} problem(s) in {result.total} row(s); nothing was imported."
            )
        if result.dry_run:
            self.stdout.write(
                f"All {result.total} row(s) are fine. Nothing was imported (dry run)."
            )
        else:
            self.stdout.write(f"Imported {len(result.created)} mailbox(es).")
