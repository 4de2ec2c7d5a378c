from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from audit.models import Action, AuditEvent
from policies.models import Pop3Exception
from policies.selectors import org_policy
from tests.factories import MailboxFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def clock(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.fixture
def approver(db):
    return UserFactory(username="ada", roles=["mail_admin"])


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def grant_args(**over):
    values = {
        "address": "alice@example.test",
        "--reason": "Legacy scanner needs POP3",
        "--approver": "ada",
        "--expires": "2026-12-20",
        "--actor": "mia",
    }
    values.update(over)
    address = values.pop("address")
    return ["grant_pop3", address, *[x for pair in values.items() for x in pair]]


def test_grant_pop3_grants_until_midnight_utc(mail_admin, mailbox, approver):
    out = run(*grant_args())
    exception = Pop3Exception.objects.get()
    assert exception.expires_at == datetime(2026, 12, 20, tzinfo=UTC)
    assert exception.granted_by == mail_admin
    assert (
        out == f"POP3 allowed for alice@example.test until 2026-12-20 (exception {exception.pk}).\n"
    )
    event = AuditEvent.objects.get(action=Action.POP3_EXCEPTION_GRANTED)
    assert event.source == "command"


def test_grant_pop3_accepts_upper_case_address(mail_admin, mailbox, approver):
    run(*grant_args(address="Alice@Example.TEST"))
    assert Pop3Exception.objects.get().mailbox == mailbox


@pytest.mark.parametrize(
    ("over", "message"),
    [
        ({"address": "nobody@example.test"}, "No mailbox nobody@example.test."),
        ({"--approver": "ghost"}, "No user named “ghost” (given as --approver)."),
        ({"--actor": "ghost"}, "No user named “ghost” (given as --actor)."),
        ({"--expires": "2026-13-01"}, "--expires “2026-13-01” is not a date; write YYYY-MM-DD."),
        (
            {"--expires": "2027-03-01"},
            "POP3 exceptions may last at most 90 days; choose an expiry on or before 2027-02-24.",
        ),
        (
            {"--reason": "pls"},
            "Write a reason of at least 10 characters that says why POP3 is needed; "
            "“pls” is too short.",
        ),
        (
            {"--approver": "dora"},
            "dora cannot approve POP3 exceptions; choose a superuser or a mail administrator.",
        ),
        ({"--actor": "otto"}, "You may not change the policy of alice@example.test."),
    ],
)
def test_grant_pop3_refusals(mail_admin, domain_admin, outsider, mailbox, approver, over, message):
    org_policy()
    with pytest.raises(CommandError) as info:
        run(*grant_args(**over))
    assert str(info.value) == message
    assert not Pop3Exception.objects.exists()
    assert not AuditEvent.objects.filter(action=Action.POP3_EXCEPTION_GRANTED).exists()


def test_revoke_pop3_revokes_the_current_exception(mail_admin, mailbox, approver):
    run(*grant_args())
    out = run("revoke_pop3", "alice@example.test", "--reason", "Scanner replaced", "--actor", "mia")
    exception = Pop3Exception.objects.get()
    assert exception.revoked_at == NOW
    assert exception.revoke_reason == "Scanner replaced"
    assert out == f"POP3 exception {exception.pk} of alice@example.test revoked.\n"
    assert AuditEvent.objects.get(action=Action.POP3_EXCEPTION_REVOKED).source == "command"


def test_revoke_pop3_without_exception_refuses(mail_admin, mailbox):
    with pytest.raises(CommandError) as info:
        run("revoke_pop3", "alice@example.test", "--reason", "Nothing", "--actor", "mia")
    assert str(info.value) == (
        "alice@example.test has no active or scheduled POP3 exception to revoke."
    )


def test_revoke_pop3_requires_reason_text(mail_admin, mailbox, approver):
    run(*grant_args())
    with pytest.raises(CommandError) as info:
        run("revoke_pop3", "alice@example.test", "--reason", "  ", "--actor", "mia")
    assert str(info.value) == "Give a reason for revoking the POP3 exception."
    assert Pop3Exception.objects.get().revoked_at is None


def test_send_pop3_reminders_sends_due_ones(time_machine, mail_admin, mailbox, approver):
    run(*grant_args(**{"--expires": "2026-12-01"}))
    assert run("send_pop3_reminders") == "1 reminder sent.\n"
    assert len(mail.outbox) == 1
    assert run("send_pop3_reminders") == "0 reminders sent.\n"
    assert AuditEvent.objects.get(action=Action.POP3_EXCEPTION_REMINDED).source == "command"
    time_machine.move_to(NOW + timedelta(days=1), tick=False)
    assert run("send_pop3_reminders") == "0 reminders sent.\n"
