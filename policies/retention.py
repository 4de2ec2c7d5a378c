"""Retention rules: after how many days the mail server deletes messages in a folder.

The organisation sets a default per folder; a domain's rule for a folder overrides it. Dovecot
gets the effective days per user from the view (autoexpunge; 0 = keep; 0 while on legal hold).
Enabling or shortening a rule deletes mail, so the service refuses it unless `confirmed=True`,
and the refusal carries the preview ("Trash older than 30 days will be deleted by the server in
1,234 mailboxes"). Every change is audited with before/after.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain, Mailbox
from audit.models import Action
from audit.services import audit_record, changes
from mailadmin.lib.auth import ORG_EDITORS, has_role
from policies.dovecot import PRESERVED_FOLDER, VIEW_RETENTION_COLUMNS, is_valid_folder_name
from policies.models import HoldCustodian, RetentionRule

STANDARD_FOLDERS = tuple(VIEW_RETENTION_COLUMNS)  # ("Trash", "Junk")
MAX_DAYS = 36500

RETENTION_ERRORS = {
    "not_allowed_org": _(
        "Only superusers and mail administrators may change the organisation's retention rules."
    ),
    "not_allowed_domain": _("You may not change the retention rules of %(domain)s."),
    "folder_invalid": _(
        "“%(folder)s” is not a folder name the mail server can take: use letters, digits, "
        "“_”, “-”, “.” and “/” between levels, not starting with a dot (at most 100 characters)."
    ),
    "folder_preserved": _(
        "%(folder)s is where legal holds preserve mail; it cannot have a retention rule."
    ),
    "days_range": _(
        "Keep messages between 0 (for ever) and %(max)s days; %(days)s is not in that range."
    ),
    "confirm_required": _("Confirm the change first: %(preview)s"),
}


def _refuse(code: str, **params: Any) -> ValidationError:
    return ValidationError(RETENTION_ERRORS[code], code=code, params=params or None)


def named_retention_folders() -> tuple[str, ...]:
    """Folders other than Trash and Junk that have a rule anywhere (the userdb query lists them)."""
    folders = RetentionRule.objects.exclude(folder__in=STANDARD_FOLDERS).values_list(
        "folder", flat=True
    )
    return tuple(sorted(set(folders)))


def held_mailboxes() -> QuerySet[Mailbox]:
    """Mailboxes an active hold covers, as itself or through its domain (the view's on_hold)."""
    custodians = HoldCustodian.objects.filter(
        hold__released_at__isnull=True, removed_at__isnull=True
    ).filter(Q(mailbox_id=OuterRef("pk")) | Q(domain_id=OuterRef("domain_id")))
    return Mailbox.objects.filter(Exists(custodians))


def rule_days(domain: Domain | None, folder: str) -> int | None:
    """The stored rule for exactly this scope, or None."""
    return (
        RetentionRule.objects.filter(domain=domain, folder=folder)
        .values_list("retention_days", flat=True)
        .first()
    )


def effective_days(domain: Domain | None, folder: str) -> int:
    """What a mailbox of `domain` (None: of a domain without its own rule) gets: 0 = keep."""
    if domain is not None:
        own = rule_days(domain, folder)
        if own is not None:
            return own
    return rule_days(None, folder) or 0


@dataclass(frozen=True)
class RetentionPreview:
    """What a rule change would do, counted before it is made."""

    folder: str
    scope: str  # "the organisation" or the domain name
    before_days: int
    after_days: int
    mailboxes: int  # mailboxes whose effective retention changes (not on hold)
    held: int  # of those scoped, mailboxes on hold: nothing is deleted there

    @property
    def deletes_more(self) -> bool:
        """Enabling (from keep for ever) or shortening deletes mail that was kept."""
        if self.after_days == 0:
            return False
        return self.before_days == 0 or self.after_days < self.before_days

    @property
    def text(self) -> str:
        count = f"{self.mailboxes:,} mailbox{'es' if self.mailboxes != 1 else ''}"
        if self.after_days == 0:
            sentence = f"The server will keep {self.folder} for ever in {count}."
        else:
            sentence = (
                f"{self.folder} older than {self.after_days} days will be deleted by the server "
                f"in {count}."
            )
        if self.held:
            held = f"{self.held:,} mailbox{'es' if self.held != 1 else ''}"
            sentence += f" {held} on legal hold keep everything."
        return sentence


def retention_preview(
    *, domain: Domain | None, folder: str, retention_days: int | None
) -> RetentionPreview:
    """Count the mailboxes a change of `folder`'s rule at this scope would reach.

    `retention_days` None removes the rule (a domain then inherits the organisation's).
    """
    before_rule = rule_days(domain, folder)
    org_days = rule_days(None, folder) or 0
    if domain is None:
        scoped = Mailbox.objects.exclude(
            domain__retention_rules__folder=folder
        )  # domains with their own rule are not reached
        before, after = before_rule or 0, retention_days or 0
        scope = "the organisation"
    else:
        scoped = Mailbox.objects.filter(domain=domain)
        before = before_rule if before_rule is not None else org_days
        after = retention_days if retention_days is not None else org_days
        scope = domain.name
    held_ids = held_mailboxes().values("pk")
    held = scoped.filter(pk__in=held_ids).count()
    reached = scoped.exclude(pk__in=held_ids).count() if before != after else 0
    return RetentionPreview(folder, scope, before, after, reached, held)


def retention_rule_set(
    *,
    actor: Any,
    domain: Domain | None,
    folder: str,
    retention_days: int | None,
    confirmed: bool = False,
) -> RetentionRule | None:
    """Set the days after which the server deletes `folder` at this scope (0 = keep for ever;
    None removes the rule: a domain inherits the organisation's again).

    Refuses: actors who may not edit the scope (organisation: superusers and mail
    administrators; a domain: its editors); a bad folder name or the preservation folder; days
    outside 0-36500; and, unless `confirmed`, any change that deletes more mail (enabling or
    shortening), with the preview in the message. A change to the same value saves nothing.
    """
    folder = folder.strip()
    _check_actor(actor, domain)
    if folder == PRESERVED_FOLDER:
        raise _refuse("folder_preserved", folder=folder)
    if not is_valid_folder_name(folder):
        raise _refuse("folder_invalid", folder=folder)
    if retention_days is not None and not 0 <= retention_days <= MAX_DAYS:
        raise _refuse("days_range", max=MAX_DAYS, days=retention_days)
    with transaction.atomic():
        if domain is not None:
            Domain.objects.select_for_update().filter(pk=domain.pk).first()
        preview = retention_preview(domain=domain, folder=folder, retention_days=retention_days)
        if preview.deletes_more and not confirmed:
            raise _refuse("confirm_required", preview=preview.text)
        rule = (
            RetentionRule.objects.select_for_update().filter(domain=domain, folder=folder).first()
        )
        before = rule.retention_days if rule is not None else None
        diff = changes({"retention_days": before}, {"retention_days": retention_days})
        if not diff:
            return rule
        if retention_days is None:
            assert rule is not None  # noqa: S101 - diff is non-empty, so a rule existed
            rule.delete()
            rule = None
        elif rule is None:
            rule = RetentionRule(domain=domain, folder=folder, retention_days=retention_days)
            rule.full_clean()
            rule.save(force_insert=True)
        else:
            rule.retention_days = retention_days
            rule.full_clean()
            rule.save(update_fields=["retention_days", "updated_at"])
        audit_record(
            actor=actor,
            action=Action.RETENTION_RULE_CHANGED,
            target=domain,
            target_repr=f"{folder} retention ({preview.scope})",
            details={
                "folder": folder,
                "scope": preview.scope,
                "changes": diff,
                "effective": {"old": preview.before_days, "new": preview.after_days},
                "preview": preview.text,
            },
        )
    return rule


def _check_actor(actor: Any, domain: Domain | None) -> None:
    if actor is None:
        return
    if domain is None:
        if not has_role(actor, ORG_EDITORS):
            raise _refuse("not_allowed_org")
    elif not Domain.objects.editable_by(actor).filter(pk=domain.pk).exists():
        raise _refuse("not_allowed_domain", domain=domain.name)
