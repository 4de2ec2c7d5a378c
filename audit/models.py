"""The append-only audit trail: one row per change, chained by hash."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class Action(models.TextChoices):
    """Every action code, grouped by app. Later apps add theirs here."""

    DOMAIN_CREATED = "accounts.domain_created", "Domain created"
    DOMAIN_UPDATED = "accounts.domain_updated", "Domain updated"
    DOMAIN_DELETED = "accounts.domain_deleted", "Domain deleted"
    DOMAIN_ADMINS_CHANGED = "accounts.domain_admins_changed", "Domain administrators changed"
    MAILBOX_CREATED = "accounts.mailbox_created", "Mailbox created"
    MAILBOX_UPDATED = "accounts.mailbox_updated", "Mailbox updated"
    MAILBOX_PASSWORD_CHANGED = "accounts.mailbox_password_changed", "Mailbox password changed"
    MAILBOX_QUOTA_CHANGED = "accounts.mailbox_quota_changed", "Mailbox quota changed"
    MAILBOX_SUSPENDED = "accounts.mailbox_suspended", "Mailbox suspended"
    MAILBOX_REACTIVATED = "accounts.mailbox_reactivated", "Mailbox reactivated"
    MAILBOX_DELETED = "accounts.mailbox_deleted", "Mailbox deleted"
    MAILBOXES_IMPORTED = "accounts.mailboxes_imported", "Mailboxes imported"
    ALIAS_CREATED = "accounts.alias_created", "Alias created"
    ALIAS_UPDATED = "accounts.alias_updated", "Alias updated"
    ALIAS_DELETED = "accounts.alias_deleted", "Alias deleted"
    ORG_POLICY_CHANGED = "policies.org_policy_changed", "Organisation policy changed"
    DOMAIN_POLICY_CHANGED = "policies.domain_policy_changed", "Domain policy changed"
    MAILBOX_POLICY_CHANGED = "policies.mailbox_policy_changed", "Mailbox policy changed"
    MAILBOX_NETWORKS_CHANGED = "policies.mailbox_networks_changed", "Allowed networks changed"
    POP3_EXCEPTION_GRANTED = "policies.pop3_exception_granted", "POP3 exception granted"
    POP3_EXCEPTION_REVOKED = "policies.pop3_exception_revoked", "POP3 exception revoked"
    POP3_EXCEPTION_REMINDED = "policies.pop3_exception_reminded", "POP3 expiry reminder sent"
    RETENTION_RULE_CHANGED = "policies.retention_rule_changed", "Retention rule changed"
    HOLD_PLACED = "policies.hold_placed", "Legal hold placed"
    HOLD_CUSTODIAN_ADDED = "policies.hold_custodian_added", "Hold custodian added"
    HOLD_CUSTODIAN_REMOVED = "policies.hold_custodian_removed", "Hold custodian removed"
    HOLD_IN_FORCE = "policies.hold_in_force", "Legal hold in force on the mail server"
    HOLD_RELEASED = "policies.hold_released", "Legal hold released"
    HOLD_VERIFICATION_FAILED = "policies.hold_verification_failed", "Hold verification failed"
    ENDPOINT_CREATED = "monitoring.endpoint_created", "Endpoint created"
    ENDPOINT_UPDATED = "monitoring.endpoint_updated", "Endpoint updated"
    ENDPOINT_DELETED = "monitoring.endpoint_deleted", "Endpoint deleted"
    MAINTENANCE_WINDOW_CREATED = (
        "monitoring.maintenance_window_created",
        "Maintenance window created",
    )
    MAINTENANCE_WINDOW_DELETED = (
        "monitoring.maintenance_window_deleted",
        "Maintenance window deleted",
    )
    CHANNEL_CREATED = "monitoring.channel_created", "Alert channel created"
    CHANNEL_UPDATED = "monitoring.channel_updated", "Alert channel updated"
    CHANNEL_DELETED = "monitoring.channel_deleted", "Alert channel deleted"
    LOG_SOURCE_CREATED = "monitoring.log_source_created", "Log source created"
    LOG_SOURCE_UPDATED = "monitoring.log_source_updated", "Log source updated"
    LOG_SETTINGS_CHANGED = "monitoring.log_settings_changed", "Log settings changed"
    FINDING_ACKNOWLEDGED = "monitoring.finding_acknowledged", "Log finding acknowledged"
    SECURITY_POLICY_CHANGED = "security.policy_changed", "Two-factor policy changed"
    TWO_FACTOR_ENROLLED = "security.two_factor_enrolled", "Two-factor login set up"
    TWO_FACTOR_FAILED = "security.two_factor_failed", "Two-factor code refused"
    TWO_FACTOR_RESET = "security.two_factor_reset", "Two-factor login reset"
    BACKUP_CODE_USED = "security.backup_code_used", "Backup code used"
    BACKUP_CODES_REGENERATED = "security.backup_codes_regenerated", "Backup codes replaced"
    LOGIN_LOCKED_OUT = "security.login_locked_out", "Login locked out"
    LOGIN_UNLOCKED = "security.login_unlocked", "Login unlocked"
    SESSIONS_REVOKED = "security.sessions_revoked", "Logged out everywhere"


class AuditEvent(models.Model):
    created_at = models.DateTimeField(db_index=True)
    # No database FK constraint and DO_NOTHING: deleting a user must never rewrite history
    # (the table refuses UPDATE); actor_repr keeps the name.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_repr = models.CharField(max_length=200)
    # Codes come from Action; not bound as field choices so new codes need no migration.
    action = models.CharField(max_length=64, db_index=True)
    target_type = models.CharField(max_length=64, blank=True)
    target_id = models.CharField(max_length=64, blank=True)
    target_repr = models.CharField(max_length=300, blank=True)
    details = models.JSONField(default=dict, blank=True)
    source = models.CharField(max_length=32, default="system")
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # audit page filtered by target ("history of this mailbox")
            models.Index(fields=["target_type", "target_id", "-id"], name="audit_target_idx"),
            # audit page filtered by actor
            models.Index(fields=["actor_repr", "-id"], name="audit_actor_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.actor_repr} {self.action} {self.target_repr}"

    @property
    def action_label(self) -> str:
        try:
            return str(Action(self.action).label)
        except ValueError:
            return self.action
