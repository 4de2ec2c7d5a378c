"""Domains, mailboxes, aliases and the quota usage Dovecot writes back."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse

from accounts.rules import address_to_unicode, domain_to_unicode
from mailadmin.lib.auth import ACCOUNT_EDITORS, Role, has_role, is_org_wide, user_roles


def idna_to_unicode(ascii_name: str) -> str:
    return domain_to_unicode(ascii_name)


def _edits_every_domain(user: Any) -> bool:
    """Superusers and mail administrators edit every domain; others only assigned ones."""
    return has_role(user, ACCOUNT_EDITORS) and (
        user.is_superuser or Role.MAIL_ADMIN in user_roles(user)
    )


class DomainQuerySet(models.QuerySet["Domain"]):
    def visible_to(self, user: Any) -> DomainQuerySet:
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if is_org_wide(user):
            return self
        if Role.DOMAIN_ADMIN in user_roles(user):
            return self.filter(administrators=user)
        return self.none()

    def editable_by(self, user: Any) -> DomainQuerySet:
        if not has_role(user, ACCOUNT_EDITORS):
            return self.none()
        if _edits_every_domain(user):
            return self
        return self.filter(administrators=user)


class Domain(models.Model):
    # Stored in its IDNA (ASCII) form, lower case; shown in Unicode via .display_name.
    name = models.CharField(max_length=253, unique=True)
    is_active = models.BooleanField(default=True)
    default_quota_bytes = models.BigIntegerField(default=1_000_000_000)
    default_quota_messages = models.BigIntegerField(default=0)
    # The sum of its mailboxes' quotas may not exceed this; 0 means no limit.
    quota_bytes = models.BigIntegerField(default=0)
    # 0 means no limit.
    max_mailboxes = models.PositiveIntegerField(default=0)
    administrators = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="administered_domains"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = DomainQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quota_bytes__gte=0)
                & Q(default_quota_bytes__gte=0)
                & Q(default_quota_messages__gte=0),
                name="domain_quotas_not_negative",
            ),
            models.CheckConstraint(condition=Q(name=Lower("name")), name="domain_name_lower_case"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("accounts:domain_detail", args=[self.pk])

    @property
    def display_name(self) -> str:
        return idna_to_unicode(self.name)

    @property
    def is_idn(self) -> bool:
        return self.display_name != self.name


class MailboxQuerySet(models.QuerySet["Mailbox"]):
    def active(self) -> MailboxQuerySet:
        return self.filter(is_active=True, domain__is_active=True)

    def in_domain(self, domain: Domain) -> MailboxQuerySet:
        return self.filter(domain=domain)

    def visible_to(self, user: Any) -> MailboxQuerySet:
        # Org-wide readers see everything: no "domain IN (all domains)" semi-join on every list.
        if getattr(user, "is_authenticated", False) and is_org_wide(user):
            return self
        return self.filter(domain__in=Domain.objects.visible_to(user))

    def editable_by(self, user: Any) -> MailboxQuerySet:
        if _edits_every_domain(user):
            return self
        return self.filter(domain__in=Domain.objects.editable_by(user))


class Mailbox(models.Model):
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="mailboxes")
    local_part = models.CharField(max_length=64)
    # local_part@domain.name in ASCII form. Domain names never change, so the copy is stable;
    # it is what Dovecot looks up and what the list sorts and searches by.
    address = models.CharField(max_length=318, unique=True)
    display_name = models.CharField(max_length=200, blank=True)
    # "{ARGON2ID}$argon2id$..." or "{BLF-CRYPT}$2b$..." — never a plain password.
    password_hash = models.CharField(max_length=255)
    is_active = models.BooleanField(default=True)
    quota_bytes = models.BigIntegerField(default=0)  # 0 = no limit
    quota_messages = models.BigIntegerField(default=0)  # 0 = no limit
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = MailboxQuerySet.as_manager()

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "mailboxes"
        constraints = [
            models.UniqueConstraint(fields=["domain", "local_part"], name="mailbox_unique_address"),
            models.CheckConstraint(
                condition=Q(quota_bytes__gte=0) & Q(quota_messages__gte=0),
                name="mailbox_quotas_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(password_hash__startswith="{"),  # noqa: S106 - a scheme prefix, not a secret
                name="mailbox_password_is_scheme_hash",
            ),
        ]
        indexes = [
            # mailbox list filtered by domain, ordered by address
            models.Index(fields=["domain", "address"], name="mailbox_domain_address_idx"),
        ]

    def __str__(self) -> str:
        return self.display_address

    def get_absolute_url(self) -> str:
        return reverse("accounts:mailbox_detail", args=[self.pk])

    @property
    def display_address(self) -> str:
        local, _, domain = self.address.partition("@")
        return f"{local}@{idna_to_unicode(domain)}"

    @property
    def password_scheme(self) -> str:
        return self.password_hash.partition("}")[0].lstrip("{")


class QuotaUsage(models.Model):
    """Written by Dovecot's quota_clone plugin through a SQL dict; read by the dashboard.

    The key is the Dovecot username (the mailbox address), not a foreign key: Dovecot writes
    rows on its own schedule and must never fail on a constraint.
    """

    username = models.CharField(max_length=318, primary_key=True)
    bytes = models.BigIntegerField(default=0)
    messages = models.BigIntegerField(default=0)

    class Meta:
        db_table = "quota_usage"

    def __str__(self) -> str:
        return f"{self.username}: {self.bytes} B, {self.messages} messages"


class AliasQuerySet(models.QuerySet["Alias"]):
    def visible_to(self, user: Any) -> AliasQuerySet:
        if getattr(user, "is_authenticated", False) and is_org_wide(user):
            return self
        return self.filter(domain__in=Domain.objects.visible_to(user))

    def editable_by(self, user: Any) -> AliasQuerySet:
        if _edits_every_domain(user):
            return self
        return self.filter(domain__in=Domain.objects.editable_by(user))


class Alias(models.Model):
    domain = models.ForeignKey(Domain, on_delete=models.PROTECT, related_name="aliases")
    local_part = models.CharField(max_length=64)
    address = models.CharField(max_length=318, unique=True)
    # One address per line: mailboxes, other aliases or external addresses.
    destinations = models.JSONField(default=list)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AliasQuerySet.as_manager()

    class Meta:
        ordering = ["address"]
        verbose_name_plural = "aliases"
        constraints = [
            models.UniqueConstraint(fields=["domain", "local_part"], name="alias_unique_address"),
        ]

    def __str__(self) -> str:
        return self.display_address

    def get_absolute_url(self) -> str:
        return reverse("accounts:alias_detail", args=[self.pk])

    @property
    def display_address(self) -> str:
        local, _, domain = self.address.partition("@")
        return f"{local}@{idna_to_unicode(domain)}"

    @property
    def display_destinations(self) -> list[str]:
        return [address_to_unicode(d) for d in self.destinations]


class MailboxImport(models.Model):
    """One CSV import of mailboxes: what was uploaded, its progress and every refused row.

    The CSV may hold plain passwords: the service empties `csv_text` once the import ran.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Waiting for a worker"
        CHECKING = "checking", "Checking rows"
        APPLYING = "applying", "Creating mailboxes"
        DONE = "done", "Finished"
        FAILED = "failed", "Refused"

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="mailbox_imports"
    )
    filename = models.CharField(max_length=255, blank=True)
    is_dry_run = models.BooleanField(default=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    csv_text = models.TextField(blank=True)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    created_count = models.PositiveIntegerField(default=0)
    # [{"line": 3, "address": "...", "message": "..."}], in line order.
    errors = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        kind = "dry run" if self.is_dry_run else "import"
        return f"Mailbox {kind} #{self.pk} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("accounts:mailbox_import_detail", args=[self.pk])

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.FAILED}

    @property
    def percent(self) -> int:
        if not self.total:
            return 100 if self.is_finished else 0
        return min(100, round(self.processed * 100 / self.total))
