"""Protocol policy (org -> domain -> mailbox), POP3 exceptions and allowed networks.

TLS has no switch anywhere: it is always required; only the minimum version is a setting.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from accounts.models import Domain, Mailbox


class TlsVersion(models.TextChoices):
    TLS1_2 = "TLSv1.2", "TLS 1.2"
    TLS1_3 = "TLSv1.3", "TLS 1.3"


class OrgPolicy(models.Model):
    """The organisation's defaults: exactly one row (pk=1), created by a migration."""

    imap_enabled = models.BooleanField(default=True)
    min_tls_version = models.CharField(
        max_length=8, choices=TlsVersion.choices, default=TlsVersion.TLS1_2
    )
    pop3_max_exception_days = models.PositiveIntegerField(default=90)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "organisation policy"
        verbose_name_plural = "organisation policy"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="org_policy_single_row"),
            models.CheckConstraint(
                condition=Q(pop3_max_exception_days__gte=1, pop3_max_exception_days__lte=366),
                name="org_policy_pop3_max_days_range",
            ),
        ]

    def __str__(self) -> str:
        return "Organisation policy"


class DomainPolicy(models.Model):
    """Per-domain overrides; None inherits the organisation default."""

    domain = models.OneToOneField(Domain, on_delete=models.CASCADE, related_name="policy")
    imap_enabled = models.BooleanField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Policy of {self.domain}"


class MailboxPolicy(models.Model):
    """Per-mailbox overrides; None inherits. allowed_networks: normalised CIDRs, comma-separated
    (the exact text Dovecot's allow_nets takes); empty means any network."""

    mailbox = models.OneToOneField(Mailbox, on_delete=models.CASCADE, related_name="policy")
    imap_enabled = models.BooleanField(null=True, blank=True)
    allowed_networks = models.TextField(blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Policy of {self.mailbox}"


class Pop3ExceptionQuerySet(models.QuerySet["Pop3Exception"]):
    def active_at(self, now: Any) -> Pop3ExceptionQuerySet:
        return self.filter(revoked_at__isnull=True, starts_at__lte=now, expires_at__gt=now)


class Pop3Exception(models.Model):
    """The only way POP3 is ever allowed: one mailbox, a reason, an approver and an expiry."""

    mailbox = models.ForeignKey(Mailbox, on_delete=models.CASCADE, related_name="pop3_exceptions")
    reason = models.TextField()
    approver = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    starts_at = models.DateTimeField()
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    revoke_reason = models.TextField(blank=True, default="")
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = Pop3ExceptionQuerySet.as_manager()

    class Meta:
        ordering = ["expires_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__gt=models.F("starts_at")),
                name="pop3_exception_expires_after_start",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="pop3_exception_has_reason"),
            models.CheckConstraint(
                condition=Q(revoked_at__isnull=True) | ~Q(revoke_reason=""),
                name="pop3_exception_revocation_has_reason",
            ),
        ]
        indexes = [
            # the Dovecot view's "active exception for this mailbox" subquery
            models.Index(fields=["mailbox", "expires_at"], name="pop3_exc_mailbox_expiry_idx"),
        ]

    def __str__(self) -> str:
        return f"POP3 for {self.mailbox} until {self.expires_at:%Y-%m-%d %H:%M}"
