from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.db.utils import ProgrammingError

from audit.models import Action, AuditEvent
from audit.services import GENESIS_HASH, audit_record, audit_verify_chain, changes, event_hash
from tests.factories import MailboxFactory


def test_audit_record_chains_each_event_to_the_one_before(record_event, mail_admin, domain):
    mailbox = MailboxFactory.create(domain=domain, local_part="ann")
    first = record_event(actor=mail_admin, action=Action.MAILBOX_CREATED, target=mailbox)
    second = record_event(
        actor=mail_admin,
        action=Action.MAILBOX_QUOTA_CHANGED,
        target=mailbox,
        details=changes({"quota_bytes": 1}, {"quota_bytes": 2}),
    )

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.prev_hash == GENESIS_HASH
    assert second.prev_hash == first.hash
    assert first.hash == event_hash(first)
    assert second.hash == event_hash(second)
    assert second.target_type == "accounts.mailbox"
    assert second.target_id == str(mailbox.pk)
    assert second.target_repr == "ann@example.test"
    assert second.actor_repr == "mia"
    assert second.details == {"quota_bytes": {"old": 1, "new": 2}}
    assert (second.source, second.client_ip) == ("web", "192.0.2.10")


@pytest.mark.django_db(transaction=True)
def test_audit_record_refuses_to_run_outside_a_transaction():
    with pytest.raises(RuntimeError, match="inside the service's transaction"):
        audit_record(actor=None, action=Action.DOMAIN_CREATED)
    assert AuditEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("given", "stored"),
    [
        ("2001:DB8:0:0::1", "2001:db8::1"),
        ("::FFFF:192.0.2.1", "::ffff:192.0.2.1"),
        ("fe80::1%eth0", "fe80::1"),
        ("not-an-address", None),
        ("", None),
    ],
)
def test_client_ip_is_stored_as_hashed_so_the_chain_verifies(record_event, given, stored):
    event = record_event(client_ip=given)

    event.refresh_from_db()
    assert event.client_ip == stored
    assert event_hash(event) == event.hash
    assert audit_verify_chain() == []


def test_long_target_names_are_shortened_not_refused(record_event):
    event = record_event(target_repr="x" * 400)

    event.refresh_from_db()
    assert len(event.target_repr) == 300
    assert event.target_repr.endswith("…")
    assert audit_verify_chain() == []


def test_changes_lists_only_differing_fields():
    assert changes({"a": 1, "b": 2}, {"a": 1, "b": 3, "c": None}) == {"b": {"old": 2, "new": 3}}


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE audit_auditevent SET actor_repr = 'mallory' WHERE id = %s",
        "DELETE FROM audit_auditevent WHERE id = %s",
    ],
)
def test_database_trigger_refuses_update_and_delete(record_event, statement):
    event = record_event(actor=None)

    with (
        pytest.raises(ProgrammingError) as caught,
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement, [event.pk])

    verb = statement.split()[0]
    assert f"audit_auditevent is append-only: {verb} refused" in str(caught.value)
    stored = AuditEvent.objects.get(pk=event.pk)
    assert stored.actor_repr == "system"
    assert stored.hash == event.hash


def test_orm_update_and_delete_are_refused_too(record_event):
    event = record_event()

    with pytest.raises(ProgrammingError, match="append-only: UPDATE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(target_repr="rewritten")
    with pytest.raises(ProgrammingError, match="append-only: DELETE refused"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()

    assert AuditEvent.objects.filter(pk=event.pk, target_repr=event.target_repr).exists()
