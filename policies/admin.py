"""Policy rows in Django's admin: read-only, because every change goes through the audited services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from policies.models import DomainPolicy, MailboxPolicy, OrgPolicy, Pop3Exception


class ReadOnlyAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(OrgPolicy)
class OrgPolicyAdmin(ReadOnlyAdmin):
    list_display = ["imap_enabled", "min_tls_version", "pop3_max_exception_days", "updated_at"]


@admin.register(DomainPolicy)
class DomainPolicyAdmin(ReadOnlyAdmin):
    list_display = ["domain", "imap_enabled", "updated_at"]
    list_select_related = ["domain"]


@admin.register(MailboxPolicy)
class MailboxPolicyAdmin(ReadOnlyAdmin):
    list_display = ["mailbox", "imap_enabled", "allowed_networks", "updated_at"]
    list_select_related = ["mailbox"]
    search_fields = ["mailbox__address"]


@admin.register(Pop3Exception)
class Pop3ExceptionAdmin(ReadOnlyAdmin):
    list_display = ["mailbox", "starts_at", "expires_at", "revoked_at", "approver", "granted_by"]
    list_select_related = ["mailbox", "approver", "granted_by"]
    search_fields = ["mailbox__address", "reason"]
    date_hierarchy = "expires_at"
