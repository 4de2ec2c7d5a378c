from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("domains/", views.domain_list, name="domain_list"),
    path("domains/new/", views.domain_create, name="domain_create"),
    path("domains/<int:domain_id>/", views.domain_detail, name="domain_detail"),
    path("domains/<int:domain_id>/edit/", views.domain_edit, name="domain_edit"),
    path(
        "domains/<int:domain_id>/administrators/",
        views.domain_set_administrators,
        name="domain_set_administrators",
    ),
    path("domains/<int:domain_id>/delete/", views.domain_delete, name="domain_delete"),
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/new/", views.mailbox_create, name="mailbox_create"),
    path("mailboxes/export.csv", views.mailbox_export, name="mailbox_export"),
    path("mailboxes/import/", views.mailbox_import, name="mailbox_import"),
    path(
        "mailboxes/import/<int:import_id>/",
        views.mailbox_import_detail,
        name="mailbox_import_detail",
    ),
    path(
        "mailboxes/import/<int:import_id>/apply/",
        views.mailbox_import_apply,
        name="mailbox_import_apply",
    ),
    path("mailboxes/<int:mailbox_id>/", views.mailbox_detail, name="mailbox_detail"),
    path("mailboxes/<int:mailbox_id>/edit/", views.mailbox_edit, name="mailbox_edit"),
    path(
        "mailboxes/<int:mailbox_id>/password/",
        views.mailbox_set_password,
        name="mailbox_set_password",
    ),
    path("mailboxes/<int:mailbox_id>/quota/", views.mailbox_set_quota, name="mailbox_set_quota"),
    path("mailboxes/<int:mailbox_id>/suspend/", views.mailbox_suspend, name="mailbox_suspend"),
    path(
        "mailboxes/<int:mailbox_id>/reactivate/",
        views.mailbox_reactivate,
        name="mailbox_reactivate",
    ),
    path("mailboxes/<int:mailbox_id>/delete/", views.mailbox_delete, name="mailbox_delete"),
    path("aliases/", views.alias_list, name="alias_list"),
    path("aliases/new/", views.alias_create, name="alias_create"),
    path("aliases/<int:alias_id>/", views.alias_detail, name="alias_detail"),
    path("aliases/<int:alias_id>/edit/", views.alias_edit, name="alias_edit"),
    path("aliases/<int:alias_id>/delete/", views.alias_delete, name="alias_delete"),
]
