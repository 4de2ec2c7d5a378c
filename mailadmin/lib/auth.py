"""Dashboard roles (DESIGN.md "Roles") and the decorators and checks built on them.

A role is membership of a Django group with the role's code as its name; superusers have every
right. Domain administrators are scoped to the domains listed in Domain.administrators.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.core.exceptions import PermissionDenied
from django.db import models
from django.http import HttpRequest, HttpResponseBase


class Role(models.TextChoices):
    MAIL_ADMIN = "mail_admin", "Mail administrator"
    DOMAIN_ADMIN = "domain_admin", "Domain administrator"
    COMPLIANCE_OFFICER = "compliance_officer", "Compliance officer"
    AUDITOR = "auditor", "Auditor"


# Who may do what. Superusers pass every check.
ACCOUNT_EDITORS = frozenset({Role.MAIL_ADMIN, Role.DOMAIN_ADMIN})
ORG_EDITORS = frozenset({Role.MAIL_ADMIN})
HOLD_EDITORS = frozenset({Role.COMPLIANCE_OFFICER})
READERS = frozenset(Role)
EXPORTERS = frozenset({Role.MAIL_ADMIN, Role.COMPLIANCE_OFFICER, Role.AUDITOR})
# No role is enough: only superusers pass (security policy, resets, unlocking logins).
SUPERUSERS: frozenset[str] = frozenset()

UserLike = AbstractBaseUser | AnonymousUser


def user_roles(user: Any) -> frozenset[str]:
    """The role codes of a user, cached on the user object for the request."""
    if not getattr(user, "is_authenticated", False):
        return frozenset()
    cached: frozenset[str] | None = getattr(user, "_mailadmin_roles", None)
    if cached is None:
        names = user.groups.filter(name__in=list(Role.values)).values_list("name", flat=True)
        cached = frozenset(names)
        user._mailadmin_roles = cached
    return cached


def has_role(user: Any, allowed: frozenset[str] | set[str]) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    if getattr(user, "is_superuser", False):
        return True
    return bool(user_roles(user) & set(allowed))


def is_org_wide(user: Any) -> bool:
    """True for users who see every domain (everyone but domain administrators)."""
    if getattr(user, "is_superuser", False):
        return True
    roles = user_roles(user)
    return bool(roles - {Role.DOMAIN_ADMIN})


# HttpResponseBase so that streaming views (CSV exports) can be decorated too.
F = TypeVar("F", bound=Callable[..., HttpResponseBase])


def role_required(allowed: frozenset[str] | set[str]) -> Callable[[F], F]:
    """Login required, then 403 unless the user has one of the roles (superusers always pass)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
            if not has_role(request.user, allowed):
                raise PermissionDenied("Your role does not allow this.")
            return view(request, *args, **kwargs)

        return login_required(wrapped)  # type: ignore[return-value]

    return decorator


def roles_context(request: HttpRequest) -> dict[str, object]:
    """Template context: what the navigation and buttons may offer this user."""
    user = request.user
    return {
        "can_edit_accounts": has_role(user, ACCOUNT_EDITORS),
        "can_edit_org": has_role(user, ORG_EDITORS),
        "can_edit_holds": has_role(user, HOLD_EDITORS),
        "can_export": has_role(user, EXPORTERS),
        "user_role_labels": [Role(r).label for r in sorted(user_roles(user))]
        if user.is_authenticated
        else [],
    }
