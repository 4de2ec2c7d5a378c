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


# --- Retention rules (issue 4) ---------------------------------------------------------------


class RetentionRule(models.Model):
    """After how many days the server deletes messages in one folder (Dovecot's autoexpunge).

    `domain` None is the organisation default; a domain's rule for a folder overrides it.
    `retention_days` 0 keeps messages for ever. A mailbox on legal hold gets 0 everywhere.
    """

    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.CASCADE, related_name="retention_rules"
    )
    folder = models.CharField(max_length=100)
    retention_days = models.PositiveIntegerField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["folder"]
        constraints = [
            models.UniqueConstraint(
                fields=["folder"],
                condition=Q(domain__isnull=True),
                name="retention_org_folder_unique",
            ),
            models.UniqueConstraint(
                fields=["domain", "folder"],
                condition=Q(domain__isnull=False),
                name="retention_domain_folder_unique",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__lte=36500), name="retention_days_at_most_100_years"
            ),
            models.CheckConstraint(condition=~Q(folder=""), name="retention_has_folder"),
        ]

    def __str__(self) -> str:
        scope = self.domain.name if self.domain is not None else "organisation"
        return f"{self.folder}: {self.retention_days} days ({scope})"


# --- Legal holds (issue 4) -------------------------------------------------------------------


class LegalHoldQuerySet(models.QuerySet["LegalHold"]):
    def active(self) -> LegalHoldQuerySet:
        return self.filter(released_at__isnull=True)

    def covering(self, mailbox: Mailbox) -> LegalHoldQuerySet:
        """Active holds with a current custodian that is this mailbox or its domain."""
        return self.active().filter(
            Q(custodians__mailbox_id=mailbox.pk) | Q(custodians__domain_id=mailbox.domain_id),
            custodians__removed_at__isnull=True,
        )


class LegalHold(models.Model):
    """A matter's preservation order: while active, nothing its custodians hold is purged.

    `starts_on`/`ends_on` are the matter's dates as counsel gave them; a hold stays in force
    until someone releases it with a reason (an end date never releases it by itself).
    """

    matter_name = models.CharField(max_length=200)
    matter_reference = models.CharField(max_length=100)
    description = models.TextField(blank=True, default="")
    reason = models.TextField()
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)
    placed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    placed_at = models.DateTimeField()
    released_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    release_reason = models.TextField(blank=True, default="")
    # Set by the verification task when a custodian mailbox is not really preserved.
    verification_failed_at = models.DateTimeField(null=True, blank=True)
    verification_error = models.TextField(blank=True, default="")
    verified_at = models.DateTimeField(null=True, blank=True)

    objects = LegalHoldQuerySet.as_manager()

    class Meta:
        ordering = ["-placed_at"]
        constraints = [
            models.CheckConstraint(condition=~Q(reason=""), name="hold_has_reason"),
            models.CheckConstraint(condition=~Q(matter_name=""), name="hold_has_matter_name"),
            models.CheckConstraint(
                condition=Q(released_at__isnull=True) | ~Q(release_reason=""),
                name="hold_release_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")),
                name="hold_ends_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.matter_name} ({self.matter_reference})"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("policies:hold_detail", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.released_at is None


class CustodianKind(models.TextChoices):
    MAILBOX = "mailbox", "Mailbox"
    DOMAIN = "domain", "Whole domain"


class HoldCustodian(models.Model):
    """One mailbox, or a whole domain (including mailboxes created later), under a hold.

    `name` keeps the address or domain name: the history survives a later deletion.
    """

    hold = models.ForeignKey(LegalHold, on_delete=models.CASCADE, related_name="custodians")
    kind = models.CharField(max_length=8, choices=CustodianKind.choices)
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="hold_custodians"
    )
    domain = models.ForeignKey(
        Domain, null=True, blank=True, on_delete=models.SET_NULL, related_name="hold_custodians"
    )
    name = models.CharField(max_length=318)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    added_at = models.DateTimeField()
    add_reason = models.TextField()
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    remove_reason = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(mailbox__isnull=True) | Q(domain__isnull=True),
                name="custodian_mailbox_or_domain",
            ),
            models.CheckConstraint(condition=~Q(add_reason=""), name="custodian_has_reason"),
            models.CheckConstraint(
                condition=Q(removed_at__isnull=True) | ~Q(remove_reason=""),
                name="custodian_removal_has_reason",
            ),
        ]
        indexes = [
            # the Dovecot view's "is this mailbox held" subquery (by mailbox, by domain)
            models.Index(fields=["mailbox", "removed_at"], name="custodian_mailbox_idx"),
            models.Index(fields=["domain", "removed_at"], name="custodian_domain_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.name} under {self.hold}"

    @property
    def is_current(self) -> bool:
        return self.removed_at is None


class HoldEnforcement(models.Model):
    """The mail server's side of one held mailbox: pending until the worker has created the
    preservation folder and kicked old sessions; then in force. Verified periodically."""

    custodian = models.ForeignKey(
        HoldCustodian, on_delete=models.CASCADE, related_name="enforcements"
    )
    mailbox = models.ForeignKey(
        Mailbox, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    address = models.CharField(max_length=318)
    created_at = models.DateTimeField()
    in_force_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True, default="")
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    preserved_messages = models.PositiveIntegerField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verification_error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["address"]
        constraints = [
            models.UniqueConstraint(
                fields=["custodian", "mailbox"], name="enforcement_custodian_mailbox_unique"
            ),
        ]

    def __str__(self) -> str:
        state = "in force" if self.in_force_at else "pending"
        return f"{self.address}: {state}"
