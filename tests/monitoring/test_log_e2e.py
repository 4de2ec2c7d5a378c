"""End to end: real IMAP/POP3 logins, failures and deletions against the test Dovecot -> the
collection tick on a real Celery worker (real Redis) -> events and findings on the mailbox page.
"""

from __future__ import annotations

import imaplib
import itertools
import poplib
import time

import pytest
from django.conf import settings
from django.core import mail

import monitoring.tasks
from accounts.services import mailbox_create
from monitoring import log_services
from monitoring.models import ConnectionEvent, Finding, LogSource, MailboxEvent
from tests.conftest import login_client
from tests.factories import DomainFactory, LogSourceFactory

PASSWORD = "Tr0ub4dor&3-horse"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def celery_includes():
    return ["monitoring.tasks"]


def test_tasks_have_stable_names_and_a_beat_entry():
    from mailadmin.celery import app

    assert {
        "monitoring.collect_logs",
        "monitoring.collect_log_source",
        "monitoring.notify_findings",
        "monitoring.purge_log_events",
    } <= set(app.tasks)
    entries = {e["task"]: e["schedule"] for e in settings.CELERY_BEAT_SCHEDULE.values()}
    assert entries["monitoring.collect_logs"] == 30.0
    assert "monitoring.purge_log_events" in entries


@pytest.mark.django_db
def test_the_tick_routes_each_source_to_its_hosts_queue(monkeypatch):
    sent = []
    monkeypatch.setattr(
        monitoring.tasks.collect_log_source_task,
        "apply_async",
        lambda args, **options: sent.append((args, options)),
    )
    one = LogSourceFactory(queue="mail-host-1")
    two = LogSourceFactory(queue="")
    LogSourceFactory(is_enabled=False)
    assert log_services.collect_due_sources() == [one.pk, two.pk]
    assert sent == [((one.pk,), {"queue": "mail-host-1"}), ((two.pk,), {})]


def _wait(predicate, timeout=30.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.2)
    return False


@pytest.mark.django_db(transaction=True)
def test_logins_failures_and_deletions_reach_the_mailbox_page(
    dovecot, celery_app, celery_worker, superadmin
):
    domain = DomainFactory(name=f"e2e{next(_numbers)}-{int(time.time())}.test")
    alice = mailbox_create(domain=domain, local_part="alice", password=PASSWORD, actor=superadmin)
    source = LogSourceFactory(path=str(dovecot.log_path), host_label="lab-mail")
    log_services.collect_source(source.pk)  # skip what earlier tests wrote
    unknown_before = LogSource.objects.get(pk=source.pk).unknown_lines
    client = dovecot.imaps()
    client.login(alice.address, PASSWORD)
    client.append("INBOX", None, None, b"Subject: doomed\r\nMessage-ID: <doomed@x>\r\n\r\nbye\r\n")
    client.select("INBOX")
    client.store("1", "+FLAGS", "\\Deleted")
    client.expunge()
    client.logout()
    wrong = dovecot.imaps()
    with pytest.raises(imaplib.IMAP4.error):
        wrong.login(alice.address, "not-the-password")
    wrong.shutdown()
    pop3 = dovecot.pop3s()
    pop3.user(alice.address)
    with pytest.raises(poplib.error_proto):
        pop3.pass_(PASSWORD)
    pop3.close()
    assert dovecot.wait_for_line("auth failed", alice.address)
    assert dovecot.wait_for_line("pop3-login", alice.address)

    celery_app.send_task("monitoring.collect_logs")
    mine = ConnectionEvent.objects.filter(username=alice.address)
    assert _wait(lambda: mine.filter(protocol="pop3").exists()), dovecot.log_text()[-3000:]
    assert sorted(set(mine.values_list("protocol", "outcome"))) == [
        ("imap", "auth_failed"),
        ("imap", "login"),
        ("imap", "logout"),
        ("pop3", "policy_refused"),
    ]
    expunge = MailboxEvent.objects.get(username=alice.address, action="expunge")
    assert (expunge.folder, expunge.message_id, expunge.subject) == ("INBOX", "doomed@x", "")
    finding = Finding.objects.get(subject=alice.address)
    assert finding.kind == "pop3_without_exception"
    assert _wait(lambda: Finding.objects.filter(pk=finding.pk, notified_at__isnull=False).exists())
    assert any(alice.address in m.body for m in mail.outbox)
    assert LogSource.objects.get(pk=source.pk).unknown_lines == unknown_before

    page = login_client(superadmin).get(alice.get_absolute_url()).content.decode()
    assert "Logins and mailbox activity" in page
    assert "POP3 attempt without an exception" in page
    assert "Wrong password" in page
    assert "Refused by policy" in page
    assert "doomed@x" in page
    assert "expunge" in page
