"""The dashboard roles are Django groups named by role code (mailadmin/lib/auth.py)."""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

ROLE_CODES = ["mail_admin", "domain_admin", "compliance_officer", "auditor"]


def create_groups(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    group = apps.get_model("auth", "Group")
    for code in ROLE_CODES:
        group.objects.get_or_create(name=code)


class Migration(migrations.Migration):
    dependencies = [
        ("accounts", "0001_domains_mailboxes_aliases"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]
    # Reverse is a no-op: the groups may hold users by then; removing them is an operator's call.
    operations = [migrations.RunPython(create_groups, migrations.RunPython.noop)]
