"""Security pages through the client: the two login steps, the security page, superuser actions."""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify

import pytest
from django.contrib.auth import SESSION_KEY
from django.contrib.sessions.models import Session
from django.test import Client
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from security import forms, services
from security.models import SecurityPolicy
from security.selectors import security_policy
from security.views import ENROL_KEY_SESSION_KEY
from tests.conftest import login_client
from tests.security.conftest import code_for

pytestmark = pytest.mark.django_db

VERIFY = reverse("security:two_factor_verify")
ENROL = reverse("security:two_factor_enrol")
INDEX = reverse("security:index")
PASSWORD = "staff-password-1"


def errors_of(response):
    return [str(e) for e in response.context["form"].errors.get("code", [])]


# --- verify -----------------------------------------------------------------------------------


def test_verify_page_asks_for_the_code(mail_admin, enrol):
    enrol(mail_admin)
    response = login_client(mail_admin, verified=False).get(VERIFY + "?next=/accounts/")

    assert response.status_code == 200
    assert b"Verification code" in response.content
    assert b'name="next" value="/accounts/"' in response.content


def test_right_code_verifies_the_session_and_goes_on(mail_admin, enrol):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.post(VERIFY, {"code": code_for(), "next": "/accounts/mailboxes/"})

    assert response["Location"] == "/accounts/mailboxes/"
    assert client.get("/accounts/mailboxes/").status_code == 200


def test_verify_never_redirects_off_site(mail_admin, enrol):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.post(VERIFY, {"code": code_for(), "next": "https://evil.example/"})

    assert response["Location"] == reverse("overview")


def test_wrong_code_comes_back_with_the_message_and_the_session_stays_unverified(mail_admin, enrol):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.post(VERIFY, {"code": code_for(steps=7)})

    assert response.status_code == 200
    assert errors_of(response) == [str(services.ERROR_MESSAGES["wrong_code"])]
    assert client.get(reverse("overview"))["Location"].startswith(VERIFY)
    assert AuditEvent.objects.filter(action=Action.TWO_FACTOR_FAILED).count() == 1


def test_code_of_no_shape_is_refused_by_the_form(mail_admin, enrol):
    enrol(mail_admin)
    response = login_client(mail_admin, verified=False).post(VERIFY, {"code": "12"})

    assert errors_of(response) == [str(forms.CodeForm.error_messages["shape"])]


def test_backup_code_verifies_and_says_how_many_are_left(mail_admin, enrol):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.post(VERIFY, {"code": "abcd efgh"}, follow=True)

    assert response.status_code == 200
    assert "Backup code used: 1 left." in response.content.decode()


def test_verify_without_device_goes_to_enrolment(mail_admin):
    response = login_client(mail_admin, verified=False).get(VERIFY)

    assert response["Location"] == ENROL


def test_verify_needs_login(client):
    assert client.get(VERIFY)["Location"] == f"{reverse('login')}?next={VERIFY}"


# --- enrol ------------------------------------------------------------------------------------


def test_enrol_page_shows_a_qr_code_made_by_the_app_and_the_key(mail_admin):
    client = login_client(mail_admin, verified=False)

    response = client.get(ENROL)

    body = response.content.decode()
    key = client.session[ENROL_KEY_SESSION_KEY]
    assert '<svg viewBox="0 0 ' in body
    assert 'class="qr"' in body
    assert "http" not in body.split("<svg viewBox")[1].split("</svg>")[0]
    secret = response.context["secret"]
    assert secret in body
    assert secret.replace(" ", "") == b32encode(unhexlify(key)).decode()
    assert client.get(ENROL).context["secret"] == response.context["secret"]  # same key
    assert not TOTPDevice.objects.filter(user=mail_admin).exists()
    assert len(key) == 40


def test_enrol_confirms_shows_backup_codes_once_and_verifies_the_session(mail_admin):
    client = login_client(mail_admin, verified=False)
    client.get(ENROL)
    key = client.session[ENROL_KEY_SESSION_KEY]

    response = client.post(ENROL, {"code": code_for(key), "next": "/audit/"})

    assert response.status_code == 200
    codes = set(StaticToken.objects.values_list("token", flat=True))
    assert len(codes) == 10
    assert all(code in response.content.decode() for code in codes)
    assert 'href="/audit/"' in response.content.decode()
    assert TOTPDevice.objects.get(user=mail_admin).key == key
    assert ENROL_KEY_SESSION_KEY not in client.session
    assert client.get("/audit/").status_code == 200
    again = client.get(ENROL)
    assert b"Set up" in again.content
    assert not any(c in again.content.decode() for c in codes)


def test_enrol_with_a_wrong_code_shows_the_message_and_creates_nothing(mail_admin):
    client = login_client(mail_admin, verified=False)
    client.get(ENROL)
    key = client.session[ENROL_KEY_SESSION_KEY]

    response = client.post(ENROL, {"code": code_for(key, steps=9)})

    assert errors_of(response) == [str(services.ERROR_MESSAGES["wrong_enrol_code"])]
    assert not TOTPDevice.objects.exists()
    assert not StaticToken.objects.exists()
    assert client.session[ENROL_KEY_SESSION_KEY] == key


def test_enrol_refuses_a_backup_code_shape(mail_admin):
    client = login_client(mail_admin, verified=False)

    response = client.post(ENROL, {"code": "abcdefgh"})

    assert errors_of(response) == [str(forms.EnrolCodeForm.error_messages["shape"])]
    assert not TOTPDevice.objects.exists()


def test_full_login_with_password_then_code(mail_admin, enrol):
    enrol(mail_admin)
    client = Client()

    login = client.post(reverse("login"), {"username": "mia", "password": PASSWORD})
    assert login["Location"] == reverse("overview")
    assert client.get(reverse("overview"))["Location"] == f"{VERIFY}?next=%2F"
    assert client.post(VERIFY, {"code": code_for(), "next": "/"})["Location"] == "/"
    assert client.get(reverse("overview")).status_code == 200


# --- security page ----------------------------------------------------------------------------


@pytest.mark.parametrize("persona", ["mail_admin", "domain_admin", "compliance_officer", "auditor"])
def test_security_page_shows_own_settings_only_to_non_superusers(request, persona):
    response = login_client(request.getfixturevalue(persona)).get(INDEX)

    assert response.status_code == 200
    assert b"Log out everywhere" in response.content
    assert b"Who must use two-factor login" not in response.content
    assert b"staff-table" not in response.content


def test_security_page_for_superusers_lists_staff_and_failed_logins(superadmin, mail_admin):
    services.lockout_record(username="mia", ip_address="192.0.2.7", failures=5)
    from axes.models import AccessAttempt

    AccessAttempt.objects.create(
        username="mia", ip_address="192.0.2.7", user_agent="ua", failures_since_start=5
    )

    response = login_client(superadmin).get(INDEX)

    body = response.content.decode()
    assert "Who must use two-factor login" in body
    assert "<td>mia</td>" in body
    assert "192.0.2.7" in body
    assert "Locked" in body
    assert f'action="{reverse("security:two_factor_reset", args=[superadmin.pk])}"' not in body


def test_security_page_needs_a_role(norole, client):
    assert login_client(norole).get(INDEX).status_code == 403
    assert client.get(INDEX)["Location"] == f"{reverse('login')}?next={INDEX}"


def test_policy_form_saves_for_superusers(superadmin):
    client = login_client(superadmin)
    data = {"is_required_superuser": "on", "is_required_auditor": "on"}

    response = client.post(reverse("security:policy_update"), data, follow=True)

    assert b"Two-factor policy saved." in response.content
    policy = SecurityPolicy.objects.get(pk=1)
    assert policy.is_required_auditor
    assert not policy.is_required_mail_admin


@pytest.mark.parametrize("persona", ["mail_admin", "compliance_officer", "auditor", "outsider"])
def test_superuser_actions_are_forbidden_to_others(request, persona, enrol, auditor):
    client = login_client(request.getfixturevalue(persona))
    enrol(auditor)
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username="x", ip_address="192.0.2.7", user_agent="ua", failures_since_start=5
    )

    assert client.post(reverse("security:policy_update"), {}).status_code == 403
    assert client.post(reverse("security:two_factor_reset", args=[auditor.pk])).status_code == 403
    assert client.post(reverse("security:lockout_release", args=[attempt.pk])).status_code == 403
    assert security_policy().is_required_superuser
    assert TOTPDevice.objects.filter(user=auditor, name="phone").exists()
    assert AccessAttempt.objects.filter(pk=attempt.pk).exists()


def test_reset_view_resets_and_reports(superadmin, auditor, enrol):
    enrol(auditor)
    client = login_client(superadmin)

    response = client.post(reverse("security:two_factor_reset", args=[auditor.pk]), follow=True)

    assert "Two-factor login of audrey reset; 0 session(s) ended." in response.content.decode()
    assert not TOTPDevice.objects.filter(user=auditor).exists()


def test_reset_view_shows_a_refusal(superadmin):
    client = login_client(superadmin)
    url = reverse("security:two_factor_reset", args=[superadmin.pk])

    response = client.post(url, follow=True)

    assert str(services.ERROR_MESSAGES["reset_self"]) in response.content.decode()
    assert TOTPDevice.objects.filter(user=superadmin).exists()


def test_reset_view_of_unknown_user_is_404(superadmin):
    url = reverse("security:two_factor_reset", args=[999_999])

    assert login_client(superadmin).post(url).status_code == 404


def test_unlock_view(superadmin):
    from axes.models import AccessAttempt

    attempt = AccessAttempt.objects.create(
        username="mia", ip_address="192.0.2.7", user_agent="ua", failures_since_start=5
    )

    response = login_client(superadmin).post(
        reverse("security:lockout_release", args=[attempt.pk]), follow=True
    )

    assert "Login of mia from 192.0.2.7 unlocked." in response.content.decode()
    assert not AccessAttempt.objects.exists()
    assert AuditEvent.objects.filter(action=Action.LOGIN_UNLOCKED).count() == 1


def test_regenerate_view_shows_new_codes(mail_admin, enrol):
    _, old = enrol(mail_admin)

    response = login_client(mail_admin).post(reverse("security:backup_codes_regenerate"))

    body = response.content.decode()
    new = list(StaticToken.objects.values_list("token", flat=True))
    assert len(new) == 10
    assert all(code in body for code in new)
    assert "Your previous codes no longer work." in body
    assert old[0] not in body


def test_regenerate_view_refusal_is_a_message(auditor):
    client = login_client(auditor)
    TOTPDevice.objects.filter(user=auditor).delete()

    response = client.post(reverse("security:backup_codes_regenerate"), follow=True)

    assert str(services.ERROR_MESSAGES["not_enrolled"]) in response.content.decode()
    assert not StaticToken.objects.exists()


def test_logout_everywhere_ends_every_session_of_the_user(mail_admin, auditor):
    other = login_client(mail_admin)
    client = login_client(mail_admin)
    bystander = login_client(auditor)

    response = client.post(reverse("security:sessions_revoke"), follow=True)

    assert "Logged out everywhere: 2 session(s) ended." in response.content.decode()
    assert other.get(reverse("overview"))["Location"].startswith(reverse("login"))
    assert client.get(reverse("overview"))["Location"].startswith(reverse("login"))
    assert bystander.get(reverse("overview")).status_code == 200
    remaining = [s.get_decoded().get(SESSION_KEY) for s in Session.objects.all()]
    assert str(mail_admin.pk) not in remaining


def test_enrol_post_when_already_enrolled_says_so(mail_admin):
    response = login_client(mail_admin).post(ENROL, {"code": "123456"})

    message = str(services.ERROR_MESSAGES["already_enrolled"]) % {"user": "mia"}
    assert message in response.content.decode()
    assert TOTPDevice.objects.filter(user=mail_admin).count() == 1


@pytest.mark.parametrize("target", ["2026-02-30", "overview", "//evil.example/", "javascript:x"])
def test_verify_ignores_a_next_that_is_not_a_local_path(mail_admin, enrol, target):
    enrol(mail_admin)
    client = login_client(mail_admin, verified=False)

    response = client.post(VERIFY, {"code": code_for(), "next": target})

    assert response["Location"] == reverse("overview")
