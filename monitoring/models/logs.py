"""Log collection (issue 6): sources, settings, connection and mailbox events, findings
(DESIGN.md "Log collection")."""

from __future__ import annotations

from typing import Any, TypeVar

from django.conf import settings
from django.db import models
from django.db.models import Q

from mailadmin.lib.auth import ORG_EDITORS, READERS, has_role


class LogSourceQuerySet(models.QuerySet["LogSource"]):
    def visible_to(self, user: Any) -> LogSourceQuerySet:
        return self if has_role(user, READERS) else self.none()

    def editable_by(self, user: Any) -> LogSourceQuerySet:
        return self if has_role(user, ORG_EDITORS) else self.none()


class LogSource(models.Model):
    """One Dovecot log file on one mail host, read incrementally by a worker on that host.

    The checkpoint (file identity, offset, hash of the first line) is saved in the same
    transaction as the events read up to it (monitoring/collector.py).
    """

    name = models.CharField(max_length=100, unique=True)
    path = models.CharField(max_length=500)
    host_label = models.CharField(max_length=100)
    is_enabled = models.BooleanField(default=True)
    # Celery queue of the worker on that host; empty = the default queue.
    queue = models.CharField(max_length=100, blank=True, default="")
    # The zone of the host's log_timestamp (Dovecot writes local time without an offset).
    timezone_name = models.CharField(max_length=64, default="UTC")
    file_device = models.BigIntegerField(null=True, blank=True)
    file_inode = models.BigIntegerField(null=True, blank=True)
    offset_bytes = models.BigIntegerField(default=0)
    head_hash = models.CharField(max_length=64, blank=True, default="")
    lines_read = models.BigIntegerField(default=0)
    unknown_lines = models.BigIntegerField(default=0)
    # The last few unknown lines, newest last (at most LOG_UNKNOWN_SAMPLES).
    unknown_samples = models.JSONField(default=list, blank=True)
    last_collected_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LogSourceQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(offset_bytes__gte=0), name="log_source_offset_not_negative"
            ),
            # Two sources reading one file would store every event twice.
            models.UniqueConstraint(fields=["host_label", "path"], name="log_source_host_path"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.host_label}:{self.path})"


class LogSettings(models.Model):
    """Organisation-wide log settings: one row (pk=1)."""

    # Sender and subject of messages are personal data: stored only when this is on.
    store_sender_subject = models.BooleanField(default=False)
    burst_threshold = models.PositiveIntegerField(default=10)
    burst_window_minutes = models.PositiveIntegerField(default=10)
    retention_days = models.PositiveIntegerField(default=180)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "log settings"
        constraints = [
            models.CheckConstraint(condition=Q(pk=1), name="log_settings_singleton"),
            models.CheckConstraint(
                condition=Q(burst_threshold__gte=2, burst_window_minutes__gte=1),
                name="log_settings_burst_sensible",
            ),
            models.CheckConstraint(
                condition=Q(retention_days__gte=1), name="log_settings_retention_positive"
            ),
        ]

    def __str__(self) -> str:
        return "Log settings"


_Q = TypeVar("_Q", bound=models.QuerySet[Any])


def _scoped_by_domain(queryset: _Q, user: Any) -> _Q:
    """Org-wide readers see all; domain administrators only rows of their domains' users."""
    from accounts.models import Domain
    from mailadmin.lib.auth import is_org_wide

    if not has_role(user, READERS):
        return queryset.none()
    if is_org_wide(user):
        return queryset
    names = Domain.objects.visible_to(user).values_list("name", flat=True)
    return queryset.filter(domain_name__in=names)


class ConnectionEventQuerySet(models.QuerySet["ConnectionEvent"]):
    def visible_to(self, user: Any) -> ConnectionEventQuerySet:
        return _scoped_by_domain(self, user)


class MailboxEventQuerySet(models.QuerySet["MailboxEvent"]):
    def visible_to(self, user: Any) -> MailboxEventQuerySet:
        return _scoped_by_domain(self, user)


class ConnectionEvent(models.Model):
    """A login, a refused or failed login, or the end of a session (with its counters)."""

    source = models.ForeignKey(
        LogSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    host = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    protocol = models.CharField(max_length=16, blank=True)
    username = models.CharField(max_length=318, blank=True)
    # The part after "@" (lower case), for domain administrators' scoping.
    domain_name = models.CharField(max_length=253, blank=True)
    outcome = models.CharField(max_length=24)
    reason = models.CharField(max_length=300, blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    client_port = models.PositiveIntegerField(null=True, blank=True)
    server_ip = models.GenericIPAddressField(null=True, blank=True)
    server_port = models.PositiveIntegerField(null=True, blank=True)
    is_tls = models.BooleanField(default=False)
    tls_version = models.CharField(max_length=16, blank=True)
    method = models.CharField(max_length=20, blank=True)
    session_id = models.CharField(max_length=40, blank=True)
    listener = models.CharField(max_length=40, blank=True)
    auth_attempts = models.PositiveIntegerField(null=True, blank=True)
    bytes_in = models.BigIntegerField(null=True, blank=True)
    bytes_out = models.BigIntegerField(null=True, blank=True)
    messages_fetched = models.PositiveIntegerField(null=True, blank=True)
    messages_deleted = models.PositiveIntegerField(null=True, blank=True)

    objects = ConnectionEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # mailbox page: recent connections, last login per protocol, failed logins
            models.Index(fields=["username", "-occurred_at"], name="conn_event_user_idx"),
            # connection search by client address; bursts per client
            models.Index(fields=["client_ip", "-occurred_at"], name="conn_event_client_idx"),
            # connection search without a user; purge by age
            models.Index(fields=["-occurred_at"], name="conn_event_time_idx"),
            # readiness report: POP3 users in the last 30 days, per domain
            models.Index(
                fields=["domain_name", "protocol", "-occurred_at"], name="conn_event_domain_idx"
            ),
            # a late login-process line completing an auth-process network refusal
            models.Index(fields=["session_id"], name="conn_event_session_idx"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.protocol} {self.username} {self.outcome}"
        )

    @property
    def is_failure(self) -> bool:
        return self.outcome in LOG_FAILED_OUTCOMES


# Kept in sync with monitoring.logparse.FAILED_OUTCOMES (models must not import the parser).
LOG_FAILED_OUTCOMES = frozenset(
    {
        "auth_failed",
        "plaintext_disabled",
        "policy_refused",
        "network_refused",
        "too_many_connections",
    }
)
LOG_UNKNOWN_SAMPLES = 20


class MailboxEvent(models.Model):
    """One mail_log action on a mailbox: expunge, save, copy, folder create/delete/rename ..."""

    source = models.ForeignKey(
        LogSource, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    host = models.CharField(max_length=100)
    occurred_at = models.DateTimeField()
    service = models.CharField(max_length=32, blank=True)
    username = models.CharField(max_length=318)
    domain_name = models.CharField(max_length=253, blank=True)
    action = models.CharField(max_length=24)
    folder = models.CharField(max_length=255, blank=True)
    other_folder = models.CharField(max_length=255, blank=True)
    uid = models.BigIntegerField(null=True, blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    size_bytes = models.BigIntegerField(null=True, blank=True)
    flags = models.CharField(max_length=200, blank=True)
    # Empty unless LogSettings.store_sender_subject was on when the line was read.
    sender = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=300, blank=True)
    session_id = models.CharField(max_length=40, blank=True)

    objects = MailboxEventQuerySet.as_manager()

    class Meta:
        ordering = ["-occurred_at", "-id"]
        indexes = [
            # mailbox page and event search by user
            models.Index(fields=["username", "-occurred_at"], name="mbox_event_user_idx"),
            # event search by action and time; purge by age
            models.Index(fields=["action", "-occurred_at"], name="mbox_event_action_idx"),
            models.Index(fields=["-occurred_at"], name="mbox_event_time_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M:%S} {self.username} {self.action} {self.folder}"


class FindingKind(models.TextChoices):
    POP3_WITHOUT_EXCEPTION = "pop3_without_exception", "POP3 attempt without an exception"
    NO_TLS = "no_tls", "Login attempt without TLS"
    FAILED_BURST_USER = "failed_burst_user", "Failed-login burst on a mailbox"
    FAILED_BURST_CLIENT = "failed_burst_client", "Failed-login burst from a client address"
    NETWORK_REFUSED = "network_refused", "Login refused by network rules"
    HOLD_DELETION = "hold_deletion", "Deletion by a custodian on hold"


class Severity(models.TextChoices):
    INFO = "info", "Information"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"


class FindingQuerySet(models.QuerySet["Finding"]):
    def open(self) -> FindingQuerySet:
        return self.filter(acknowledged_at__isnull=True)

    def visible_to(self, user: Any) -> FindingQuerySet:
        """As events; findings about a client address (no domain) are for org-wide readers."""
        return _scoped_by_domain(self, user)


class Finding(models.Model):
    """Something in the logs worth a look; one open finding per (kind, subject)."""

    kind = models.CharField(max_length=32, choices=FindingKind.choices)
    # A mailbox address or a client IP address.
    subject = models.CharField(max_length=318)
    domain_name = models.CharField(max_length=253, blank=True)
    severity = models.CharField(max_length=10, choices=Severity.choices)
    summary = models.CharField(max_length=300)
    count = models.PositiveIntegerField(default=1)
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()
    notified_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    acknowledge_note = models.CharField(max_length=300, blank=True, default="")

    objects = FindingQuerySet.as_manager()

    class Meta:
        ordering = ["-last_seen_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "subject"],
                condition=Q(acknowledged_at__isnull=True),
                name="finding_one_open_per_subject",
            ),
            models.CheckConstraint(
                condition=Q(last_seen_at__gte=models.F("first_seen_at")),
                name="finding_seen_in_order",
            ),
        ]
        indexes = [
            # overview summary and findings list: open ones, newest first
            models.Index(fields=["acknowledged_at", "-last_seen_at"], name="finding_open_idx"),
            # mailbox page: findings about this address
            models.Index(fields=["subject"], name="finding_subject_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.subject} ({self.count} times)"

    @property
    def is_open(self) -> bool:
        return self.acknowledged_at is None
