"""Health checks: endpoints, their probe results, state changes, maintenance windows, alert
channels and hourly rollups (DESIGN.md "Health checks")."""

from __future__ import annotations

from typing import Any

from django.db import models
from django.db.models import Q
from django.urls import reverse

from mailadmin.lib.auth import ORG_EDITORS, READERS, has_role


class Protocol(models.TextChoices):
    IMAP = "imap", "IMAP"
    POP3 = "pop3", "POP3"


class Transport(models.TextChoices):
    IMPLICIT_TLS = "implicit_tls", "Implicit TLS (IMAPS, POP3S)"
    STARTTLS = "starttls", "STARTTLS, then log in"
    PLAINTEXT_MUST_REFUSE = "plaintext_must_refuse", "Plaintext port that must refuse logins"


class State(models.TextChoices):
    OK = "ok", "OK"
    WARNING = "warning", "Warning"
    CRITICAL = "critical", "Critical"
    UNKNOWN = "unknown", "Unknown"


# Worst first: the order the board sorts by and the severity a probe reports.
STATE_SEVERITY = {State.OK: 0, State.UNKNOWN: 1, State.WARNING: 2, State.CRITICAL: 3}


class EndpointQuerySet(models.QuerySet["Endpoint"]):
    def visible_to(self, user: Any) -> EndpointQuerySet:
        return self if has_role(user, READERS) else self.none()

    def editable_by(self, user: Any) -> EndpointQuerySet:
        return self if has_role(user, ORG_EDITORS) else self.none()

    def due(self, now: Any) -> EndpointQuerySet:
        return self.filter(is_enabled=True, next_run_at__lte=now)


class Endpoint(models.Model):
    """One IMAP or POP3 listener probed from the outside on a schedule."""

    name = models.CharField(max_length=100, unique=True)
    host = models.CharField(max_length=253)
    port = models.PositiveIntegerField()
    protocol = models.CharField(max_length=8, choices=Protocol.choices, default=Protocol.IMAP)
    transport = models.CharField(
        max_length=24, choices=Transport.choices, default=Transport.IMPLICIT_TLS
    )
    # The name the certificate must carry; empty means the host name.
    expected_cert_name = models.CharField(max_length=253, blank=True, default="")
    probe_username = models.CharField(max_length=318, blank=True, default="")
    # Fernet token (monitoring/secrets.py); never shown again once saved.
    probe_password_encrypted = models.TextField(blank=True, default="")
    interval_seconds = models.PositiveIntegerField(default=60)
    timeout_seconds = models.PositiveIntegerField(default=10)
    latency_warn_ms = models.PositiveIntegerField(default=1000)
    latency_crit_ms = models.PositiveIntegerField(default=5000)
    cert_days_warn = models.PositiveIntegerField(default=21)
    cert_days_crit = models.PositiveIntegerField(default=7)
    # Bind the probe to this local address (the vantage point must not look like the mail host).
    source_address = models.GenericIPAddressField(null=True, blank=True)
    failure_threshold = models.PositiveIntegerField(default=2)
    recovery_threshold = models.PositiveIntegerField(default=1)
    # Send a reminder while still failing after this long; 0 = never.
    reminder_minutes = models.PositiveIntegerField(default=240)
    is_enabled = models.BooleanField(default=True)
    next_run_at = models.DateTimeField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.UNKNOWN)
    state_since = models.DateTimeField()
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_alert_at = models.DateTimeField(null=True, blank=True)
    last_result = models.ForeignKey(
        "ProbeResult", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EndpointQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(port__gte=1, port__lte=65535), name="endpoint_port_range"
            ),
            models.CheckConstraint(
                condition=Q(interval_seconds__gte=10, interval_seconds__lte=86400),
                name="endpoint_interval_range",
            ),
            models.CheckConstraint(
                condition=Q(timeout_seconds__gte=1, timeout_seconds__lte=120),
                name="endpoint_timeout_range",
            ),
            models.CheckConstraint(
                condition=Q(latency_warn_ms__lte=models.F("latency_crit_ms")),
                name="endpoint_latency_warn_below_crit",
            ),
            models.CheckConstraint(
                condition=Q(cert_days_warn__gte=models.F("cert_days_crit")),
                name="endpoint_cert_warn_above_crit",
            ),
            models.CheckConstraint(
                condition=Q(failure_threshold__gte=1, recovery_threshold__gte=1),
                name="endpoint_thresholds_positive",
            ),
        ]
        indexes = [
            # run_due_probes: WHERE is_enabled AND next_run_at <= now ORDER BY next_run_at
            models.Index(fields=["is_enabled", "next_run_at"], name="endpoint_due_idx"),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("monitoring:endpoint_detail", args=[self.pk])

    @property
    def cert_name(self) -> str:
        return self.expected_cert_name or self.host

    @property
    def has_probe_account(self) -> bool:
        return bool(self.probe_username and self.probe_password_encrypted)


class WindowKind(models.TextChoices):
    ONE_OFF = "one_off", "One-off"
    WEEKLY = "weekly", "Weekly"


class Weekday(models.IntegerChoices):
    MONDAY = 0, "Monday"
    TUESDAY = 1, "Tuesday"
    WEDNESDAY = 2, "Wednesday"
    THURSDAY = 3, "Thursday"
    FRIDAY = 4, "Friday"
    SATURDAY = 5, "Saturday"
    SUNDAY = 6, "Sunday"


class MaintenanceWindow(models.Model):
    """While one is open, state changes are still recorded but no alert is sent.

    One-off: starts_at..ends_at. Weekly: every `weekday` at `start_time` (UTC) for
    `duration_minutes`.
    """

    endpoint = models.ForeignKey(
        Endpoint, on_delete=models.CASCADE, related_name="maintenance_windows"
    )
    kind = models.CharField(max_length=8, choices=WindowKind.choices)
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    weekday = models.PositiveSmallIntegerField(choices=Weekday.choices, null=True, blank=True)
    start_time = models.TimeField(null=True, blank=True)
    duration_minutes = models.PositiveIntegerField(null=True, blank=True)
    reason = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "starts_at", "weekday", "start_time"]
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(
                        kind="one_off",
                        starts_at__isnull=False,
                        ends_at__gt=models.F("starts_at"),
                    )
                    | Q(
                        kind="weekly",
                        weekday__isnull=False,
                        start_time__isnull=False,
                        duration_minutes__gte=1,
                        duration_minutes__lte=7 * 24 * 60,
                    )
                ),
                name="maintenance_window_shape",
            ),
        ]

    def __str__(self) -> str:
        if self.kind == WindowKind.ONE_OFF:
            return f"{self.starts_at:%Y-%m-%d %H:%M} to {self.ends_at:%Y-%m-%d %H:%M} UTC"
        return (
            f"Every {self.get_weekday_display()} {self.start_time:%H:%M} UTC "
            f"for {self.duration_minutes} min"
        )


class ProbeResult(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="results")
    started_at = models.DateTimeField()
    outcome = models.CharField(max_length=10, choices=State.choices)
    summary = models.CharField(max_length=300)
    details = models.JSONField(default=dict, blank=True)
    total_ms = models.FloatField(null=True, blank=True)
    dns_ms = models.FloatField(null=True, blank=True)
    connect_ms = models.FloatField(null=True, blank=True)
    tls_ms = models.FloatField(null=True, blank=True)
    greeting_ms = models.FloatField(null=True, blank=True)
    starttls_ms = models.FloatField(null=True, blank=True)
    capability_ms = models.FloatField(null=True, blank=True)
    login_ms = models.FloatField(null=True, blank=True)
    select_ms = models.FloatField(null=True, blank=True)
    logout_ms = models.FloatField(null=True, blank=True)
    tls_version = models.CharField(max_length=16, blank=True, default="")
    cipher = models.CharField(max_length=100, blank=True, default="")
    cert_subject = models.CharField(max_length=500, blank=True, default="")
    cert_issuer = models.CharField(max_length=500, blank=True, default="")
    cert_sans = models.JSONField(default=list, blank=True)
    cert_not_after = models.DateTimeField(null=True, blank=True)
    cert_days_left = models.IntegerField(null=True, blank=True)
    chain_ok = models.BooleanField(null=True, blank=True)
    hostname_ok = models.BooleanField(null=True, blank=True)
    error = models.TextField(blank=True, default="")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            # endpoint history, last result, uptime windows and rollups per endpoint
            models.Index(fields=["endpoint", "-started_at"], name="probe_result_endpoint_idx"),
            # retention purge and the board's 24 h aggregate
            models.Index(fields=["started_at"], name="probe_result_started_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.started_at:%Y-%m-%d %H:%M:%S} {self.outcome}"

    @property
    def is_ok(self) -> bool:
        return self.outcome == State.OK


class StateChange(models.Model):
    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="state_changes")
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    at = models.DateTimeField()
    summary = models.CharField(max_length=300)
    # Why no alert went out ("maintenance window", "initial state"), or "" when one did.
    silenced_reason = models.CharField(max_length=100, blank=True, default="")

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [
            # endpoint page: state history
            models.Index(fields=["endpoint", "-at"], name="state_change_endpoint_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.from_state} → {self.to_state} at {self.at:%Y-%m-%d %H:%M}"


class ChannelKind(models.TextChoices):
    EMAIL = "email", "E-mail"
    WEBHOOK = "webhook", "Webhook (JSON POST)"


class NotificationChannel(models.Model):
    """Where alerts go: every enabled channel receives every endpoint's alerts."""

    name = models.CharField(max_length=100, unique=True)
    kind = models.CharField(max_length=8, choices=ChannelKind.choices)
    # An e-mail address or an http(s) URL, depending on kind.
    target = models.CharField(max_length=500)
    is_enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    @property
    def target_masked(self) -> str:
        """The target without a webhook's path and query (they often hold a secret token)."""
        if self.kind != ChannelKind.WEBHOOK:
            return self.target
        scheme, _, rest = self.target.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0]}/…"


class Rollup(models.Model):
    """One endpoint's results over one UTC hour; kept a year after raw results are purged."""

    endpoint = models.ForeignKey(Endpoint, on_delete=models.CASCADE, related_name="rollups")
    hour = models.DateTimeField()
    count = models.PositiveIntegerField()
    ok_count = models.PositiveIntegerField()
    p50_ms = models.FloatField(null=True, blank=True)
    p95_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-hour"]
        constraints = [
            models.UniqueConstraint(fields=["endpoint", "hour"], name="rollup_endpoint_hour"),
            models.CheckConstraint(
                condition=Q(ok_count__lte=models.F("count")), name="rollup_ok_within_count"
            ),
        ]
        indexes = [
            # purge of rollups older than a year
            models.Index(fields=["hour"], name="rollup_hour_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.endpoint_id} {self.hour:%Y-%m-%d %H:00} {self.ok_count}/{self.count}"
