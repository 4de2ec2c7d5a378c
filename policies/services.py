"""Every write to protocol policy: audited, atomic, refusing with plain words.

Each service takes the `actor` (a user, or None for the system), checks that the actor may make
the change, validates, saves and records an audit event in the same transaction. Refusals are
`ValidationError(message, code=...)` with the messages in ERROR_MESSAGES; nothing is saved then.
A call that changes nothing saves nothing and records nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain, Mailbox
from audit.models import Action
from audit.services import audit_record, changes
from mailadmin.lib.auth import ORG_EDITORS, has_role
from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception, TlsVersion
from policies.networks import parse_networks
from policies.rules import format_moment
from policies.selectors import org_policy

MIN_REASON_LENGTH = 10
# A start this far in the past still counts as "now" (the form was filled in a moment ago).
START_GRACE = timedelta(minutes=1)
REMINDER_LEAD = timedelta(days=7)
POP3_MAX_DAYS_RANGE = (1, 366)

ERROR_MESSAGES = {
    "not_allowed_org": _(
        "Only superusers and mail administrators may change the organisation policy."
    ),
    "not_allowed_domain": _("You may not change the policy of %(target)s."),
    "tls_version": _(
        "“%(value)s” is not a minimum TLS version we offer. Choose TLS 1.2 or TLS 1.3."
    ),
    "max_days_range": _(
        "The longest POP3 exception must be between %(low)s and %(high)s days; %(value)s is not."
    ),
    "reason_required": _("Give a reason for the POP3 exception: who needs POP3 and why."),
    "reason_too_short": _(
        "Write a reason of at least %(min)s characters that says why POP3 is needed; "
        "“%(reason)s” is too short."
    ),
    "expiry_required": _("Choose when the exception expires; POP3 exceptions always expire."),
    "start_in_past": _(
        "The exception cannot start in the past (%(start)s). Leave the start empty to start now."
    ),
    "expiry_before_start": _("The expiry (%(expiry)s) must be after the start (%(start)s)."),
    "too_long": _(
        "POP3 exceptions may last at most %(days)s days; choose an expiry on or before %(latest)s."
    ),
    "approver_required": _(
        "Choose who approved the exception: a superuser or a mail administrator."
    ),
    "approver_not_allowed": _(
        "%(approver)s cannot approve POP3 exceptions; choose a superuser or a mail administrator."
    ),
    "approver_is_mailbox": _(
        "%(approver)s owns %(mailbox)s and cannot approve an exception for their own mailbox; "
        "choose another approver."
    ),
    "already_active": _(
        "%(mailbox)s already has a POP3 exception until %(expiry)s. Revoke it before granting "
        "another."
    ),
    "revoke_reason_required": _("Give a reason for revoking the POP3 exception."),
    "already_revoked": _("This POP3 exception was already revoked on %(when)s by %(who)s."),
    "already_expired": _("This POP3 exception already expired on %(when)s; nothing to revoke."),
}


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(ERROR_MESSAGES[code], code=code, params=params or None)


def _user_name(user: Any) -> str:
    if user is None:
        return "system"
    return str(user.get_full_name() or user.get_username())


def _require_domain_editor(actor: Any, domain: Domain, target: object) -> None:
    if actor is None:
        return
    if not Domain.objects.editable_by(actor).filter(pk=domain.pk).exists():
        raise _refuse("not_allowed_domain", target=target)


def org_policy_update(
    *, actor: Any, imap_enabled: bool, min_tls_version: str, pop3_max_exception_days: int
) -> OrgPolicy:
    """Change the organisation defaults. TLS stays required: only its minimum version changes.

    Refuses actors who are not superusers or mail administrators, an unknown TLS version and a
    maximum outside 1-366 days. Existing exceptions keep their expiry.
    """
    if actor is not None and not has_role(actor, ORG_EDITORS):
        raise _refuse("not_allowed_org")
    if min_tls_version not in TlsVersion.values:
        raise _refuse("tls_version", value=min_tls_version)
    low, high = POP3_MAX_DAYS_RANGE
    if not low <= pop3_max_exception_days <= high:
        raise _refuse("max_days_range", low=low, high=high, value=pop3_max_exception_days)
    with transaction.atomic():
        org_policy()
        policy = OrgPolicy.objects.select_for_update().get(pk=1)
        before = _org_values(policy)
        policy.imap_enabled = imap_enabled
        policy.min_tls_version = min_tls_version
        policy.pop3_max_exception_days = pop3_max_exception_days
        diff = changes(before, _org_values(policy))
        if not diff:
            return policy
        policy.full_clean()
        policy.save(update_fields=[*diff, "updated_at"])
        audit_record(
            actor=actor, action=Action.ORG_POLICY_CHANGED, target=policy, details={"changes": diff}
        )
    return policy


def _org_values(policy: OrgPolicy) -> dict[str, Any]:
    return {
        "imap_enabled": policy.imap_enabled,
        "min_tls_version": policy.min_tls_version,
        "pop3_max_exception_days": policy.pop3_max_exception_days,
    }


def domain_policy_set(*, actor: Any, domain: Domain, imap_enabled: bool | None) -> DomainPolicy:
    """Turn IMAP on or off for a whole domain, or (None) inherit the organisation default.

    Refuses actors who may not edit the domain (domain administrators of other domains).
    """
    _require_domain_editor(actor, domain, domain)
    with transaction.atomic():
        policy, _created = DomainPolicy.objects.select_for_update().get_or_create(domain=domain)
        before = {"imap_enabled": policy.imap_enabled}
        policy.imap_enabled = imap_enabled
        diff = changes(before, {"imap_enabled": imap_enabled})
        if not diff:
            return policy
        policy.full_clean()
        policy.save(update_fields=["imap_enabled", "updated_at"])
        audit_record(
            actor=actor,
            action=Action.DOMAIN_POLICY_CHANGED,
            target=domain,
            details={"changes": diff},
        )
    return policy


def mailbox_policy_set(*, actor: Any, mailbox: Mailbox, imap_enabled: bool | None) -> MailboxPolicy:
    """Turn IMAP on or off for one mailbox, or (None) inherit the domain's setting."""
    _require_domain_editor(actor, mailbox.domain, mailbox)
    return _mailbox_policy_change(
        actor=actor,
        mailbox=mailbox,
        field="imap_enabled",
        value=imap_enabled,
        action=Action.MAILBOX_POLICY_CHANGED,
    )


def mailbox_networks_set(*, actor: Any, mailbox: Mailbox, networks: list[str]) -> MailboxPolicy:
    """Allow logins only from these networks (normalised CIDRs); an empty list allows any.

    Refuses bad entries with one message per entry (see policies.networks).
    """
    _require_domain_editor(actor, mailbox.domain, mailbox)
    return _mailbox_policy_change(
        actor=actor,
        mailbox=mailbox,
        field="allowed_networks",
        value=",".join(parse_networks(networks)),
        action=Action.MAILBOX_NETWORKS_CHANGED,
    )


def _mailbox_policy_change(
    *, actor: Any, mailbox: Mailbox, field: str, value: Any, action: Action
) -> MailboxPolicy:
    """Set one field of the mailbox's policy row (created on first use); audited, and a no-op
    (no save, no event) when the value does not change."""
    with transaction.atomic():
        policy, _created = MailboxPolicy.objects.select_for_update().get_or_create(mailbox=mailbox)
        diff = changes({field: getattr(policy, field)}, {field: value})
        if not diff:
            return policy
        setattr(policy, field, value)
        policy.full_clean()
        policy.save(update_fields=[field, "updated_at"])
        audit_record(actor=actor, action=action, target=mailbox, details={"changes": diff})
    return policy


def pop3_exception_grant(
    *,
    actor: Any,
    mailbox: Mailbox,
    reason: str,
    approver: User | None,
    expires_at: datetime | None,
    starts_at: datetime | None = None,
    now: datetime | None = None,
) -> Pop3Exception:
    """Allow POP3 for one mailbox from `starts_at` (default: now) until `expires_at`.

    Refuses: a blank or short reason; no expiry; a start in the past; an expiry not after the
    start or past the organisation maximum; an approver who is not a superuser or mail
    administrator, or who owns the mailbox; a mailbox that already has an exception overlapping
    this one (its expiry is named).
    """
    now = now or timezone.now()
    starts_at = starts_at or now
    reason = (reason or "").strip()
    _require_domain_editor(actor, mailbox.domain, mailbox)
    _check_reason(reason)
    if expires_at is None:
        raise _refuse("expiry_required")
    if starts_at < now - START_GRACE:
        raise _refuse("start_in_past", start=format_moment(starts_at))
    if expires_at <= starts_at:
        raise _refuse(
            "expiry_before_start", expiry=format_moment(expires_at), start=format_moment(starts_at)
        )
    approver = _check_approver(approver, mailbox)
    with transaction.atomic():
        # Serialise grants per mailbox so two admins cannot both pass the overlap check.
        Mailbox.objects.select_for_update().filter(pk=mailbox.pk).first()
        max_days = org_policy().pop3_max_exception_days
        latest = starts_at + timedelta(days=max_days)
        if expires_at > latest:
            raise _refuse("too_long", days=max_days, latest=f"{latest.astimezone(UTC):%Y-%m-%d}")
        _check_no_overlap(mailbox, starts_at, expires_at)
        exception = Pop3Exception(
            mailbox=mailbox,
            reason=reason,
            approver=approver,
            granted_by=actor,
            starts_at=starts_at,
            expires_at=expires_at,
        )
        exception.full_clean()
        exception.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.POP3_EXCEPTION_GRANTED,
            target=mailbox,
            details={
                "exception_id": exception.pk,
                "reason": reason,
                "approver": approver.get_username(),
                "starts_at": starts_at.isoformat(),
                "expires_at": expires_at.isoformat(),
            },
        )
    return exception


def _check_reason(reason: str) -> None:
    if not reason:
        raise _refuse("reason_required")
    if len(reason) < MIN_REASON_LENGTH:
        raise _refuse("reason_too_short", min=MIN_REASON_LENGTH, reason=reason)


def _check_approver(approver: User | None, mailbox: Mailbox) -> User:
    if approver is None:
        raise _refuse("approver_required")
    if not approver.is_active or not has_role(approver, ORG_EDITORS):
        raise _refuse("approver_not_allowed", approver=_user_name(approver))
    if approver.email and approver.email.strip().lower() == mailbox.address.lower():
        raise _refuse("approver_is_mailbox", approver=_user_name(approver), mailbox=mailbox)
    return approver


def _check_no_overlap(mailbox: Mailbox, starts_at: datetime, expires_at: datetime) -> None:
    clash = (
        Pop3Exception.objects.filter(
            mailbox=mailbox,
            revoked_at__isnull=True,
            expires_at__gt=starts_at,
            starts_at__lt=expires_at,
        )
        .order_by("-expires_at")
        .first()
    )
    if clash is not None:
        raise _refuse("already_active", mailbox=mailbox, expiry=format_moment(clash.expires_at))


def pop3_exception_revoke(
    *, actor: Any, exception: Pop3Exception, reason: str, now: datetime | None = None
) -> Pop3Exception:
    """End an exception now (POP3 stops at the next login). Refuses a blank reason and an
    exception that is already revoked or expired."""
    now = now or timezone.now()
    reason = (reason or "").strip()
    _require_domain_editor(actor, exception.mailbox.domain, exception.mailbox)
    if not reason:
        raise _refuse("revoke_reason_required")
    with transaction.atomic():
        row = (
            Pop3Exception.objects.select_for_update(of=("self",))
            .select_related("revoked_by")
            .get(pk=exception.pk)
        )
        pop3_exception_check_revocable(exception=row, now=now)
        row.revoked_at = now
        row.revoked_by = actor
        row.revoke_reason = reason
        row.full_clean()
        row.save(update_fields=["revoked_at", "revoked_by", "revoke_reason"])
        audit_record(
            actor=actor,
            action=Action.POP3_EXCEPTION_REVOKED,
            target=exception.mailbox,
            details={
                "exception_id": row.pk,
                "reason": reason,
                "expires_at": row.expires_at.isoformat(),
            },
        )
    exception.refresh_from_db()
    return exception


def pop3_exception_check_revocable(
    *, exception: Pop3Exception, now: datetime | None = None
) -> None:
    """Refuse, whatever reason is given, an exception that is already revoked or expired. The
    revoke view asks first, so a second revocation says so instead of asking for a reason."""
    now = now or timezone.now()
    if exception.revoked_at is not None:
        raise _refuse(
            "already_revoked",
            when=format_moment(exception.revoked_at),
            who=_user_name(exception.revoked_by),
        )
    if exception.expires_at <= now:
        raise _refuse("already_expired", when=format_moment(exception.expires_at))


def pop3_exception_send_reminders(*, now: datetime) -> int:
    """E-mail the approver and the granting admin of every exception that expires within a week,
    once per exception (`reminder_sent_at`), audited as the system. Returns how many were sent.

    Each exception is reminded in its own transaction, the mail sent before the commit: a
    failed send leaves it unmarked for the next run (at least once, never silently dropped).
    """
    due = Pop3Exception.objects.filter(
        revoked_at__isnull=True,
        reminder_sent_at__isnull=True,
        expires_at__gt=now,
        expires_at__lte=now + REMINDER_LEAD,
    ).values_list("pk", flat=True)
    return sum(_remind_one(pk, now=now) for pk in list(due))


def _remind_one(pk: int, *, now: datetime) -> int:
    with transaction.atomic():
        row = (
            Pop3Exception.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("mailbox", "approver", "granted_by")
            .filter(pk=pk, reminder_sent_at__isnull=True, revoked_at__isnull=True)
            .first()
        )
        if row is None:
            return 0
        recipients = sorted({u.email for u in (row.approver, row.granted_by) if u.email})
        if recipients:
            send_mail(
                subject=f"POP3 exception for {row.mailbox} expires on {format_moment(row.expires_at)}",
                message=_reminder_text(row, now=now),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=recipients,
            )
        row.reminder_sent_at = now
        row.save(update_fields=["reminder_sent_at"])
        audit_record(
            actor=None,
            action=Action.POP3_EXCEPTION_REMINDED,
            target=row.mailbox,
            details={"exception_id": row.pk, "recipients": recipients},
        )
    return 1


def _reminder_text(row: Pop3Exception, *, now: datetime) -> str:
    days = max(0, (row.expires_at - now).days)
    return (
        f"The POP3 exception for {row.mailbox} expires on {format_moment(row.expires_at)} "
        f"(in {days} day{'s' if days != 1 else ''}).\n\n"
        f"Reason: {row.reason}\n"
        f"Approved by: {_user_name(row.approver)}\n"
        f"Granted by: {_user_name(row.granted_by)}\n\n"
        "After the expiry, POP3 logins for this mailbox are refused. If POP3 is still needed, "
        "grant a new exception after this one ends, or revoke it and grant a new one now.\n"
    )
