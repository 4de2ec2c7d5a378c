"""Legal holds and retention against the real Dovecot (tests/dovecot_fixtures.py).

doveadm runs through policies.doveadm with the settings pointed at the fixture's config, as a
worker on the mail host would. Each test uses its own domain: mail directories outlive the
per-test database flush.
"""

from __future__ import annotations

import imaplib
import itertools
import time

import pytest

from accounts.models import Mailbox
from accounts.services import mailbox_create
from audit.models import Action, AuditEvent
from policies import holds
from policies.doveadm import user_fields
from policies.models import HoldEnforcement, LegalHold
from policies.retention import retention_rule_set

# Imported before any worker starts: a worker only runs the tasks it knew at start-up.
from policies.tasks import enforce_hold_task  # noqa: F401
from tests.conftest import login_client
from tests.factories import DomainFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dovecot]

PASSWORD = "Tr0ub4dor&3-horse"
TRASH_KEY = "namespace/inbox/mailbox/Trash/autoexpunge"
_numbers = itertools.count()


@pytest.fixture
def doveadm_settings(settings, dovecot):
    settings.MAILADMIN_DOVEADM = "doveadm"
    settings.MAILADMIN_DOVECOT_CONFIG = str(dovecot.config_path)
    return settings


@pytest.fixture
def lab_domain():
    return DomainFactory(name=f"hold{next(_numbers)}-{int(time.time() * 1000)}.test")


@pytest.fixture
def mailbox(lab_domain, superadmin):
    return mailbox_create(
        domain=lab_domain, local_part="carol", password=PASSWORD, actor=superadmin
    )


def session(dovecot, mailbox):
    client = dovecot.imaps()
    client.login(mailbox.address, PASSWORD)
    return client


def message(subject: str, size: int = 500) -> bytes:
    return (
        (
            f"Subject: {subject}\r\nFrom: sender@example.org\r\nMessage-ID: <{subject}@lab.test>\r\n\r\n"
        ).encode()
        + b"x" * size
        + b"\r\n"
    )


def preserved(dovecot, mailbox) -> int:
    out = dovecot.doveadm("mailbox", "status", "-u", mailbox.address, "messages", "EXPUNGED")
    return int(out.stdout.split("messages=")[1])


def place(compliance_officer, **custodians) -> LegalHold:
    return holds.hold_place(
        actor=compliance_officer,
        matter_name="Acme v. Lab",
        matter_reference="CASE-7",
        reason="Litigation hold",
        **custodians,
    )


def enforce_all():
    for pk in HoldEnforcement.objects.values_list("pk", flat=True):
        holds.enforcement_apply(pk)


def keep_talking(client) -> None:
    """Two commands: the first may still read the server's goodbye."""
    for _ in range(2):
        client.noop()


def storage_used(client) -> int:
    status, data = client.getquotaroot("INBOX")
    assert status == "OK"
    line = next(d for d in data[1] if b"STORAGE" in d)
    return int(line.split(b"STORAGE")[1].split()[0])


def test_held_user_cannot_destroy_mail_and_old_session_is_kicked(
    dovecot, doveadm_settings, mailbox, compliance_officer
):
    client = session(dovecot, mailbox)
    for i in range(3):
        assert client.append("INBOX", None, None, message(f"inbox{i}"))[0] == "OK"
    assert client.create("Projects")[0] == "OK"
    for i in range(2):
        assert client.append("Projects", None, None, message(f"project{i}"))[0] == "OK"
    old = session(dovecot, mailbox)  # opened before the hold: reads no lazy_expunge
    old.select("INBOX")

    hold = place(compliance_officer, mailboxes=[mailbox])
    client.logout()
    enforce_all()
    enforcement = HoldEnforcement.objects.get()
    assert enforcement.in_force_at is not None
    assert AuditEvent.objects.filter(action=Action.HOLD_IN_FORCE).count() == 1
    # The kicked session is gone: its next command fails.
    with pytest.raises((imaplib.IMAP4.abort, OSError)):
        keep_talking(old)

    user = session(dovecot, mailbox)
    used_before = storage_used(user)
    user.select("INBOX")
    user.store("1:2", "+FLAGS", "\\Deleted")
    assert user.expunge()[0] == "OK"
    user.close()
    assert user.delete("Projects")[0] == "OK"
    assert preserved(dovecot, mailbox) == 4
    # The user can neither list, open nor delete the preservation folder...
    listing = b" ".join(user.list()[1])
    assert b"EXPUNGED" not in listing
    assert user.select("EXPUNGED")[0] == "NO"
    assert user.delete("EXPUNGED")[0] == "NO"
    # ...and what it holds does not count against the quota.
    assert storage_used(user) < used_before
    user.logout()
    assert preserved(dovecot, mailbox) == 4

    # Released: the next session's expunge is final.
    holds.hold_release(actor=compliance_officer, hold=hold, reason="Case settled")
    user = session(dovecot, mailbox)
    user.select("INBOX")
    user.store("1", "+FLAGS", "\\Deleted")
    assert user.expunge()[0] == "OK"
    assert b"(MESSAGES 0)" in user.status("INBOX", "(MESSAGES)")[1][0]
    user.logout()
    assert preserved(dovecot, mailbox) == 4


def test_trash_retention_is_off_while_held_and_back_after_release(
    dovecot, doveadm_settings, mailbox, compliance_officer, mail_admin
):
    retention_rule_set(
        actor=mail_admin, domain=None, folder="Trash", retention_days=30, confirmed=True
    )
    fields = user_fields(mailbox.address)
    assert fields[TRASH_KEY] == "30d"
    assert "lazy_expunge" not in fields

    client = session(dovecot, mailbox)
    old_date = imaplib.Time2Internaldate(time.time() - 40 * 86400)
    assert client.create("Trash")[0] == "OK"
    for i in range(2):
        assert client.append("Trash", None, old_date, message(f"old-trash{i}"))[0] == "OK"
    client.logout()

    hold = place(compliance_officer, domains=[mailbox.domain])
    enforce_all()
    fields = user_fields(mailbox.address)
    assert fields[TRASH_KEY] == "0d"
    assert fields["lazy_expunge"] == "EXPUNGED"
    # The server's deletion of old Trash (what autoexpunge does) only moves it aside.
    dovecot.doveadm("expunge", "-u", mailbox.address, "mailbox", "Trash", "before", "30d")
    assert preserved(dovecot, mailbox) == 2

    holds.hold_release(actor=compliance_officer, hold=hold, reason="Matter closed")
    fields = user_fields(mailbox.address)
    assert fields[TRASH_KEY] == "30d"
    assert "lazy_expunge" not in fields
    client = session(dovecot, mailbox)
    assert client.append("Trash", None, old_date, message("old-trash-later"))[0] == "OK"
    client.logout()
    dovecot.doveadm("expunge", "-u", mailbox.address, "mailbox", "Trash", "before", "30d")
    out = dovecot.doveadm("mailbox", "status", "-u", mailbox.address, "messages", "Trash")
    assert out.stdout.strip() == "Trash messages=0"
    assert preserved(dovecot, mailbox) == 2


def test_deleting_a_held_mailbox_is_refused_and_it_still_logs_in(
    dovecot, doveadm_settings, mailbox, compliance_officer, superadmin
):
    place(compliance_officer, mailboxes=[mailbox])
    admin = login_client(superadmin)
    response = admin.post(f"/accounts/mailboxes/{mailbox.pk}/delete/")
    assert response.status_code == 302
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    page = admin.get(response.url)
    assert "is on legal hold for “Acme v. Lab” (CASE-7) and cannot be deleted" in (
        page.content.decode()
    )
    client = session(dovecot, mailbox)
    client.logout()


def test_verification_records_counts_and_raises_an_alert_when_not_in_force(
    dovecot, doveadm_settings, mailbox, compliance_officer, auditor
):
    hold = place(compliance_officer, mailboxes=[mailbox])
    enforce_all()
    result = holds.holds_verify()
    assert (result.checked, result.failed) == (1, 0)
    assert HoldEnforcement.objects.get().preserved_messages == 0
    hold.refresh_from_db()
    assert hold.verification_failed_at is None

    # The mail server cannot be asked (a broken doveadm config): the hold is not verified.
    doveadm_settings.MAILADMIN_DOVECOT_CONFIG = "/nonexistent/dovecot.conf"
    result = holds.holds_verify()
    assert result.failed == 1
    hold.refresh_from_db()
    assert hold.verification_failed_at is not None
    assert AuditEvent.objects.filter(action=Action.HOLD_VERIFICATION_FAILED).count() == 1
    holds.holds_verify()  # still failing: no second event
    assert AuditEvent.objects.filter(action=Action.HOLD_VERIFICATION_FAILED).count() == 1
    page = login_client(auditor).get(hold.get_absolute_url()).content.decode()
    assert "This hold is not verified on the mail server" in page


def test_enforcement_runs_on_a_real_worker(
    celery_app, celery_worker, dovecot, doveadm_settings, mailbox, compliance_officer
):
    place(compliance_officer, mailboxes=[mailbox])  # enqueues on commit
    deadline = time.monotonic() + 20
    enforcement = HoldEnforcement.objects.get()
    while enforcement.in_force_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
        enforcement.refresh_from_db()
    assert enforcement.in_force_at is not None, enforcement.last_error
    assert preserved(dovecot, mailbox) == 0  # the folder exists


def test_failed_enforcement_is_recorded_for_the_page(
    dovecot, doveadm_settings, mailbox, compliance_officer
):
    from policies.doveadm import DoveadmError

    place(compliance_officer, mailboxes=[mailbox])
    doveadm_settings.MAILADMIN_DOVEADM = "/nonexistent/doveadm"
    enforcement = HoldEnforcement.objects.get()
    with pytest.raises(DoveadmError):
        holds.enforcement_apply(enforcement.pk)
    enforcement.refresh_from_db()
    assert enforcement.in_force_at is None
    assert enforcement.attempts == 1
    assert "/nonexistent/doveadm" in enforcement.last_error
