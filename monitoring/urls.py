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
