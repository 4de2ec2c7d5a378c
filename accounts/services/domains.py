"""Domain writes: create, update settings and limits, delete, set administrators."""

from __future__ import annotations

from collections.abc import Iterable

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain
from accounts.rules import normalize_domain_name
from accounts.services._common import counted, listing, size_text, snapshot
from audit.models import Action
from audit.services import audit_record, changes
from mailadmin.lib.auth import Role, user_roles

DOMAIN_FIELDS = (
    "name",
    "is_active",
    "default_quota_bytes",
    "default_quota_messages",
    "quota_bytes",
    "max_mailboxes",
)

DOMAIN_ERRORS = {
    "domain_exists": _("The domain %(name)s already exists."),
    "negative": _("%(field)s cannot be negative. Use 0 for no limit."),
    "default_above_quota": _(
        "The default mailbox size (%(default)s) is larger than the domain's storage quota "
        "(%(quota)s). Lower the default or raise the domain quota."
    ),
    "quota_below_allocated": _(
        "The mailboxes of %(name)s already have %(allocated)s of quota in all, so the domain "
        "quota cannot be %(quota)s. Choose at least %(allocated)s or lower mailbox quotas first."
    ),
    "quota_with_unlimited": _(
        "%(name)s has %(count)s without a size limit, so the domain cannot have a storage "
        "quota. Give each mailbox a size first, or keep the domain quota at 0 (no limit)."
    ),
    "max_below_count": _(
        "%(name)s already has %(count)s, so the limit cannot be %(max)d. Choose at least "
        "%(current)d or delete mailboxes first."
    ),
    "delete_not_empty": _(
        "%(name)s still has %(mailboxes)s and %(aliases)s. Delete them first: only an empty "
        "domain can be deleted."
    ),
    "not_domain_admin": _(
        "%(users)s cannot administer a domain: only users with the Domain administrator role "
        "can. Give them that role first."
    ),
}


def _check_limits(
    *,
    name: str,
    default_quota_bytes: int,
    default_quota_messages: int,
    quota_bytes: int,
    max_mailboxes: int,
) -> None:
    for label, value in (
        ("The default mailbox size", default_quota_bytes),
        ("The default message limit", default_quota_messages),
        ("The domain quota", quota_bytes),
        ("The mailbox limit", max_mailboxes),
    ):
        if value < 0:
            raise ValidationError(
                DOMAIN_ERRORS["negative"], code="negative", params={"field": label}
            )
    if quota_bytes and default_quota_bytes > quota_bytes:
        raise ValidationError(
            DOMAIN_ERRORS["default_above_quota"],
            code="default_above_quota",
            params={"default": size_text(default_quota_bytes), "quota": size_text(quota_bytes)},
        )


def domain_create(
    *,
    name: str,
    actor: User,
    is_active: bool = True,
    default_quota_bytes: int = 1_000_000_000,
    default_quota_messages: int = 0,
    quota_bytes: int = 0,
    max_mailboxes: int = 0,
) -> Domain:
    """Create a domain; the name may be typed in Unicode and is stored in IDNA ASCII form.

    Refuses an invalid name (one message per kind, see accounts.rules), an existing domain,
    negative limits and a default mailbox size above the domain quota.
    """
    ascii_name = normalize_domain_name(name)
    _check_limits(
        name=ascii_name,
        default_quota_bytes=default_quota_bytes,
        default_quota_messages=default_quota_messages,
        quota_bytes=quota_bytes,
        max_mailboxes=max_mailboxes,
    )
    with transaction.atomic():
        domain = Domain(
            name=ascii_name,
            is_active=is_active,
            default_quota_bytes=default_quota_bytes,
            default_quota_messages=default_quota_messages,
            quota_bytes=quota_bytes,
            max_mailboxes=max_mailboxes,
        )
        if Domain.objects.filter(name=ascii_name).exists():
            raise ValidationError(
                DOMAIN_ERRORS["domain_exists"],
                code="domain_exists",
                params={"name": domain.display_name},
            )
        domain.full_clean()
        domain.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.DOMAIN_CREATED,
            target=domain,
            details={"created": snapshot(domain, DOMAIN_FIELDS)},
        )
    return domain


def domain_update(
    *,
    domain: Domain,
    actor: User,
    is_active: bool,
    default_quota_bytes: int,
    default_quota_messages: int,
    quota_bytes: int,
    max_mailboxes: int,
) -> Domain:
    """Change a domain's status, default mailbox quotas, storage quota and mailbox limit.

    Refuses a storage quota below what its mailboxes already have (or any quota while one of
    them is unlimited) and a mailbox limit below the current count. Unchanged -> no event.
    """
    _check_limits(
        name=domain.name,
        default_quota_bytes=default_quota_bytes,
        default_quota_messages=default_quota_messages,
        quota_bytes=quota_bytes,
        max_mailboxes=max_mailboxes,
    )
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        before = snapshot(locked, DOMAIN_FIELDS)
        usage = locked.mailboxes.aggregate(
            count=Count("id"),
            allocated=Sum("quota_bytes", default=0),
            unlimited=Count("id", filter=Q(quota_bytes=0)),
        )
        name = locked.display_name
        if quota_bytes and usage["unlimited"]:
            raise ValidationError(
                DOMAIN_ERRORS["quota_with_unlimited"],
                code="quota_with_unlimited",
                params={"count": counted(usage["unlimited"], "mailbox", "mailboxes"), "name": name},
            )
        if quota_bytes and usage["allocated"] > quota_bytes:
            raise ValidationError(
                DOMAIN_ERRORS["quota_below_allocated"],
                code="quota_below_allocated",
                params={
                    "name": name,
                    "allocated": size_text(usage["allocated"]),
                    "quota": size_text(quota_bytes),
                },
            )
        if max_mailboxes and usage["count"] > max_mailboxes:
            raise ValidationError(
                DOMAIN_ERRORS["max_below_count"],
                code="max_below_count",
                params={
                    "name": name,
                    "count": counted(usage["count"], "mailbox", "mailboxes"),
                    "current": usage["count"],
                    "max": max_mailboxes,
                },
            )
        locked.is_active = is_active
        locked.default_quota_bytes = default_quota_bytes
        locked.default_quota_messages = default_quota_messages
        locked.quota_bytes = quota_bytes
        locked.max_mailboxes = max_mailboxes
        diff = changes(before, snapshot(locked, DOMAIN_FIELDS))
        if not diff:
            return locked
        locked.full_clean()
        locked.save(update_fields=[*diff, "updated_at"])
        audit_record(actor=actor, action=Action.DOMAIN_UPDATED, target=locked, details=diff)
    return locked


def domain_delete(*, domain: Domain, actor: User) -> None:
    """Delete an empty domain. Refuses while it has mailboxes or aliases, saying how many."""
    from policies.holds import ensure_domain_deletable  # policies imports accounts

    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        ensure_domain_deletable(locked)  # refuses, naming the matter, while a hold covers it
        mailboxes = locked.mailboxes.count()
        aliases = locked.aliases.count()
        if mailboxes or aliases:
            raise ValidationError(
                DOMAIN_ERRORS["delete_not_empty"],
                code="delete_not_empty",
                params={
                    "name": locked.display_name,
                    "mailboxes": counted(mailboxes, "mailbox", "mailboxes"),
                    "aliases": counted(aliases, "alias", "aliases"),
                },
            )
        audit_record(
            actor=actor,
            action=Action.DOMAIN_DELETED,
            target=locked,
            details={"deleted": snapshot(locked, DOMAIN_FIELDS)},
        )
        locked.delete()


def domain_set_administrators(*, domain: Domain, users: Iterable[User], actor: User) -> Domain:
    """Make exactly `users` the domain's administrators. Each must have the domain_admin role."""
    chosen = {user.pk: user for user in users}
    refused = sorted(
        u.get_username() for u in chosen.values() if Role.DOMAIN_ADMIN not in user_roles(u)
    )
    if refused:
        raise ValidationError(
            DOMAIN_ERRORS["not_domain_admin"],
            code="not_domain_admin",
            params={"users": listing(refused)},
        )
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        before = sorted(locked.administrators.values_list("username", flat=True))
        after = sorted(u.get_username() for u in chosen.values())
        if before == after:
            return locked
        locked.administrators.set(list(chosen.values()))
        audit_record(
            actor=actor,
            action=Action.DOMAIN_ADMINS_CHANGED,
            target=locked,
            details={"administrators": {"old": before, "new": after}},
        )
    return locked
