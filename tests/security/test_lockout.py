"""Login throttling through the real login page (django-axes), audited."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse

from audit.models import Action, AuditEvent
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

LOGIN = reverse("login")
PASSWORD = "staff-password-1"


def fail(client, username="mia", times=1):
    return [
        client.post(LOGIN, {"username": username, "password": "wrong-password"})
        for _ in range(times)
    ]


def test_failures_below_the_limit_show_the_normal_error(mail_admin, settings):
    responses = fail(Client(), times=settings.AXES_FAILURE_LIMIT - 1)

    assert {r.status_code for r in responses} == {200}
    assert b"Please enter a correct username and password" in responses[-1].content
    assert AccessAttempt.objects.get().failures_since_start == settings.AXES_FAILURE_LIMIT - 1
    assert not AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT).exists()


def test_the_limit_locks_out_even_the_right_password_and_is_audited(mail_admin, settings):
    client = Client()
    last = fail(client, times=settings.AXES_FAILURE_LIMIT)[-1]

    assert last.status_code == 429
    body = last.content.decode()
    assert "Too many failed logins for <strong>mia</strong>" in body
    assert "Logging in is locked for 30 min" in body
    right = client.post(LOGIN, {"username": "mia", "password": PASSWORD})
    assert right.status_code == 429
    assert "_auth_user_id" not in client.session
    # one event for the lockout, none for the attempts refused while locked
    (event,) = AuditEvent.objects.filter(action=Action.LOGIN_LOCKED_OUT)
    assert event.details == {"username": "mia", "ip_address": "127.0.0.1", "failures": 5}
    assert event.target_id == str(mail_admin.pk)


def test_lockout_is_per_username_and_address(mail_admin, auditor, settings):
    fail(Client(), times=settings.AXES_FAILURE_LIMIT)

    other_user = Client().post(LOGIN, {"username": "audrey", "password": PASSWORD})
    other_address = Client(REMOTE_ADDR="192.0.2.99").post(
        LOGIN, {"username": "mia", "password": PASSWORD}
    )

    assert other_user.status_code == 302
    assert other_address.status_code == 302


def test_a_superuser_unlocks_and_the_user_logs_in(superadmin, mail_admin, settings):
    fail(Client(), times=settings.AXES_FAILURE_LIMIT)
    attempt = AccessAttempt.objects.get(username="mia")

    login_client(superadmin).post(reverse("security:lockout_release", args=[attempt.pk]))

    response = Client().post(LOGIN, {"username": "mia", "password": PASSWORD})
    assert response.status_code == 302
    assert AuditEvent.objects.filter(action=Action.LOGIN_UNLOCKED).count() == 1


def test_success_resets_the_counter(mail_admin, settings):
    client = Client()
    fail(client, times=settings.AXES_FAILURE_LIMIT - 1)

    assert client.post(LOGIN, {"username": "mia", "password": PASSWORD}).status_code == 302
    assert not AccessAttempt.objects.exists()
