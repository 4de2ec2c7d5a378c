"""The organisation policy is one row that always exists."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps


def create_row(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("policies", "OrgPolicy").objects.get_or_create(pk=1)


class Migration(migrations.Migration):
    dependencies = [("policies", "0001_protocol_policy")]
    # Reverse: the table goes away with 0001's reverse; nothing to undo here.
    operations = [migrations.RunPython(create_row, migrations.RunPython.noop)]
