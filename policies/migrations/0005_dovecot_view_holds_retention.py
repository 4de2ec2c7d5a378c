"""The Dovecot view gains real `on_hold` and per-folder autoexpunge columns (issue 4).

Replaces the view of 0003 (never edited): same columns and rules, plus
- `on_hold` = 1 while an unreleased hold has a current custodian that is the mailbox or its
  domain (a domain custodian covers mailboxes created later: the view looks at the domain);
- `autoexpunge_trash`, `autoexpunge_junk`: the effective retention in days (domain rule, else
  organisation rule, else 0 = keep), forced to 0 while on hold.
And a second view, `dovecot_retention` (mailbox_id, folder, days), with the same rule for every
folder that has a rule anywhere; the generated userdb query reads named folders from it.

Indexes used: policies_holdcustodian (mailbox_id, removed_at) and (domain_id, removed_at);
policies_retentionrule's unique (folder) / (domain_id, folder) constraints.
"""

from __future__ import annotations

from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

NOW = {
    "postgresql": "now()",
    "sqlite": "strftime('%Y-%m-%d %H:%M:%f', 'now')",
}

HELD = """EXISTS (
            SELECT 1 FROM policies_holdcustodian c
            JOIN policies_legalhold h ON h.id = c.hold_id
            WHERE h.released_at IS NULL AND c.removed_at IS NULL
              AND (c.mailbox_id = m.id OR c.domain_id = m.domain_id))"""


def _days(folder: str) -> str:
    return f"""CASE WHEN {HELD} THEN 0 ELSE COALESCE(
            (SELECT r.retention_days FROM policies_retentionrule r
             WHERE r.domain_id = m.domain_id AND r.folder = '{folder}'),
            (SELECT r.retention_days FROM policies_retentionrule r
             WHERE r.domain_id IS NULL AND r.folder = '{folder}'),
            0) END"""


VIEW_SQL = f"""
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
              AND e.starts_at <= {{now}}
              AND e.expires_at > {{now}})
         THEN 1 ELSE 0 END AS pop3_ok,
    CASE WHEN {HELD} THEN 1 ELSE 0 END AS on_hold,
    m.quota_bytes AS quota_bytes,
    m.quota_messages AS quota_messages,
    {_days("Trash")} AS autoexpunge_trash,
    {_days("Junk")} AS autoexpunge_junk,
    NULLIF(COALESCE(mp.allowed_networks, ''), '') AS allow_nets
FROM accounts_mailbox m
JOIN accounts_domain d ON d.id = m.domain_id
LEFT JOIN policies_domainpolicy dp ON dp.domain_id = d.id
LEFT JOIN policies_mailboxpolicy mp ON mp.mailbox_id = m.id
LEFT JOIN policies_orgpolicy o ON o.id = 1
"""

RETENTION_VIEW_SQL = f"""
CREATE VIEW dovecot_retention AS
SELECT
    m.id AS mailbox_id,
    f.folder AS folder,
    CASE WHEN {HELD} THEN 0 ELSE COALESCE(dr.retention_days, orr.retention_days, 0) END AS days
FROM accounts_mailbox m
CROSS JOIN (SELECT DISTINCT folder FROM policies_retentionrule) f
LEFT JOIN policies_retentionrule dr ON dr.domain_id = m.domain_id AND dr.folder = f.folder
LEFT JOIN policies_retentionrule orr ON orr.domain_id IS NULL AND orr.folder = f.folder
"""

# The 0003 view, to go back to on reverse.
OLD_MODULE = "policies.migrations.0003_dovecot_users_view"


def create_views(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    vendor = schema_editor.connection.vendor
    if vendor not in NOW:
        raise NotImplementedError(f"no dovecot_users view for the {vendor} backend")
    schema_editor.execute("DROP VIEW IF EXISTS dovecot_users")
    schema_editor.execute("DROP VIEW IF EXISTS dovecot_retention")
    schema_editor.execute(VIEW_SQL.format(now=NOW[vendor]))
    schema_editor.execute(RETENTION_VIEW_SQL)


def restore_old_view(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    import importlib

    old = importlib.import_module(OLD_MODULE)
    schema_editor.execute("DROP VIEW IF EXISTS dovecot_retention")
    schema_editor.execute("DROP VIEW IF EXISTS dovecot_users")
    old.create_view(apps, schema_editor)


class Migration(migrations.Migration):
    dependencies = [
        ("policies", "0004_legal_holds_retention"),
    ]
    operations = [migrations.RunPython(create_views, restore_old_view)]
