"""Read-only staff views of health data: every change goes through the pages and services
(audited); the stored probe password is never shown."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import admin
from django.db import models
from django.http import HttpRequest

from monitoring.models import (
    Endpoint,
    MaintenanceWindow,
    NotificationChannel,
    ProbeResult,
    Rollup,
    StateChange,
)

if TYPE_CHECKING:
    _ModelAdmin = admin.ModelAdmin[Any]
else:  # ModelAdmin is generic only in django-stubs, not at runtime
    _ModelAdmin = admin.ModelAdmin


class ReadOnlyAdmin(_ModelAdmin):
    actions = None

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: models.Model | None = None) -> bool:
        return False


@admin.register(Endpoint)
class EndpointAdmin(ReadOnlyAdmin):
    list_display = ["name", "host", "port", "protocol", "transport", "state", "is_enabled"]
    list_filter = ["state", "protocol", "transport", "is_enabled"]
    search_fields = ["name", "host"]
    exclude = ["probe_password_encrypted"]


@admin.register(ProbeResult)
class ProbeResultAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "started_at", "outcome", "total_ms", "summary"]
    list_filter = ["outcome"]
    list_select_related = ["endpoint"]
    date_hierarchy = "started_at"


@admin.register(StateChange)
class StateChangeAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "at", "from_state", "to_state", "silenced_reason"]
    list_select_related = ["endpoint"]


@admin.register(MaintenanceWindow)
class MaintenanceWindowAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "kind", "__str__", "reason"]


@admin.register(NotificationChannel)
class NotificationChannelAdmin(ReadOnlyAdmin):
    list_display = ["name", "kind", "target", "is_enabled"]


@admin.register(Rollup)
class RollupAdmin(ReadOnlyAdmin):
    list_display = ["endpoint", "hour", "count", "ok_count", "p50_ms", "p95_ms"]
    list_select_related = ["endpoint"]
