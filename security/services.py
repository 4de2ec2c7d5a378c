"""Every write of dashboard security: two-factor devices, the policy, lockouts and sessions.

Each service takes the `actor`, checks that the actor may act, writes and records an audit
event in one transaction. Refusals are `ValidationError(message, code=...)` with the messages in
ERROR_MESSAGES; nothing is saved then, except the audit record of a refused code: failures are
evidence, so they are committed before the refusal is raised.
"""

from __future__ import annotations

from binascii import unhexlify
from dataclasses import dataclass
from typing import Any

from axes.models import AccessAttempt
from axes.utils import reset as axes_reset
from django.contrib.auth.models import User
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, VerifyNotAllowed
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from audit.models import Action
from audit.services import audit_record, changes
from security.models import REQUIREMENT_FIELDS, SecurityPolicy
from security.rules import code_kind, normalise_code
from security.selectors import has_two_factor, security_policy

BACKUP_CODE_COUNT = 10
# Codes from one step before or after are accepted: phone clocks drift.
TOTP_TOLERANCE = 1

ERROR_MESSAGES = {
    "not_superuser": _("Only superusers may do this."),
    "code_shape": _(
        "Enter the 6-digit code from your authenticator app, or one of your 8-character "
        "backup codes."
    ),
    "wrong_code": _(
        "That code is not right. Enter the code your authenticator app shows now (it changes "
        "every 30 seconds), or an unused backup code."
    ),
    "wrong_enrol_code": _(
        "That code does not match the key you scanned. Check the time on your phone and enter "
        "the code your app shows now."
    ),
    "throttled": _(
        "Too many wrong codes in a row (%(count)s). Wait %(seconds)s seconds and try again."
    ),
    "already_enrolled": _(
        "Two-factor login is already set up for %(user)s. A superuser can reset it if the "
        "device is lost."
    ),
    "not_enrolled": _("Set up two-factor login first; backup codes belong to an authenticator."),
    "nothing_to_reset": _("%(user)s has no two-factor device to reset."),
    "reset_self": _(
        "You cannot reset your own two-factor login. Ask another superuser, or replace your "
        "backup codes if you still have your device."
    ),
}


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(ERROR_MESSAGES[code], code=code, params=params or None)


def _require_superuser(actor: Any) -> None:
    if not getattr(actor, "is_superuser", False):
        raise _refuse("not_superuser")


# --- the policy -------------------------------------------------------------------------------


def security_policy_update(*, actor: Any, required: dict[str, bool]) -> SecurityPolicy:
    """Set which roles must use two-factor login ({"superuser": True, "auditor": False, ...}).

    Superusers only. Roles not in `required` keep their setting. Users already signed in are
    asked for enrolment at their next request.
    """
    _require_superuser(actor)
    with transaction.atomic():
        security_policy()
        policy = SecurityPolicy.objects.select_for_update().get(pk=1)
        before = policy.required_by_role
        for role, value in required.items():
            setattr(policy, REQUIREMENT_FIELDS[role], bool(value))
        diff = changes(before, policy.required_by_role)
        if not diff:
            return policy
        policy.save(update_fields=[REQUIREMENT_FIELDS[role] for role in diff] + ["updated_at"])
        audit_record(
            actor=actor,
            action=Action.SECURITY_POLICY_CHANGED,
            target=policy,
            details={"changes": diff},
        )
    return policy


# --- enrolment and verification ---------------------------------------------------------------


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    backup_codes: list[str]


def two_factor_enrol(*, actor: User, key: str, code: str) -> Enrolment:
    """Confirm the authenticator the actor scanned (hex `key`) with a code it shows now.

    Creates the confirmed TOTP device and BACKUP_CODE_COUNT one-time backup codes, returned
    once (they are not shown again). Refuses a user who is already enrolled and a wrong code
    (audited).
    """
    if has_two_factor(actor):
        raise _refuse("already_enrolled", user=actor.get_username())
    normalised = normalise_code(code)
    totp = TOTP(unhexlify(key.encode()))
    if code_kind(normalised) != "totp" or not totp.verify(
        int(normalised), tolerance=TOTP_TOLERANCE
    ):
        _record_failure(actor, stage="enrolment")
        raise _refuse("wrong_enrol_code")
    with transaction.atomic():
        # last_t: the code just used cannot be replayed at the login step.
        device = TOTPDevice.objects.create(
            user=actor, name="Authenticator app", key=key, confirmed=True, last_t=totp.t()
        )
        codes = _replace_backup_codes(actor)
        audit_record(
            actor=actor,
            action=Action.TWO_FACTOR_ENROLLED,
            target=actor,
            details={"device": device.name, "backup_codes": len(codes)},
        )
    return Enrolment(device=device, backup_codes=codes)


def two_factor_verify(*, actor: User, code: str) -> Device:
    """The device that accepts `code` (an authenticator code or a backup code, used up).

    Refuses a code of neither shape, a wrong code and a device that is throttled after
    repeated failures (django-otp doubles the wait after each one); every refusal is audited.
    """
    normalised = normalise_code(code)
    kind = code_kind(normalised)
    if kind is None:
        _record_failure(actor, stage="login", reason="shape")
        raise _refuse("code_shape")
    model: type[TOTPDevice] | type[StaticDevice] = TOTPDevice if kind == "totp" else StaticDevice
    with transaction.atomic():
        devices = list(model.objects.filter(user=actor, confirmed=True).select_for_update())
        throttled = _throttled(devices)
        matched = None
        if throttled is None:
            matched = next((d for d in devices if d.verify_token(normalised)), None)
        if matched is not None and kind == "backup":
            audit_record(
                actor=actor,
                action=Action.BACKUP_CODE_USED,
                target=actor,
                details={"backup_codes_left": StaticToken.objects.filter(device=matched).count()},
            )
    if throttled is not None:
        _record_failure(actor, stage="login", reason="throttled")
        raise _refuse("throttled", count=throttled[0], seconds=throttled[1])
    if matched is None:
        _record_failure(actor, stage="login", reason="wrong", kind=kind)
        raise _refuse("wrong_code")
    return matched


def _throttled(devices: list[Any]) -> tuple[int, int] | None:
    """(failures, seconds to wait) of the first throttled device, or None."""
    for device in devices:
        allowed, data = device.verify_is_allowed()
        if not allowed and data and data.get("reason") == VerifyNotAllowed.N_FAILED_ATTEMPTS:
            wait = (data["locked_until"] - timezone.now()).total_seconds()
            return int(data["failure_count"]), max(1, round(wait))
    return None


def _record_failure(actor: User, **details: Any) -> None:
    """Audit a refused code in its own committed transaction (the refusal follows)."""
    with transaction.atomic():
        audit_record(actor=actor, action=Action.TWO_FACTOR_FAILED, target=actor, details=details)


def backup_codes_regenerate(*, actor: User) -> list[str]:
    """New backup codes for the actor; the old ones stop working. Refuses without a device."""
    if not has_two_factor(actor):
        raise _refuse("not_enrolled")
    with transaction.atomic():
        codes = _replace_backup_codes(actor)
        audit_record(
            actor=actor,
            action=Action.BACKUP_CODES_REGENERATED,
            target=actor,
            details={"backup_codes": len(codes)},
        )
    return codes


def _replace_backup_codes(user: User) -> list[str]:
    device, _ = StaticDevice.objects.get_or_create(
        user=user, name="Backup codes", defaults={"confirmed": True}
    )
    device.token_set.all().delete()
    codes = [StaticToken.random_token() for _ in range(BACKUP_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=c) for c in codes])
    return codes


def two_factor_reset(*, actor: Any, user: User) -> int:
    """Remove another user's devices and end their sessions; returns the sessions ended.

    Superusers only, never on themselves. The user sets up a new device at their next login
    (when their role requires one).
    """
    _require_superuser(actor)
    if actor.pk == user.pk:
        raise _refuse("reset_self")
    with transaction.atomic():
        totp, _ = TOTPDevice.objects.filter(user=user).delete()
        static = StaticDevice.objects.filter(user=user).count()
        if not totp and not static:
            raise _refuse("nothing_to_reset", user=user.get_username())
        StaticDevice.objects.filter(user=user).delete()
        ended = _end_sessions(user)
        audit_record(
            actor=actor,
            action=Action.TWO_FACTOR_RESET,
            target=user,
            details={"sessions_ended": ended},
        )
    return ended


# --- sessions and lockouts --------------------------------------------------------------------


def sessions_revoke_all(*, actor: User) -> int:
    """ "Log out everywhere": end every session of the actor, this one included."""
    with transaction.atomic():
        ended = _end_sessions(actor)
        audit_record(
            actor=actor, action=Action.SESSIONS_REVOKED, target=actor, details={"sessions": ended}
        )
    return ended


def _end_sessions(user: User) -> int:
    """Delete the user's rows from the session table.

    Sessions are signed blobs keyed by a random id, so finding one user's means decoding the
    unexpired ones: a dashboard has tens of sessions, and this runs on a rare click.
    """
    mine = [
        session.pk
        for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator()
        if session.get_decoded().get("_auth_user_id") == str(user.pk)
    ]
    Session.objects.filter(pk__in=mine).delete()
    return len(mine)


def lockout_record(*, username: str, ip_address: str | None, failures: int) -> None:
    """Audit a lockout django-axes just applied (called from its signal, as "system")."""
    target = User.objects.filter(username=username).first()
    with transaction.atomic():
        audit_record(
            actor=None,
            action=Action.LOGIN_LOCKED_OUT,
            target=target,
            target_repr=username,
            details={"username": username, "ip_address": ip_address, "failures": failures},
        )


def lockout_release(*, actor: Any, attempt: AccessAttempt) -> int:
    """Clear the failed-login counter of one username and address (superusers only)."""
    _require_superuser(actor)
    username, ip_address = attempt.username, attempt.ip_address
    with transaction.atomic():
        cleared = axes_reset(ip=ip_address, username=username)
        audit_record(
            actor=actor,
            action=Action.LOGIN_UNLOCKED,
            target_repr=username or "",
            details={
                "username": username,
                "ip_address": ip_address,
                "failures": attempt.failures_since_start,
            },
        )
    return int(cleared)
