"""Findings from collected lines, acknowledging, notification, purge, settings and sources."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.core.exceptions import ValidationError
from django.utils import timezone

from audit.models import Action, AuditEvent
from monitoring import log_services
from monitoring.log_services import (
    ERRORS,
    collect_source,
    finding_acknowledge,
    findings_notify,
    log_events_purge,
    log_settings_update,
    log_source_create,
)
from monitoring.models import ConnectionEvent, Finding, LogSettings, LogSource, MailboxEvent
from policies.models import Pop3Exception
from tests.factories import (
    ConnectionEventFactory,
    FindingFactory,
    LogSourceFactory,
    MailboxEventFactory,
    MailboxFactory,
)

pytestmark = pytest.mark.django_db

T = "2024-05-01 10:00:{:02d} "


def failed(n, user="ann@example.test", ip="192.0.2.9"):
    return (
        T.format(n) + f"imap-login: Info: Disconnected: Connection closed (auth failed, 1 attempts "
        f"in 2 secs): user=<{user}>, method=PLAIN, rip={ip}, lip=10.0.0.1, TLS: Connection "
        f"closed, session=<f{n}>"
    )


def pop3_login(n, user):
    return (
        T.format(n) + f"pop3-login: Info: Login: user=<{user}>, method=PLAIN, rip=192.0.2.5, "
        f"lip=10.0.0.1, mpid=1, TLS, session=<p{n}>"
    )


@pytest.fixture
def log(tmp_path):
    return tmp_path / "dovecot.log"


@pytest.fixture
def source(log):
    return LogSourceFactory(path=str(log))


def append(log, *lines):
    with open(log, "a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def kinds():
    return sorted(Finding.objects.values_list("kind", "subject", "count"))


def test_failed_login_burst_per_user_and_per_client(log, source):
    LogSettings.objects.create(pk=1, burst_threshold=3, burst_window_minutes=5)
    append(log, failed(1), failed(2, user="bob@example.test"))
    collect_source(source.pk)
    assert kinds() == []  # two failures: under the threshold
    append(log, failed(3))
    collect_source(source.pk)
    assert kinds() == [("failed_burst_client", "192.0.2.9", 3)]
    append(log, failed(4), failed(5))
    collect_source(source.pk)
    assert kinds() == [
        ("failed_burst_client", "192.0.2.9", 5),
        ("failed_burst_user", "ann@example.test", 4),
    ]


def test_pop3_without_exception_is_a_finding_and_with_one_it_is_not(log, source, superadmin):
    allowed = MailboxFactory(address="ok@example.test")
    Pop3Exception.objects.create(
        mailbox=allowed,
        reason="scanner in the print room",
        approver=superadmin,
        granted_by=superadmin,
        starts_at=timezone.make_aware(timezone.datetime(2024, 1, 1)),
        expires_at=timezone.make_aware(timezone.datetime(2025, 1, 1)),
    )
    append(log, pop3_login(1, "ok@example.test"), pop3_login(2, "nope@example.test"))
    append(log, pop3_login(3, "nope@example.test"))
    stats = collect_source(source.pk)
    assert kinds() == [("pop3_without_exception", "nope@example.test", 2)]
    assert len(stats.new_findings) == 1


def test_network_refusal_joins_the_auth_and_login_lines_even_across_batches(log, source):
    auth = (
        T.format(1) + "auth: Info: sql(frank@example.test,192.0.2.3,<nz1>): allow_nets check "
        "failed: IP 192.0.2.3 not in allowed networks"
    )
    login = failed(2, user="frank@example.test", ip="192.0.2.3").replace("<f2>", "<nz1>")
    append(log, auth)
    collect_source(source.pk)
    event = ConnectionEvent.objects.get()
    assert (event.outcome, event.protocol) == ("network_refused", "")
    append(log, login)
    collect_source(source.pk)
    event = ConnectionEvent.objects.get()  # still one event, now complete
    assert (event.outcome, event.protocol, event.is_tls) == ("network_refused", "imap", True)
    assert event.reason == "allow_nets check failed: IP 192.0.2.3 not in allowed networks"
    assert ("network_refused", "frank@example.test", 1) in kinds()


def test_login_without_tls_is_a_critical_finding(log, source):
    append(
        log,
        T.format(1) + "imap-login: Info: Login failed: Plaintext authentication disabled: "
        "user=<>, rip=198.51.100.4, lip=10.0.0.1, session=<x1>",
    )
    collect_source(source.pk)
    finding = Finding.objects.get()
    assert (finding.kind, finding.subject, finding.severity) == (
        "no_tls",
        "198.51.100.4",
        "critical",
    )


def test_deletions_by_a_custodian_on_hold(log, source, monkeypatch):
    monkeypatch.setattr(
        log_services.log_selectors, "mailboxes_on_hold", lambda: {"held@example.test"}
    )
    line = (
        T.format(1) + "imap(held@example.test)<1><s1>: Info: expunge: box=INBOX, uid=3, "
        "msgid=<a@b>, size=10, vsize=11, flags=()"
    )
    append(log, line, line.replace("held@", "free@"))
    collect_source(source.pk)
    assert kinds() == [("hold_deletion", "held@example.test", 1)]
    assert Finding.objects.get().severity == "info"


def test_mailboxes_on_hold_reads_current_custodians(superadmin):
    from monitoring.log_selectors import mailboxes_on_hold
    from policies.models import CustodianKind, HoldCustodian, LegalHold

    held = MailboxFactory(address="held@example.test")
    MailboxFactory(address="free@example.test")
    now = timezone.now()
    hold = LegalHold.objects.create(
        matter_name="Matter",
        matter_reference="M-1",
        reason="litigation",
        starts_on=now.date(),
        placed_by=superadmin,
        placed_at=now,
    )
    HoldCustodian.objects.create(
        hold=hold,
        kind=CustodianKind.MAILBOX,
        mailbox=held,
        name=held.address,
        added_by=superadmin,
        added_at=now,
        add_reason="custodian",
    )
    assert mailboxes_on_hold() == {"held@example.test"}


def test_a_finding_is_deduplicated_until_acknowledged(log, source, mail_admin):
    plain = (
        T.format(1) + "imap-login: Info: Login failed: Plaintext authentication disabled: "
        "user=<>, rip=198.51.100.4, lip=10.0.0.1, session=<x{}>"
    )
    append(log, plain.format(1), plain.format(2))
    collect_source(source.pk)
    finding = Finding.objects.get()
    assert finding.count == 2
    finding_acknowledge(finding=finding, actor=mail_admin, note="old printer, replaced")
    event = AuditEvent.objects.get(action=Action.FINDING_ACKNOWLEDGED)
    assert event.details["note"] == "old printer, replaced"
    append(log, plain.format(3))
    collect_source(source.pk)
    assert Finding.objects.count() == 2
    assert Finding.objects.open().get().count == 1


def test_acknowledging_twice_is_refused_and_changes_nothing(mail_admin):
    finding = FindingFactory()
    finding_acknowledge(finding=finding, actor=mail_admin)
    finding.refresh_from_db()
    events = AuditEvent.objects.count()
    with pytest.raises(ValidationError) as refused:
        finding_acknowledge(finding=finding, actor=mail_admin, note="again")
    assert refused.value.messages == [
        ERRORS["already_acknowledged"]
        % {"who": "mia", "when": f"{finding.acknowledged_at:%Y-%m-%d %H:%M}"}
    ]
    assert AuditEvent.objects.count() == events
    assert Finding.objects.get().acknowledge_note == ""


def test_auditor_and_outsider_cannot_acknowledge(auditor, outsider):
    finding = FindingFactory(subject="ann@example.test")
    for who in (auditor, outsider):
        with pytest.raises(ValidationError) as refused:
            finding_acknowledge(finding=finding, actor=who)
        assert refused.value.messages == [str(ERRORS["not_allowed"])]
    assert Finding.objects.get().acknowledged_at is None


def test_notification_goes_to_superusers_and_mail_admins_once(superadmin, mail_admin, auditor):
    first, second = FindingFactory(), FindingFactory(kind="network_refused")
    assert findings_notify([first.pk, second.pk]) == 2
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert sorted(message.to) == ["mia@staff.test", "root@staff.test"]
    assert message.subject == "[mailadmin] 2 new log findings"
    assert "Login attempt without TLS — ann@example.test" in message.body
    assert findings_notify([first.pk]) == 0
    assert len(mail.outbox) == 1


def test_purge_keeps_recent_events_and_those_of_custodians_on_hold(monkeypatch):
    monkeypatch.setattr(
        log_services.log_selectors, "mailboxes_on_hold", lambda: {"held@example.test"}
    )
    LogSettings.objects.create(pk=1, retention_days=30)
    old = timezone.now() - timedelta(days=31)
    ConnectionEventFactory(occurred_at=old, username="gone@example.test")
    ConnectionEventFactory(occurred_at=old, username="held@example.test")
    ConnectionEventFactory(username="gone@example.test")
    MailboxEventFactory(occurred_at=old, username="gone@example.test")
    MailboxEventFactory(occurred_at=old, username="held@example.test")
    assert log_events_purge() == {"connection_events": 1, "mailbox_events": 1}
    assert sorted(ConnectionEvent.objects.values_list("username", flat=True)) == [
        "gone@example.test",
        "held@example.test",
    ]
    assert list(MailboxEvent.objects.values_list("username", flat=True)) == ["held@example.test"]


def test_settings_and_sources_are_audited_and_checked(mail_admin, auditor):
    settings_row = log_settings_update(
        actor=mail_admin,
        values={
            "store_sender_subject": True,
            "burst_threshold": 5,
            "burst_window_minutes": 3,
            "retention_days": 60,
        },
    )
    assert settings_row.store_sender_subject is True
    event = AuditEvent.objects.get(action=Action.LOG_SETTINGS_CHANGED)
    assert event.details["retention_days"] == {"old": 180, "new": 60}
    source = log_source_create(
        actor=mail_admin,
        values={"name": "mail1", "path": "/var/log/dovecot.log", "host_label": "mail1"},
    )
    assert AuditEvent.objects.filter(
        action=Action.LOG_SOURCE_CREATED, target_id=str(source.pk)
    ).exists()
    with pytest.raises(ValidationError) as refused:
        log_source_create(
            actor=mail_admin,
            values={"name": "x", "path": "dovecot.log", "host_label": "m", "timezone_name": "UTC"},
        )
    assert refused.value.messages == [ERRORS["relative_path"] % {"value": "dovecot.log"}]
    with pytest.raises(ValidationError) as refused:
        log_source_create(
            actor=mail_admin,
            values={"name": "x", "path": "/x.log", "host_label": "m", "timezone_name": "Mars/Base"},
        )
    assert refused.value.messages == [ERRORS["bad_timezone"] % {"value": "Mars/Base"}]
    with pytest.raises(ValidationError):
        log_source_create(actor=auditor, values={"name": "y", "path": "/y", "host_label": "m"})
    assert LogSource.objects.count() == 1
