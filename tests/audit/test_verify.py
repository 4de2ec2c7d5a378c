from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import transaction

from audit.models import AuditEvent
from audit.services import ChainProblem, audit_verify_chain


@pytest.fixture
def three_events(record_event):
    return [record_event(details={"n": {"old": i, "new": i + 1}}) for i in range(3)]


def run_verify():
    out = StringIO()
    try:
        call_command("audit_verify", stdout=out)
    except CommandError as error:
        return out.getvalue(), error
    return out.getvalue(), None


def test_an_untouched_chain_verifies(three_events):
    assert audit_verify_chain() == []
    out, error = run_verify()
    assert error is None
    assert out == "OK: 3 events, chain intact\n"


def test_an_empty_trail_verifies(db):
    out, error = run_verify()
    assert (out, error) == ("OK: 0 events, chain intact\n", None)


def test_a_changed_event_is_reported(three_events, tamper):
    middle = three_events[1]
    tamper(
        "UPDATE audit_auditevent SET details = %s WHERE id = %s",
        [json.dumps({"n": {"old": 1, "new": 99}}), middle.pk],
    )

    assert audit_verify_chain() == [ChainProblem(middle.pk, "content was changed")]
    out, error = run_verify()
    assert out == f"event {middle.pk}: content was changed\n"
    assert error is not None
    assert error.returncode == 1
    assert "1 problem(s) in 3 events" in str(error)


def test_a_changed_and_rehashed_event_breaks_the_next_link(three_events, tamper):
    from audit.services import event_hash

    middle = three_events[1]
    middle.target_repr = "innocent"
    tamper(
        "UPDATE audit_auditevent SET target_repr = %s, hash = %s WHERE id = %s",
        ["innocent", event_hash(middle), middle.pk],
    )

    assert audit_verify_chain() == [
        ChainProblem(three_events[2].pk, "previous event missing or altered")
    ]


def test_a_removed_event_is_reported(three_events, tamper):
    _, middle, last = three_events
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [middle.pk])

    out, error = run_verify()
    assert out == f"event {last.pk}: previous event missing or altered\n"
    assert error is not None
    assert AuditEvent.objects.count() == 2


def test_removing_the_first_event_is_reported(three_events, tamper):
    tamper("DELETE FROM audit_auditevent WHERE id = %s", [three_events[0].pk])

    assert [str(p) for p in audit_verify_chain()] == [
        f"event {three_events[1].pk}: previous event missing or altered"
    ]


def fail_after_auditing(record_event):
    with transaction.atomic():
        record_event()
        raise RuntimeError("service failed after auditing")


def test_a_gap_in_ids_alone_is_not_a_problem(record_event, tamper):
    # A rolled-back transaction consumes a sequence value: the chain links over the gap.
    first = record_event()
    with pytest.raises(RuntimeError, match="service failed"):
        fail_after_auditing(record_event)
    last = record_event()

    assert last.pk > first.pk + 1
    assert audit_verify_chain() == []
