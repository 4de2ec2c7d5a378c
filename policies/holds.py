"""Legal holds: every write (place, custodians, release) and the mail server's side of them.

Only compliance officers and superusers place, change or release holds. Each write is atomic,
audited with the matter in the details (the audit page filters by it) and refuses with
`ValidationError(HOLD_ERRORS[code], code=...)`, saving nothing. Placing a hold or adding a
custodian enqueues, after commit, one task per custodian mailbox that pre-creates the
preservation folder and kicks open sessions (`enforcement_apply`, run by a worker on the mail
host); until it succeeds the mailbox shows "pending". Dovecot reads the hold itself from the view
at every login (on_hold, lazy_expunge, autoexpunge 0).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain, Mailbox
from audit.models import Action
from audit.services import audit_record
from mailadmin.lib.auth import HOLD_EDITORS, has_role
from policies.models import CustodianKind, HoldCustodian, HoldEnforcement, LegalHold

HOLD_ERRORS = {
    "not_allowed": _("Only compliance officers and superusers may place, change or release holds."),
    "matter_required": _("Name the matter this hold preserves mail for."),
    "reference_required": _("Give the matter's reference (case or ticket number)."),
    "reason_required": _("Give a reason for the hold: why this mail must be preserved."),
    "custodians_required": _(
        "Choose at least one custodian: a mailbox or a whole domain whose mail must be preserved."
    ),
    "ends_before_start": _("The end date (%(ends)s) is before the start date (%(starts)s)."),
    "already_released": _(
        "The hold for %(matter)s was already released on %(when)s; place a new hold instead."
    ),
    "already_custodian": _("%(name)s is already a custodian of the hold for %(matter)s."),
    "custodian_reason_required": _("Give a reason for adding or removing this custodian."),
    "custodian_removed": _("%(name)s was already removed from the hold on %(when)s."),
    "release_reason_required": _("Give a reason for releasing the hold."),
    "mailbox_on_hold": _(
        "%(mailbox)s is on legal hold for %(matters)s and cannot be deleted. A compliance "
        "officer must release the hold or remove the custodian first; suspending it is allowed."
    ),
    "domain_on_hold": _(
        "%(domain)s is on legal hold for %(matters)s and cannot be deleted. A compliance officer "
        "must release the hold or remove the custodians first."
    ),
}


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(HOLD_ERRORS[code], code=code, params=params or None)


def _require_editor(actor: Any) -> None:
    if actor is not None and not has_role(actor, HOLD_EDITORS):
        raise _refuse("not_allowed")


def _when(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d %H:%M} UTC"


def matter_details(hold: LegalHold, **extra: Any) -> dict[str, Any]:
    """The audit details every hold event carries (the audit page filters on `matter`)."""
    return {
        "hold_id": hold.pk,
        "matter": hold.matter_name,
        "matter_reference": hold.matter_reference,
        **extra,
    }


# --- Placing, custodians, release -------------------------------------------------------------


def hold_place(
    *,
    actor: Any,
    matter_name: str,
    matter_reference: str,
    reason: str,
    mailboxes: Iterable[Mailbox] = (),
    domains: Iterable[Domain] = (),
    description: str = "",
    starts_on: date | None = None,
    ends_on: date | None = None,
    now: datetime | None = None,
) -> LegalHold:
    """Place a hold on mailboxes and/or whole domains (a domain covers later mailboxes too).

    Refuses: an actor who is not a compliance officer or superuser; a blank matter name,
    reference or reason; no custodian; an end date before the start.
    """
    now = now or timezone.now()
    _require_editor(actor)
    matter_name, matter_reference = matter_name.strip(), matter_reference.strip()
    reason = reason.strip()
    if not matter_name:
        raise _refuse("matter_required")
    if not matter_reference:
        raise _refuse("reference_required")
    if not reason:
        raise _refuse("reason_required")
    mailbox_list = list({m.pk: m for m in mailboxes}.values())
    domain_list = list({d.pk: d for d in domains}.values())
    if not mailbox_list and not domain_list:
        raise _refuse("custodians_required")
    starts_on = starts_on or now.date()
    if ends_on is not None and ends_on < starts_on:
        raise _refuse("ends_before_start", ends=ends_on.isoformat(), starts=starts_on.isoformat())
    with transaction.atomic():
        hold = LegalHold(
            matter_name=matter_name,
            matter_reference=matter_reference,
            description=description.strip(),
            reason=reason,
            starts_on=starts_on,
            ends_on=ends_on,
            placed_by=actor,
            placed_at=now,
        )
        hold.full_clean()
        hold.save(force_insert=True)
        custodians = [
            *(_new_custodian(hold, actor, reason, now, mailbox=m) for m in mailbox_list),
            *(_new_custodian(hold, actor, reason, now, domain=d) for d in domain_list),
        ]
        pending = [e for c in custodians for e in _new_enforcements(c, now)]
        audit_record(
            actor=actor,
            action=Action.HOLD_PLACED,
            target=hold,
            details=matter_details(
                hold,
                reason=reason,
                custodians=[c.name for c in custodians],
                starts_on=starts_on.isoformat(),
                ends_on=ends_on.isoformat() if ends_on else None,
            ),
        )
        _enqueue(pending)
    return hold


def hold_custodian_add(
    *,
    actor: Any,
    hold: LegalHold,
    reason: str,
    mailbox: Mailbox | None = None,
    domain: Domain | None = None,
    now: datetime | None = None,
) -> HoldCustodian:
    """Add a mailbox or a whole domain to an active hold. Refuses a released hold, a blank
    reason and a mailbox or domain that is already a current custodian of this hold."""
    now = now or timezone.now()
    _require_editor(actor)
    reason = reason.strip()
    if not reason:
        raise _refuse("custodian_reason_required")
    if (mailbox is None) == (domain is None):
        raise _refuse("custodians_required")
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        _require_active(locked)
        current = locked.custodians.filter(removed_at__isnull=True)
        clash = current.filter(mailbox=mailbox) if mailbox else current.filter(domain=domain)
        if clash.exists():
            name = mailbox.address if mailbox else domain.name  # type: ignore[union-attr]
            raise _refuse("already_custodian", name=name, matter=locked.matter_name)
        custodian = _new_custodian(locked, actor, reason, now, mailbox=mailbox, domain=domain)
        pending = _new_enforcements(custodian, now)
        audit_record(
            actor=actor,
            action=Action.HOLD_CUSTODIAN_ADDED,
            target=locked,
            details=matter_details(locked, custodian=custodian.name, reason=reason),
        )
        _enqueue(pending)
    return custodian


def hold_custodian_remove(
    *, actor: Any, custodian: HoldCustodian, reason: str, now: datetime | None = None
) -> HoldCustodian:
    """Take a custodian off a hold (its mail stops being preserved at its next login; what was
    preserved stays). Refuses a blank reason, a released hold and an already removed one."""
    now = now or timezone.now()
    _require_editor(actor)
    reason = reason.strip()
    if not reason:
        raise _refuse("custodian_reason_required")
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=custodian.hold_id)
        row = HoldCustodian.objects.select_for_update().get(pk=custodian.pk)
        hold_custodian_check_removable(custodian=row, hold=hold)
        row.removed_at, row.removed_by, row.remove_reason = now, actor, reason
        row.full_clean()
        row.save(update_fields=["removed_at", "removed_by", "remove_reason"])
        audit_record(
            actor=actor,
            action=Action.HOLD_CUSTODIAN_REMOVED,
            target=hold,
            details=matter_details(hold, custodian=row.name, reason=reason),
        )
    return row


def hold_release(
    *, actor: Any, hold: LegalHold, reason: str, now: datetime | None = None
) -> LegalHold:
    """Release a hold: from each custodian's next login expunges are final again (what was
    preserved stays). Refuses a blank reason and a hold that is already released."""
    now = now or timezone.now()
    _require_editor(actor)
    reason = reason.strip()
    if not reason:
        raise _refuse("release_reason_required")
    with transaction.atomic():
        locked = LegalHold.objects.select_for_update().get(pk=hold.pk)
        hold_check_releasable(hold=locked)
        locked.released_at, locked.released_by, locked.release_reason = now, actor, reason
        locked.full_clean()
        locked.save(update_fields=["released_at", "released_by", "release_reason"])
        audit_record(
            actor=actor,
            action=Action.HOLD_RELEASED,
            target=locked,
            details=matter_details(locked, reason=reason),
        )
    return locked


def hold_check_releasable(*, hold: LegalHold) -> None:
    """Refuse, whatever reason is given, a hold that is already released (the release view
    asks first, so a second release says so instead of asking for a reason)."""
    _require_active(hold)


def hold_custodian_check_removable(
    *, custodian: HoldCustodian, hold: LegalHold | None = None
) -> None:
    """Refuse, whatever reason is given, removing a custodian whose hold is released or who was
    already removed (`hold`: the custodian's hold when already loaded, e.g. locked)."""
    _require_active(hold if hold is not None else custodian.hold)
    if custodian.removed_at is not None:
        raise _refuse("custodian_removed", name=custodian.name, when=_when(custodian.removed_at))


def _require_active(hold: LegalHold) -> None:
    if hold.released_at is not None:
        raise _refuse("already_released", matter=hold.matter_name, when=_when(hold.released_at))


def _new_custodian(
    hold: LegalHold,
    actor: Any,
    reason: str,
    now: datetime,
    *,
    mailbox: Mailbox | None = None,
    domain: Domain | None = None,
) -> HoldCustodian:
    custodian = HoldCustodian(
        hold=hold,
        kind=CustodianKind.MAILBOX if mailbox is not None else CustodianKind.DOMAIN,
        mailbox=mailbox,
        domain=domain,
        name=mailbox.address if mailbox is not None else domain.name,  # type: ignore[union-attr]
        added_by=actor,
        added_at=now,
        add_reason=reason,
    )
    custodian.full_clean()
    custodian.save(force_insert=True)
    return custodian


def _new_enforcements(custodian: HoldCustodian, now: datetime) -> list[HoldEnforcement]:
    if custodian.mailbox is not None:
        mailboxes: Iterable[Mailbox] = [custodian.mailbox]
    else:
        mailboxes = Mailbox.objects.filter(domain=custodian.domain).order_by("address")
    rows = [
        HoldEnforcement(custodian=custodian, mailbox=m, address=m.address, created_at=now)
        for m in mailboxes
    ]
    return HoldEnforcement.objects.bulk_create(rows)


def _enqueue(enforcements: list[HoldEnforcement]) -> None:
    from policies.tasks import enforce_hold_task

    ids = [e.pk for e in enforcements]
    transaction.on_commit(lambda: [enforce_hold_task.delay(pk) for pk in ids])


# --- Refusals for account services -------------------------------------------------------------


def covering_holds(mailbox: Mailbox) -> list[LegalHold]:
    """Active holds covering the mailbox (as itself or through its domain), oldest first."""
    return list(LegalHold.objects.covering(mailbox).distinct().order_by("placed_at", "pk"))


def _matters(holds: Iterable[LegalHold]) -> str:
    return ", ".join(f"“{h.matter_name}” ({h.matter_reference})" for h in holds)


def ensure_mailbox_deletable(mailbox: Mailbox) -> None:
    """Raise ValidationError(code="mailbox_on_hold") naming the matters if a hold covers it."""
    holds = covering_holds(mailbox)
    if holds:
        raise _refuse("mailbox_on_hold", mailbox=mailbox.address, matters=_matters(holds))


def ensure_domain_deletable(domain: Domain) -> None:
    """Raise ValidationError(code="domain_on_hold") if a hold covers the domain or any mailbox
    in it, naming the matters."""
    holds = (
        LegalHold.objects.active()
        .filter(
            Q(custodians__domain_id=domain.pk) | Q(custodians__mailbox__domain_id=domain.pk),
            custodians__removed_at__isnull=True,
        )
        .distinct()
        .order_by("placed_at", "pk")
    )
    if holds:
        raise _refuse("domain_on_hold", domain=domain.name, matters=_matters(holds))


# --- The mail server's side (called by tasks on a worker) --------------------------------------


def enforcement_apply(enforcement_id: int, *, now: datetime | None = None) -> bool:
    """Pre-create the preservation folder and kick the user's sessions (so the next session
    reads the hold), then record the enforcement as in force (audited once, as the system).

    Returns False when there is nothing to do (hold released, custodian removed, mailbox
    deleted, already in force). A doveadm failure is recorded on the row (the page shows it)
    and re-raised, for the task to retry with backoff.
    """
    from policies import doveadm

    row = HoldEnforcement.objects.select_related("custodian__hold").get(pk=enforcement_id)
    hold = row.custodian.hold
    if (
        row.in_force_at is not None
        or hold.released_at is not None
        or row.custodian.removed_at is not None
        or row.mailbox_id is None
    ):
        return False
    try:
        doveadm.mailbox_create(row.address, _preserved_folder())
        doveadm.kick(row.address)
    except doveadm.DoveadmError as error:
        _record_failure(row.pk, str(error), now or timezone.now())
        raise
    with transaction.atomic():
        locked = HoldEnforcement.objects.select_for_update().get(pk=row.pk)
        if locked.in_force_at is not None:
            return False
        moment = now or timezone.now()
        locked.in_force_at, locked.last_attempt_at, locked.last_error = moment, moment, ""
        locked.attempts += 1
        locked.save(update_fields=["in_force_at", "last_attempt_at", "last_error", "attempts"])
        audit_record(
            actor=None,
            action=Action.HOLD_IN_FORCE,
            target=hold,
            details=matter_details(hold, mailbox=row.address, in_force_at=moment.isoformat()),
        )
    return True


def _preserved_folder() -> str:
    from policies.dovecot import PRESERVED_FOLDER

    return PRESERVED_FOLDER


def _record_failure(pk: int, error: str, now: datetime) -> None:
    with transaction.atomic():
        row = HoldEnforcement.objects.select_for_update().get(pk=pk)
        row.attempts += 1
        row.last_error, row.last_attempt_at = error[:2000], now
        row.save(update_fields=["attempts", "last_error", "last_attempt_at"])


@dataclass(frozen=True)
class VerifyResult:
    checked: int
    failed: int
    enqueued: int


def holds_verify(*, now: datetime | None = None) -> VerifyResult:
    """Check every active hold on the mail server: each covered mailbox must get
    `lazy_expunge = EXPUNGED` from the userdb and have the preservation folder. Records the
    preserved-message count per mailbox; a hold with a failure gets a visible alert and, when it
    starts failing, an audit event "verification failed". Mailboxes created later in a held
    domain get their enforcement here (enqueued). Pending enforcements are re-enqueued.
    """
    from policies import doveadm

    now = now or timezone.now()
    enqueued = _enforce_new_mailboxes(now)
    checked = failed = 0
    for hold in LegalHold.objects.active().order_by("pk"):
        rows = HoldEnforcement.objects.filter(
            custodian__hold=hold, custodian__removed_at__isnull=True, mailbox__isnull=False
        ).order_by("address")
        problems = []
        for row in rows:
            checked += 1
            error, count = _verify_one(doveadm, row.address)
            HoldEnforcement.objects.filter(pk=row.pk).update(
                verified_at=now,
                verification_error=error,
                preserved_messages=count if count is not None else row.preserved_messages,
            )
            if error:
                problems.append(f"{row.address}: {error}")
        failed += len(problems)
        _record_verification(hold.pk, problems, now)
    return VerifyResult(checked=checked, failed=failed, enqueued=enqueued)


def _verify_one(doveadm: Any, address: str) -> tuple[str, int | None]:
    folder = _preserved_folder()
    try:
        fields = doveadm.user_fields(address)
        if fields.get("lazy_expunge") != folder:
            return (
                f"the mail server does not preserve expunged mail (lazy_expunge = "
                f"{fields.get('lazy_expunge', 'not set')})",
                None,
            )
        count = doveadm.mailbox_messages(address, folder)
    except doveadm.DoveadmError as error:
        return str(error)[:2000], None
    if count is None:
        return f"the preservation folder {folder} does not exist", None
    return "", count


def _record_verification(hold_id: int, problems: list[str], now: datetime) -> None:
    with transaction.atomic():
        hold = LegalHold.objects.select_for_update().get(pk=hold_id)
        if not problems:
            hold.verified_at, hold.verification_failed_at, hold.verification_error = now, None, ""
            hold.save(update_fields=["verified_at", "verification_failed_at", "verification_error"])
            return
        newly_failing = hold.verification_failed_at is None
        hold.verified_at = now
        hold.verification_failed_at = hold.verification_failed_at or now
        hold.verification_error = "\n".join(problems)[:4000]
        hold.save(update_fields=["verified_at", "verification_failed_at", "verification_error"])
        if newly_failing:
            audit_record(
                actor=None,
                action=Action.HOLD_VERIFICATION_FAILED,
                target=hold,
                details=matter_details(hold, problems=problems),
            )


def _enforce_new_mailboxes(now: datetime) -> int:
    """Enforcement rows for mailboxes added to held domains since, and re-enqueue pending ones."""
    pending: list[HoldEnforcement] = []
    with transaction.atomic():
        domain_custodians = HoldCustodian.objects.filter(
            hold__released_at__isnull=True, removed_at__isnull=True, domain__isnull=False
        )
        for custodian in domain_custodians:
            known = custodian.enforcements.values_list("mailbox_id", flat=True)
            missing = Mailbox.objects.filter(domain=custodian.domain).exclude(pk__in=known)
            pending += HoldEnforcement.objects.bulk_create(
                HoldEnforcement(custodian=custodian, mailbox=m, address=m.address, created_at=now)
                for m in missing
            )
        pending += HoldEnforcement.objects.filter(
            in_force_at__isnull=True,
            mailbox__isnull=False,
            custodian__removed_at__isnull=True,
            custodian__hold__released_at__isnull=True,
        ).exclude(pk__in=[p.pk for p in pending])
        _enqueue(pending)
    return len(pending)
