from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action, AuditEvent
from security import services
from security.models import SecurityPolicy
from security.selectors import security_policy
from tests.conftest import login_client
from tests.security.conftest import KEY, code_for

pytestmark = pytest.mark.django_db


def events(action):
    return list(AuditEvent.objects.filter(action=action).order_by("id"))


def refusal(code, **params):
    message = services.ERROR_MESSAGES[code]
    return str(message % params if params else message)


# --- policy -----------------------------------------------------------------------------------


def test_policy_defaults_require_superusers_mail_admins_and_compliance_officers():
    assert security_policy().required_by_role == {
        "superuser": True,
        "mail_admin": True,
        "domain_admin": False,
        "compliance_officer": True,
        "auditor": False,
    }


def test_policy_update_saves_and_audits_the_changes(superadmin):
    services.security_policy_update(
        actor=superadmin, required={"auditor": True, "compliance_officer": False}
    )

    policy = SecurityPolicy.objects.get(pk=1)
    assert policy.is_required_auditor
    assert not policy.is_required_compliance_officer
    (event,) = events(Action.SECURITY_POLICY_CHANGED)
    assert event.actor == superadmin
    assert event.details == {
        "changes": {
            "auditor": {"old": False, "new": True},
            "compliance_officer": {"old": True, "new": False},
        }
    }


def test_policy_update_without_a_change_records_nothing(superadmin):
    services.security_policy_update(actor=superadmin, required={"superuser": True})

    assert events(Action.SECURITY_POLICY_CHANGED) == []


def test_policy_update_refuses_non_superusers(mail_admin):
    with pytest.raises(ValidationError) as caught:
        services.security_policy_update(actor=mail_admin, required={"superuser": False})

    assert caught.value.messages == [refusal("not_superuser")]
    assert security_policy().is_required_superuser
    assert events(Action.SECURITY_POLICY_CHANGED) == []


# --- enrolment --------------------------------------------------------------------------------


def test_enrol_creates_a_confirmed_device_and_ten_backup_codes(mail_admin):
    enrolment = services.two_factor_enrol(actor=mail_admin, key=KEY, code=code_for())

    device = TOTPDevice.objects.get(user=mail_admin)
    assert device.confirmed
    assert device.key == KEY
    assert enrolment.device == device
    assert len(set(enrolment.backup_codes)) == services.BACKUP_CODE_COUNT
    stored = set(
        StaticToken.objects.filter(device__user=mail_admin).values_list("token", flat=True)
    )
    assert stored == set(enrolment.backup_codes)
    (event,) = events(Action.TWO_FACTOR_ENROLLED)
    assert event.actor == mail_admin
    assert event.details["backup_codes"] == 10


def test_enrol_accepts_the_code_of_the_previous_period(mail_admin):
    services.two_factor_enrol(actor=mail_admin, key=KEY, code=code_for(steps=-1))

    assert TOTPDevice.objects.filter(user=mail_admin, confirmed=True).exists()


def test_enrol_code_cannot_be_replayed_at_the_login_step(mail_admin):
    code = code_for()
    services.two_factor_enrol(actor=mail_admin, key=KEY, code=code)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code=code)

    assert caught.value.messages == [refusal("wrong_code")]


@pytest.mark.parametrize("bad", ["000000", "12345", "abcdefgh", "not a code"])
def test_enrol_refuses_a_wrong_code_audits_it_and_creates_nothing(mail_admin, bad):
    if bad == "000000" and code_for() == "000000":  # pragma: no cover - one chance in a million
        bad = "111111"
    with pytest.raises(ValidationError) as caught:
        services.two_factor_enrol(actor=mail_admin, key=KEY, code=bad)

    assert caught.value.messages == [refusal("wrong_enrol_code")]
    assert not TOTPDevice.objects.filter(user=mail_admin).exists()
    assert not StaticDevice.objects.filter(user=mail_admin).exists()
    (event,) = events(Action.TWO_FACTOR_FAILED)
    assert event.details == {"stage": "enrolment"}


def test_enrol_refuses_a_user_who_is_already_enrolled(mail_admin, enrol):
    enrol(mail_admin)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_enrol(actor=mail_admin, key=KEY, code=code_for())

    assert caught.value.messages == [refusal("already_enrolled", user="mia")]
    assert TOTPDevice.objects.filter(user=mail_admin).count() == 1
    assert events(Action.TWO_FACTOR_ENROLLED) == []


# --- verification -----------------------------------------------------------------------------


def test_verify_accepts_the_current_code(mail_admin, enrol):
    device, _ = enrol(mail_admin)

    assert services.two_factor_verify(actor=mail_admin, code=code_for()) == device
    assert events(Action.TWO_FACTOR_FAILED) == []


def test_verify_accepts_a_backup_code_once_and_audits_its_use(mail_admin, enrol):
    enrol(mail_admin)

    device = services.two_factor_verify(actor=mail_admin, code="ABCD-EFGH")

    assert isinstance(device, StaticDevice)
    assert list(StaticToken.objects.values_list("token", flat=True)) == ["bcdefghi"]
    (event,) = events(Action.BACKUP_CODE_USED)
    assert event.details == {"backup_codes_left": 1}
    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code="abcdefgh")
    assert caught.value.messages == [refusal("wrong_code")]


def test_verify_refuses_a_wrong_code_and_audits_it(mail_admin, enrol):
    enrol(mail_admin)
    wrong = code_for(steps=5)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code=wrong)

    assert caught.value.messages == [refusal("wrong_code")]
    (event,) = events(Action.TWO_FACTOR_FAILED)
    assert event.details == {"stage": "login", "reason": "wrong", "kind": "totp"}
    assert TOTPDevice.objects.get(user=mail_admin).throttling_failure_count == 1


def test_verify_refuses_a_code_of_no_known_shape(mail_admin, enrol):
    enrol(mail_admin)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code="hello")

    assert caught.value.messages == [refusal("code_shape")]
    assert events(Action.TWO_FACTOR_FAILED)[0].details == {"stage": "login", "reason": "shape"}


def test_verify_is_throttled_right_after_a_failure(mail_admin, enrol):
    enrol(mail_admin)
    with pytest.raises(ValidationError):
        services.two_factor_verify(actor=mail_admin, code=code_for(steps=5))

    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code=code_for())

    assert caught.value.messages == [refusal("throttled", count=1, seconds=1)]
    assert [e.details.get("reason") for e in events(Action.TWO_FACTOR_FAILED)] == [
        "wrong",
        "throttled",
    ]


def test_verify_refuses_a_user_without_devices(mail_admin):
    with pytest.raises(ValidationError) as caught:
        services.two_factor_verify(actor=mail_admin, code="123456")

    assert caught.value.messages == [refusal("wrong_code")]


# --- backup codes, reset, sessions ------------------------------------------------------------


def test_regenerate_replaces_every_backup_code(mail_admin, enrol):
    _, old = enrol(mail_admin)

    codes = services.backup_codes_regenerate(actor=mail_admin)

    stored = set(
        StaticToken.objects.filter(device__user=mail_admin).values_list("token", flat=True)
    )
    assert stored == set(codes)
    assert not stored & set(old)
    assert len(events(Action.BACKUP_CODES_REGENERATED)) == 1


def test_regenerate_refuses_a_user_without_authenticator(mail_admin):
    with pytest.raises(ValidationError) as caught:
        services.backup_codes_regenerate(actor=mail_admin)

    assert caught.value.messages == [refusal("not_enrolled")]
    assert not StaticToken.objects.exists()


def test_reset_removes_devices_and_sessions_of_the_user_and_audits(superadmin, mail_admin, enrol):
    enrol(mail_admin)
    login_client(mail_admin)
    login_client(mail_admin)
    other = login_client(superadmin)

    ended = services.two_factor_reset(actor=superadmin, user=mail_admin)

    assert ended == 2
    assert not TOTPDevice.objects.filter(user=mail_admin).exists()
    assert not StaticDevice.objects.filter(user=mail_admin).exists()
    assert Session.objects.filter(pk=other.session.session_key).exists()
    (event,) = events(Action.TWO_FACTOR_RESET)
    assert (event.actor, event.target_id, event.details) == (
        superadmin,
        str(mail_admin.pk),
        {"sessions_ended": 2},
    )


def test_reset_refuses_non_superusers(mail_admin, compliance_officer, enrol):
    enrol(compliance_officer)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_reset(actor=mail_admin, user=compliance_officer)

    assert caught.value.messages == [refusal("not_superuser")]
    assert TOTPDevice.objects.filter(user=compliance_officer).exists()


def test_reset_refuses_the_superusers_own_devices(superadmin, enrol):
    enrol(superadmin)

    with pytest.raises(ValidationError) as caught:
        services.two_factor_reset(actor=superadmin, user=superadmin)

    assert caught.value.messages == [refusal("reset_self")]
    assert TOTPDevice.objects.filter(user=superadmin).exists()


def test_reset_refuses_a_user_without_devices(superadmin, auditor):
    with pytest.raises(ValidationError) as caught:
        services.two_factor_reset(actor=superadmin, user=auditor)

    assert caught.value.messages == [refusal("nothing_to_reset", user="audrey")]
    assert events(Action.TWO_FACTOR_RESET) == []


def test_logout_everywhere_ends_only_the_actors_sessions(mail_admin, auditor):
    mine = [login_client(mail_admin), login_client(mail_admin)]
    theirs = login_client(auditor)

    assert services.sessions_revoke_all(actor=mail_admin) == 2

    keys = set(Session.objects.values_list("session_key", flat=True))
    assert theirs.session.session_key in keys
    assert not {c.cookies["sessionid"].value for c in mine} & keys
    (event,) = events(Action.SESSIONS_REVOKED)
    assert event.details == {"sessions": 2}


# --- lockouts ---------------------------------------------------------------------------------


def test_lockout_record_audits_the_username_and_address(mail_admin):
    services.lockout_record(username="mia", ip_address="192.0.2.7", failures=5)

    (event,) = events(Action.LOGIN_LOCKED_OUT)
    assert event.actor is None
    assert event.target_id == str(mail_admin.pk)
    assert event.details == {"username": "mia", "ip_address": "192.0.2.7", "failures": 5}


def test_lockout_record_of_an_unknown_username(db):
    services.lockout_record(username="ghost", ip_address="192.0.2.7", failures=5)

    (event,) = events(Action.LOGIN_LOCKED_OUT)
    assert (event.target_id, event.target_repr) == ("", "ghost")


def _attempt(username="mia", ip="192.0.2.7", failures=5):
    return AccessAttempt.objects.create(
        username=username, ip_address=ip, user_agent="ua", failures_since_start=failures
    )


def test_lockout_release_clears_that_counter_and_audits(superadmin):
    attempt = _attempt()
    kept = _attempt(username="other")

    services.lockout_release(actor=superadmin, attempt=attempt)

    assert list(AccessAttempt.objects.all()) == [kept]
    (event,) = events(Action.LOGIN_UNLOCKED)
    assert event.details == {"username": "mia", "ip_address": "192.0.2.7", "failures": 5}


def test_lockout_release_refuses_non_superusers(mail_admin):
    attempt = _attempt()

    with pytest.raises(ValidationError) as caught:
        services.lockout_release(actor=mail_admin, attempt=attempt)

    assert caught.value.messages == [refusal("not_superuser")]
    assert AccessAttempt.objects.count() == 1
    assert events(Action.LOGIN_UNLOCKED) == []
