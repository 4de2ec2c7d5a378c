from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from audit.models import Action, AuditEvent
from policies import services
from policies.models import Pop3Exception

# Imported before any worker starts: a worker only runs the tasks it knew at start-up.
from policies.tasks import send_pop3_expiry_reminders
from tests.factories import MailboxFactory, UserFactory


def test_task_is_registered_under_its_stable_name():
    assert send_pop3_expiry_reminders.name == "policies.send_pop3_expiry_reminders"


def test_beat_runs_the_reminder_daily():
    from celery.schedules import crontab
    from django.conf import settings

    entries = [
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "policies.send_pop3_expiry_reminders"
    ]
    assert len(entries) == 1
    assert entries[0]["schedule"] == crontab(hour=7, minute=0)


@pytest.fixture
def admin(transactional_db):
    return UserFactory(username="mia", roles=["mail_admin"])


@pytest.fixture
def mailbox(domain):
    return MailboxFactory(domain=domain, local_part="alice")


@pytest.mark.django_db(transaction=True)
def test_reminder_task_runs_on_a_real_worker(celery_app, celery_worker, admin, mailbox):
    exception = services.pop3_exception_grant(
        actor=admin,
        mailbox=mailbox,
        reason="Legacy scanner needs POP3",
        approver=admin,
        expires_at=timezone.now() + timedelta(days=3),
    )
    celery_app.send_task("policies.send_pop3_expiry_reminders")

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        exception.refresh_from_db()
        if exception.reminder_sent_at is not None:
            break
        time.sleep(0.1)
    assert exception.reminder_sent_at is not None
    assert AuditEvent.objects.filter(action=Action.POP3_EXCEPTION_REMINDED).count() == 1
    assert [m.to for m in mail.outbox] == [["mia@staff.test"]]
    assert Pop3Exception.objects.get().revoked_at is None
