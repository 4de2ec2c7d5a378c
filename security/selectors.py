"""Reads for the security pages and the two-factor middleware."""

from __future__ import annotations

from typing import Any

from axes.models import AccessAttempt
from django.contrib.auth.models import User
from django.db.models import Exists, OuterRef, Q, QuerySet
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from mailadmin.lib.auth import Role, user_roles
from security.models import SecurityPolicy
from security.rules import two_factor_required


def security_policy() -> SecurityPolicy:
    """The one policy row, created with its defaults the first time it is read."""
    policy, _ = SecurityPolicy.objects.get_or_create(pk=1)
    return policy


def has_two_factor(user: Any) -> bool:
    """True when the user has a confirmed authenticator (backup codes alone do not count)."""
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


def two_factor_required_for(user: Any) -> bool:
    return two_factor_required(
        is_superuser=bool(user.is_superuser),
        roles=user_roles(user),
        required=security_policy().required_by_role,
    )


def backup_codes_left(user: Any) -> int:
    count: int = StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count()
    return count


def staff_users() -> QuerySet[User]:
    """Superusers and users with a dashboard role, each with has_totp and role_names."""
    return (
        User.objects.filter(Q(is_superuser=True) | Q(groups__name__in=list(Role.values)))
        .distinct()
        .annotate(
            has_totp=Exists(TOTPDevice.objects.filter(user=OuterRef("pk"), confirmed=True)),
            has_backup=Exists(StaticDevice.objects.filter(user=OuterRef("pk"))),
        )
        .prefetch_related("groups")
        .order_by("username")
    )


def login_attempts() -> QuerySet[Any]:
    """Failed-login counters django-axes keeps, newest first (locked ones reached the limit)."""
    attempts: QuerySet[Any] = AccessAttempt.objects.order_by("-attempt_time", "-id")
    return attempts
