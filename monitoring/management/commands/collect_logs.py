"""`manage.py collect_logs [--source ID ...]`: the twin of the monitoring.collect_log_source task.

`--add-path PATH --name NAME --host LABEL [--queue Q]` registers a source first (as the
superuser given by --actor), so an operator can set a mail host up from its shell.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.log_services import collect_source, log_source_create
from monitoring.models import LogSource


class Command(BaseCommand):
    help = "Read new lines of the Dovecot log sources into connection and mailbox events."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--source", type=int, action="append", help="source id (repeatable)")
        parser.add_argument("--add-path", help="register a new source reading this file")
        parser.add_argument("--name", help="name of the new source")
        parser.add_argument("--host", help="host label of the new source")
        parser.add_argument("--queue", default="", help="Celery queue of that host's worker")
        parser.add_argument("--actor", help="username recorded in the audit trail for --add-path")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["add_path"]:
            self._add(options)
        ids = options["source"] or list(
            LogSource.objects.filter(is_enabled=True).values_list("pk", flat=True)
        )
        for source_id in ids:
            if not LogSource.objects.filter(pk=source_id).exists():
                raise CommandError(f"There is no log source {source_id}.")
            stats = collect_source(source_id)
            self.stdout.write(
                f"source {source_id}: {stats.lines} lines, {stats.connection_events} connection "
                f"events, {stats.mailbox_events} mailbox events, {stats.unknown} unknown, "
                f"{len(stats.new_findings)} new findings"
                + "".join(f"\n  {note}" for note in stats.notes)
            )

    def _add(self, options: dict[str, Any]) -> None:
        if not (options["name"] and options["host"] and options["actor"]):
            raise CommandError("--add-path needs --name, --host and --actor.")
        actor = User.objects.filter(username=options["actor"]).first()
        if actor is None:
            raise CommandError(f"There is no user {options['actor']!r}.")
        values = {
            "name": options["name"],
            "path": options["add_path"],
            "host_label": options["host"],
            "queue": options["queue"],
        }
        try:
            source = log_source_create(actor=actor, values=values)
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from None
        self.stdout.write(f"Added log source {source.pk}: {source}")
