from __future__ import annotations

from django.urls import path

from accounts import views

app_name = "accounts"
urlpatterns = [
    path("domains/", views.domain_list, name="domain_list"),
    path("domains/<int:domain_id>/", views.domain_detail, name="domain_detail"),
    path("mailboxes/", views.mailbox_list, name="mailbox_list"),
    path("mailboxes/<int:mailbox_id>/", views.mailbox_detail, name="mailbox_detail"),
    path("aliases/", views.alias_list, name="alias_list"),
    path("aliases/<int:alias_id>/", views.alias_detail, name="alias_detail"),
]
