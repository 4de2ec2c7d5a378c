"""Trigram indexes for the mailbox list's search-as-you-type (PostgreSQL only).

The search is a substring match (`address LIKE '%text%'`, `UPPER(display_name) LIKE ...`), which
a B-tree cannot serve; with pg_trgm's GIN indexes a search over 100,000 mailboxes reads only the
matching rows. SQLite (the laptop default) has no such index and does not need one at its scale.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

CREATE = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS mailbox_address_trgm_idx"
    " ON accounts_mailbox USING gin (address gin_trgm_ops)",
    "CREATE INDEX IF NOT EXISTS mailbox_display_name_trgm_idx"
    " ON accounts_mailbox USING gin (UPPER(display_name) gin_trgm_ops)",
]
DROP = [
    "DROP INDEX IF EXISTS mailbox_display_name_trgm_idx",
    "DROP INDEX IF EXISTS mailbox_address_trgm_idx",
]


def forwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in CREATE:
            schema_editor.execute(statement, params=None)


def backwards(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        for statement in DROP:
            schema_editor.execute(statement, params=None)


class Migration(migrations.Migration):
    dependencies = [("accounts", "0003_mailbox_import")]
    operations = [migrations.RunPython(forwards, backwards)]
