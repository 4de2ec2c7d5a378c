"""The two-factor gate, the security headers and the sliding session expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from security.selectors import security_policy
from tests.conftest import login_client

pytestmark = pytest.mark.django_db

VERIFY = reverse("security:two_factor_verify")
ENROL = reverse("security:two_factor_enrol")
OVERVIEW = reverse("overview")
MAILBOXES = reverse("accounts:mailbox_list")


def test_unverified_session_of_a_user_with_a_device_is_sent_to_the_code_step(mail_admin, enrol):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.get(MAILBOXES + "?q=ann")

    assert response.status_code == 302
    assert response["Location"] == f"{VERIFY}?next=%2Faccounts%2Fmailboxes%2F%3Fq%3Dann"


@pytest.mark.parametrize("persona", ["superadmin", "mail_admin", "compliance_officer"])
def test_required_role_without_device_is_sent_to_enrolment(request, persona):
    client = login_client(request.getfixturevalue(persona), verified=False)

    response = client.get(OVERVIEW)

    assert response.status_code == 302
    assert response["Location"] == f"{ENROL}?next=%2F"


def test_unverified_user_reaches_nothing_else(mail_admin, domain):
    client = login_client(mail_admin, verified=False)
    urls = [OVERVIEW, MAILBOXES, reverse("audit:event_list"), reverse("security:index")]

    for url in urls:
        assert client.get(url)["Location"].startswith(ENROL), url
    post = client.post(reverse("accounts:domain_create"), {"name": "new.test"})
    assert post.status_code == 302
    assert post["Location"] == ENROL
    assert not domain.__class__.objects.filter(name="new.test").exists()
    admin = client.get("/django-admin/")
    assert admin["Location"].startswith(ENROL)


def test_htmx_request_gets_a_client_redirect(mail_admin):
    client = login_client(mail_admin, verified=False)

    response = client.get(MAILBOXES, headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response["HX-Redirect"] == f"{ENROL}?next=%2Faccounts%2Fmailboxes%2F"


@pytest.mark.parametrize("persona", ["domain_admin", "auditor"])
def test_role_not_required_without_device_passes(request, persona):
    client = login_client(request.getfixturevalue(persona), verified=False)

    assert client.get(OVERVIEW).status_code == 200


def test_policy_change_applies_at_the_next_request(auditor):
    client = login_client(auditor, verified=False)
    policy = security_policy()
    policy.is_required_auditor = True
    policy.save()

    assert client.get(OVERVIEW)["Location"] == f"{ENROL}?next=%2F"


def test_verified_session_passes(mail_admin):
    assert login_client(mail_admin).get(OVERVIEW).status_code == 200


def test_the_steps_and_logout_stay_reachable(mail_admin, enrol):
    client = login_client(mail_admin, verified=False)
    assert client.get(ENROL).status_code == 200
    enrol(mail_admin)
    assert client.get(VERIFY).status_code == 200
    assert client.post(reverse("logout"))["Location"] == reverse("login")


def test_forged_post_is_refused_before_the_gate(superadmin):
    client = Client(enforce_csrf_checks=True)
    client.force_login(superadmin)

    assert client.post(reverse("accounts:domain_create"), {"name": "x.test"}).status_code == 403


def test_every_response_carries_the_security_headers(client, db):
    response = client.get(reverse("login"))

    csp = response["Content-Security-Policy"]
    assert "script-src 'self'" in csp
    assert "style-src 'self'" in csp
    assert "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["Permissions-Policy"].startswith("camera=()")
    assert response["X-Frame-Options"] == "DENY"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Cross-Origin-Opener-Policy"] == "same-origin"


def test_pages_have_no_inline_script_or_style(mail_admin):
    body = login_client(mail_admin).get(OVERVIEW).content.decode()

    assert 'name="htmx-config" content=\'{"includeIndicatorStyles": false}\'' in body
    assert "<style" not in body
    assert " style=" not in body
    for tag in body.split("<script")[1:]:
        assert tag.split(">", 1)[0].strip().startswith("src="), tag[:80]


def _expiry(client):
    return Session.objects.get(pk=client.session.session_key).expire_date


def test_active_session_is_renewed_at_most_once_a_refresh_period(mail_admin, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    client = login_client(mail_admin)
    first = _expiry(client)
    assert first == start + timedelta(seconds=settings.SESSION_COOKIE_AGE)

    time_machine.move_to(start + timedelta(seconds=30), tick=False)
    client.get(OVERVIEW)
    assert _expiry(client) == first  # renewed less than a refresh period ago: no write

    later = start + timedelta(seconds=settings.MAILADMIN_SESSION_REFRESH_SECONDS + 1)
    time_machine.move_to(later, tick=False)
    client.get(OVERVIEW)
    assert _expiry(client) == later + timedelta(seconds=settings.SESSION_COOKIE_AGE)


def test_idle_session_expires(mail_admin, time_machine):
    start = timezone.now()
    time_machine.move_to(start, tick=False)
    client = login_client(mail_admin)

    time_machine.move_to(start + timedelta(seconds=settings.SESSION_COOKIE_AGE + 1), tick=False)
    response = client.get(OVERVIEW)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next=/"
