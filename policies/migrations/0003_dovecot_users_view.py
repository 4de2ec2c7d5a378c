"""The view Dovecot reads at every login: one row per mailbox, same columns on both backends.

Flags are integers 0/1 (not booleans) so the same query text tests them on the pgsql and sqlite
drivers. pop3_ok compares with the database clock, so an expired or revoked exception stops
working at the next login with no job. policies/rules.py decides the same in Python
(tests/policies/test_view_agrees.py). Issue 4 adds on_hold and the autoexpunge columns for real.

Indexes used: accounts_domain.name (unique) and accounts_mailbox (domain_id, local_part)
(unique) for the lookup by '%d'/'%n'; policies_pop3exception (mailbox_id, expires_at) for the
active-exception subquery; the one-to-one policy tables are unique on their foreign key.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

# Django stores SQLite datetimes as UTC text "YYYY-MM-DD HH:MM:SS[.ffffff]"; this compares right.
NOW = {
    "postgresql": "now()",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')",
}

VIEW_SQL = """
CREATE VIEW dovecot_users AS
SELECT
    m.id AS mailbox_id,
    m.address AS username,
    m.local_part AS local_part,
    d.name AS domain,
    m.password_hash AS password,
    CASE WHEN m.is_active THEN 1 ELSE 0 END AS mailbox_active,
    CASE WHEN d.is_active THEN 1 ELSE 0 END AS domain_active,
    CASE WHEN m.is_active AND d.is_active THEN 1 ELSE 0 END AS login_ok,
    CASE WHEN m.is_active AND d.is_active
          AND COALESCE(mp.imap_enabled, dp.imap_enabled, o.imap_enabled, TRUE)
         THEN 1 ELSE 0 END AS imap_ok,
    CASE WHEN m.is_active AND d.is_active AND EXISTS (
            SELECT 1 FROM policies_pop3exception e
            WHERE e.mailbox_id = m.id
              AND e.revoked_at IS NULL
              AND e.starts_at <= {now}
              AND e.expires_at > {now})
         THEN 1 ELSE 0 END AS pop3_ok,
    0 AS on_hold,
    m.quota_bytes AS quota_bytes,
    m.quota_messages AS quota_messages,
    NULLIF(COALESCE(mp.allowed_networks, ''), '') AS allow_nets
FROM accounts_mailbox m
JOIN accounts_domain d ON d.id = m.domain_id
LEFT JOIN policies_domainpolicy dp ON dp.domain_id = d.id
LEFT JOIN policies_mailboxpolicy mp ON mp.mailbox_id = m.id
LEFT JOIN policies_orgpolicy o ON o.id = 1
"""


def create_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in NOW:
        raise NotImplementedError(f"no dovecot_users view for the {vendor} backend")
    schema_editor.execute(VIEW_SQL.format(now=NOW[vendor]))


def drop_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    schema_editor.execute("DROP VIEW IF EXISTS dovecot_users")


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0002_org_policy_row"),
        ("accounts", "0002_role_groups"),
    ]
    operations = [migrations.RunPython(create_view, drop_view)]
