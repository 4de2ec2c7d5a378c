"""Mailbox writes: create, rename, password, quota, suspend/reactivate, delete.

Quota rule: in a domain with a storage quota, the sum of its mailboxes' quotas may not exceed
it and no mailbox may be unlimited (quota 0). The domain row is locked (SELECT ... FOR UPDATE)
while checking, so two concurrent writes cannot overshoot together.
"""

from __future__ import annotations

import json

from django.contrib.auth import password_validation
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import Alias, Domain, Mailbox, QuotaUsage
from accounts.passwords import MAX_PASSWORD_BYTES, hash_password
from accounts.rules import address_to_unicode, normalize_local_part
from accounts.services._common import counted, listing, size_text, snapshot
from audit.models import Action
from audit.services import audit_record, changes

MAILBOX_FIELDS = ("address", "display_name", "is_active", "quota_bytes", "quota_messages")
MAX_DISPLAY_NAME = 200

MAILBOX_ERRORS = {
    "mailbox_exists": _("%(address)s already exists as a mailbox."),
    "alias_exists": _(
        "%(address)s is already an alias. Choose another address or delete the alias first."
    ),
    "max_mailboxes": _(
        "%(domain)s already has %(count)s, its limit. Raise the domain's mailbox limit or "
        "delete a mailbox first."
    ),
    "quota_exceeds_domain": _(
        "This mailbox needs %(needed)s but the domain has %(left)s left. Raise the domain quota "
        "or choose a smaller size."
    ),
    "quota_unlimited": _(
        "%(domain)s has a storage quota of %(quota)s, so its mailboxes need a size limit too "
        "(0 means no limit). Choose a size; the domain has %(left)s left."
    ),
    "quota_negative": _("%(field)s cannot be negative. Use 0 for no limit."),
    "password_empty": _("Enter a password."),
    "password_too_long": _(
        "This password is %(length)d bytes long; the limit is %(max)d bytes (Dovecot's "
        "BLF-CRYPT reads no more). Choose a shorter one."
    ),
    "display_name_too_long": _(
        "The display name is %(length)d characters long; the limit is %(max)d."
    ),
    "display_name_control": _(
        "The display name contains a line break or control character. Use a single line."
    ),
    "already_suspended": _("%(address)s is already suspended."),
    "already_active": _("%(address)s is already active."),
    "sole_destination": _(
        "%(address)s is the only destination of %(aliases)s. Delete those aliases or give "
        "them another destination first."
    ),
}


def check_password(password: str) -> None:
    """Refuse an empty, over-long (72 bytes) or weak password (Django's validators)."""
    if not password:
        raise ValidationError(MAILBOX_ERRORS["password_empty"], code="password_empty")
    length = len(password.encode())
    if length > MAX_PASSWORD_BYTES:
        raise ValidationError(
            MAILBOX_ERRORS["password_too_long"],
            code="password_too_long",
            params={"length": length, "max": MAX_PASSWORD_BYTES},
        )
    password_validation.validate_password(password)


def check_display_name(display_name: str) -> str:
    name = display_name.strip()
    if len(name) > MAX_DISPLAY_NAME:
        raise ValidationError(
            MAILBOX_ERRORS["display_name_too_long"],
            code="display_name_too_long",
            params={"length": len(name), "max": MAX_DISPLAY_NAME},
        )
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        raise ValidationError(MAILBOX_ERRORS["display_name_control"], code="display_name_control")
    return name


def check_quota(
    *, domain: Domain, quota_bytes: int, quota_messages: int, allocated_elsewhere: int
) -> None:
    """The domain-quota rule for one mailbox; `allocated_elsewhere` = the other mailboxes' sum."""
    for label, value in (("The size", quota_bytes), ("The message limit", quota_messages)):
        if value < 0:
            raise ValidationError(
                MAILBOX_ERRORS["quota_negative"], code="quota_negative", params={"field": label}
            )
    if not domain.quota_bytes:
        return
    left = max(0, domain.quota_bytes - allocated_elsewhere)
    if quota_bytes == 0:
        raise ValidationError(
            MAILBOX_ERRORS["quota_unlimited"],
            code="quota_unlimited",
            params={
                "domain": domain.display_name,
                "quota": size_text(domain.quota_bytes),
                "left": size_text(left),
            },
        )
    if quota_bytes > left:
        raise ValidationError(
            MAILBOX_ERRORS["quota_exceeds_domain"],
            code="quota_exceeds_domain",
            params={"needed": size_text(quota_bytes), "left": size_text(left)},
        )


def check_address_free(address: str) -> None:
    shown = {"address": address_to_unicode(address)}
    if Mailbox.objects.filter(address=address).exists():
        raise ValidationError(MAILBOX_ERRORS["mailbox_exists"], code="mailbox_exists", params=shown)
    if Alias.objects.filter(address=address).exists():
        raise ValidationError(MAILBOX_ERRORS["alias_exists"], code="alias_exists", params=shown)


def check_room(domain: Domain, count: int) -> None:
    if domain.max_mailboxes and count >= domain.max_mailboxes:
        raise ValidationError(
            MAILBOX_ERRORS["max_mailboxes"],
            code="max_mailboxes",
            params={
                "domain": domain.display_name,
                "count": counted(domain.max_mailboxes, "mailbox", "mailboxes"),
            },
        )


def _allocated(domain: Domain, *, exclude: Mailbox | None = None) -> int:
    mailboxes = domain.mailboxes.all()
    if exclude is not None:
        mailboxes = mailboxes.exclude(pk=exclude.pk)
    total: int = mailboxes.aggregate(total=Sum("quota_bytes", default=0))["total"]
    return total


def mailbox_create(
    *,
    domain: Domain,
    local_part: str,
    password: str,
    actor: User,
    display_name: str = "",
    quota_bytes: int | None = None,
    quota_messages: int | None = None,
) -> Mailbox:
    """Create a mailbox; quotas default to the domain's defaults.

    Refuses: an invalid local part, an address already used by a mailbox or alias, a weak,
    empty or over-long password, the domain's mailbox limit, and a size over what the domain
    has left (or unlimited in a domain with a quota).
    """
    local = normalize_local_part(local_part)
    name = check_display_name(display_name)
    check_password(password)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        address = f"{local}@{locked.name}"
        check_address_free(address)
        check_room(locked, locked.mailboxes.count())
        size = locked.default_quota_bytes if quota_bytes is None else quota_bytes
        messages = locked.default_quota_messages if quota_messages is None else quota_messages
        check_quota(
            domain=locked,
            quota_bytes=size,
            quota_messages=messages,
            allocated_elsewhere=_allocated(locked),
        )
        mailbox = Mailbox(
            domain=locked,
            local_part=local,
            address=address,
            display_name=name,
            password_hash=hash_password(password),
            quota_bytes=size,
            quota_messages=messages,
        )
        mailbox.full_clean()
        mailbox.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.MAILBOX_CREATED,
            target=mailbox,
            details={"created": snapshot(mailbox, MAILBOX_FIELDS)},
        )
    return mailbox


def mailbox_update(*, mailbox: Mailbox, display_name: str, actor: User) -> Mailbox:
    """Change the display name (the only free-text field). Unchanged -> no event."""
    name = check_display_name(display_name)
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        before = snapshot(locked, MAILBOX_FIELDS)
        locked.display_name = name
        diff = changes(before, snapshot(locked, MAILBOX_FIELDS))
        if not diff:
            return locked
        locked.full_clean()
        locked.save(update_fields=["display_name", "updated_at"])
        audit_record(actor=actor, action=Action.MAILBOX_UPDATED, target=locked, details=diff)
    return locked


def mailbox_set_password(*, mailbox: Mailbox, password: str, actor: User) -> Mailbox:
    """Store a new Dovecot hash; applies at the next login. The audit event holds no secret."""
    check_password(password)
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        old_scheme = locked.password_hash.partition("}")[0].lstrip("{")
        locked.password_hash = hash_password(password)
        locked.full_clean()
        locked.save(update_fields=["password_hash", "updated_at"])
        new_scheme = locked.password_hash.partition("}")[0].lstrip("{")
        audit_record(
            actor=actor,
            action=Action.MAILBOX_PASSWORD_CHANGED,
            target=locked,
            details={"scheme": {"old": old_scheme, "new": new_scheme}},
        )
    return locked


def mailbox_set_quota(
    *, mailbox: Mailbox, quota_bytes: int, quota_messages: int, actor: User
) -> Mailbox:
    """Set the size (bytes, 0 = no limit) and message limit, within what the domain has left."""
    with transaction.atomic():
        domain = Domain.objects.select_for_update().get(pk=mailbox.domain_id)
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        check_quota(
            domain=domain,
            quota_bytes=quota_bytes,
            quota_messages=quota_messages,
            allocated_elsewhere=_allocated(domain, exclude=locked),
        )
        before = snapshot(locked, MAILBOX_FIELDS)
        locked.quota_bytes = quota_bytes
        locked.quota_messages = quota_messages
        diff = changes(before, snapshot(locked, MAILBOX_FIELDS))
        if not diff:
            return locked
        locked.full_clean()
        locked.save(update_fields=["quota_bytes", "quota_messages", "updated_at"])
        audit_record(actor=actor, action=Action.MAILBOX_QUOTA_CHANGED, target=locked, details=diff)
    return locked


def _set_active(mailbox: Mailbox, *, active: bool, actor: User) -> Mailbox:
    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        if locked.is_active == active:
            code = "already_active" if active else "already_suspended"
            raise ValidationError(
                MAILBOX_ERRORS[code], code=code, params={"address": locked.display_address}
            )
        locked.is_active = active
        locked.save(update_fields=["is_active", "updated_at"])
        audit_record(
            actor=actor,
            action=Action.MAILBOX_REACTIVATED if active else Action.MAILBOX_SUSPENDED,
            target=locked,
            details={"is_active": {"old": not active, "new": active}},
        )
    return locked


def mailbox_suspend(*, mailbox: Mailbox, actor: User) -> Mailbox:
    """Refuse logins from the next one on (Dovecot reads is_active); mail data stays."""
    return _set_active(mailbox, active=False, actor=actor)


def mailbox_reactivate(*, mailbox: Mailbox, actor: User) -> Mailbox:
    """Allow logins again."""
    return _set_active(mailbox, active=True, actor=actor)


def detach_destination(*, address: str, display: str, actor: User) -> None:
    """Before `address` disappears: refuse if it is some alias's only destination, else remove
    it from every alias that lists it (each change audited). Runs in the caller's transaction.
    """
    # JSON text match as a portable prefilter (SQLite has no JSON containment), then exact.
    candidates = Alias.objects.select_for_update().filter(
        destinations__icontains=json.dumps(address)
    )
    listing_aliases = [a for a in candidates if address in a.destinations]
    sole = [a.display_address for a in listing_aliases if a.destinations == [address]]
    if sole:
        raise ValidationError(
            MAILBOX_ERRORS["sole_destination"],
            code="sole_destination",
            params={
                "address": display,
                "aliases": ("the alias " if len(sole) == 1 else "the aliases ") + listing(sole),
            },
        )
    for alias in listing_aliases:
        before = list(alias.destinations)
        alias.destinations = [d for d in alias.destinations if d != address]
        alias.save(update_fields=["destinations", "updated_at"])
        audit_record(
            actor=actor,
            action=Action.ALIAS_UPDATED,
            target=alias,
            details={"destinations": {"old": before, "new": alias.destinations}},
        )


def mailbox_delete(*, mailbox: Mailbox, actor: User) -> None:
    """Delete a mailbox row (Dovecot refuses its logins at once; mail files stay on disk).

    Refuses while an alias has it as its only destination; removes it from other aliases'
    destinations. Drops its quota-usage row so a new mailbox with that address starts at 0.
    """
    from policies.holds import ensure_mailbox_deletable  # policies imports accounts

    with transaction.atomic():
        locked = Mailbox.objects.select_for_update().get(pk=mailbox.pk)
        ensure_mailbox_deletable(locked)  # refuses, naming the matter, while a hold covers it
        detach_destination(address=locked.address, display=locked.display_address, actor=actor)
        audit_record(
            actor=actor,
            action=Action.MAILBOX_DELETED,
            target=locked,
            details={"deleted": snapshot(locked, MAILBOX_FIELDS)},
        )
        QuotaUsage.objects.filter(username=locked.address).delete()
        locked.delete()
