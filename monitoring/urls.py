from __future__ import annotations

from django.urls import path

from monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("", views.board, name="board"),
    path("endpoints/new/", views.endpoint_create, name="endpoint_create"),
    path("endpoints/<int:endpoint_id>/", views.endpoint_detail, name="endpoint_detail"),
    path("endpoints/<int:endpoint_id>/edit/", views.endpoint_edit, name="endpoint_edit"),
    path("endpoints/<int:endpoint_id>/delete/", views.endpoint_delete, name="endpoint_delete"),
    path("endpoints/<int:endpoint_id>/probe/", views.endpoint_probe, name="endpoint_probe"),
    path(
        "endpoints/<int:endpoint_id>/probe/status/",
        views.endpoint_probe_status,
        name="endpoint_probe_status",
    ),
    path("endpoints/<int:endpoint_id>/windows/", views.window_create, name="window_create"),
    path(
        "endpoints/<int:endpoint_id>/windows/<int:window_id>/delete/",
        views.window_delete,
        name="window_delete",
    ),
    path("channels/", views.channel_list, name="channel_list"),
    path("channels/new/", views.channel_create, name="channel_create"),
    path("channels/<int:channel_id>/toggle/", views.channel_toggle, name="channel_toggle"),
    path("channels/<int:channel_id>/test/", views.channel_test, name="channel_test"),
    path("channels/<int:channel_id>/delete/", views.channel_delete, name="channel_delete"),
    # Also to be mounted at /metrics by the project urls (see the report to the lead).
    path("metrics", views.metrics_view, name="metrics"),
]

# --- log collection (issue 6) -----------------------------------------------------------------
from monitoring import log_views  # noqa: E402 - appended section, kept apart from the health URLs

urlpatterns += [
    path("logs/", log_views.connection_list, name="log_connections"),
    path("logs/connections.csv", log_views.connection_export, name="log_connection_export"),
    path("logs/mailbox-events/", log_views.mailbox_event_list, name="log_mailbox_events"),
    path("logs/findings/", log_views.finding_list, name="log_findings"),
    path(
        "logs/findings/acknowledge/",
        log_views.finding_acknowledge,
        name="log_finding_acknowledge",
    ),
    path("logs/mailboxes/<int:mailbox_id>/", log_views.mailbox_logs, name="log_mailbox"),
    path("logs/readiness/<int:domain_id>/", log_views.readiness, name="log_readiness"),
    path(
        "logs/readiness/<int:domain_id>/export.csv",
        log_views.readiness_export,
        name="log_readiness_export",
    ),
    path("logs/settings/", log_views.log_settings, name="log_settings"),
    path("logs/sources/new/", log_views.log_source_create, name="log_source_create"),
    path("logs/sources/<int:source_id>/edit/", log_views.log_source_edit, name="log_source_edit"),
    path(
        "logs/sources/<int:source_id>/disable/",
        log_views.log_source_disable,
        name="log_source_disable",
    ),
    path(
        "logs/sources/<int:source_id>/enable/",
        log_views.log_source_enable,
        name="log_source_enable",
    ),
    path(
        "logs/sources/<int:source_id>/collect/",
        log_views.log_source_collect,
        name="log_source_collect",
    ),
    path(
        "logs/sources/<int:source_id>/collect/status/",
        log_views.log_source_collect_status,
        name="log_source_collect_status",
    ),
]
