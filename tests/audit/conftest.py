"""Audit test helpers: events are written only through the real audit_record()."""

from __future__ import annotations

import pytest
from django.db import connection, transaction

from audit.context import audit_context
from audit.models import Action
from audit.services import audit_record


@pytest.fixture
def record_event(db):
    """record_event(action=..., target=..., details=..., actor=..., source=..., client_ip=...)."""

    def record(
        *,
        action=Action.MAILBOX_UPDATED,
        actor=None,
        target=None,
        target_repr=None,
        details=None,
        source="web",
        client_ip="192.0.2.10",
    ):
        with audit_context(source=source, client_ip=client_ip), transaction.atomic():
            return audit_record(
                actor=actor, action=action, target=target, target_repr=target_repr, details=details
            )

    return record


@pytest.fixture
def tamper(db):
    """Run SQL on the audit table with the append-only trigger switched off (test transaction only)."""

    def run(sql, params=()):
        with connection.cursor() as cursor:
            cursor.execute("ALTER TABLE audit_auditevent DISABLE TRIGGER audit_event_append_only")
            try:
                cursor.execute(sql, params)
            finally:
                cursor.execute(
                    "ALTER TABLE audit_auditevent ENABLE TRIGGER audit_event_append_only"
                )

    return run
