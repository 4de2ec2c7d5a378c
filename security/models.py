"""Which dashboard roles must log in with a second factor (the devices are django-otp's)."""

from __future__ import annotations

from django.db import models
from django.db.models import Q

# The policy's fields by role code ("superuser" stands for Django's superuser flag).
REQUIREMENT_FIELDS = {
    "superuser": "is_required_superuser",
    "mail_admin": "is_required_mail_admin",
    "domain_admin": "is_required_domain_admin",
    "compliance_officer": "is_required_compliance_officer",
    "auditor": "is_required_auditor",
}


class SecurityPolicy(models.Model):
    """The organisation's two-factor rule: exactly one row (pk=1), created on first read."""

    is_required_superuser = models.BooleanField("Superusers", default=True)
    is_required_mail_admin = models.BooleanField("Mail administrators", default=True)
    is_required_domain_admin = models.BooleanField("Domain administrators", default=False)
    is_required_compliance_officer = models.BooleanField("Compliance officers", default=True)
    is_required_auditor = models.BooleanField("Auditors", default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "security policy"
        verbose_name_plural = "security policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="security_policy_single_row"),
        ]

    def __str__(self) -> str:
        return "Security policy"

    @property
    def required_by_role(self) -> dict[str, bool]:
        return {role: bool(getattr(self, field)) for role, field in REQUIREMENT_FIELDS.items()}
