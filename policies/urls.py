from __future__ import annotations

from django.urls import path

from policies import views

app_name = "policies"
urlpatterns = [
    path("", views.index, name="index"),
    path("org/", views.org_policy_update, name="org_policy_update"),
    path("domains/<int:domain_id>/imap/", views.domain_policy_set, name="domain_policy_set"),
    path("pop3/", views.pop3_exception_list, name="pop3_exception_list"),
    path(
        "pop3/<int:exception_id>/revoke/", views.pop3_exception_revoke, name="pop3_exception_revoke"
    ),
    path("mailboxes/<int:mailbox_id>/", views.mailbox_policy, name="mailbox_policy"),
    path("mailboxes/<int:mailbox_id>/imap/", views.mailbox_policy_set, name="mailbox_policy_set"),
    path(
        "mailboxes/<int:mailbox_id>/networks/",
        views.mailbox_networks_set,
        name="mailbox_networks_set",
    ),
    path(
        "mailboxes/<int:mailbox_id>/pop3/grant/",
        views.pop3_exception_grant,
        name="pop3_exception_grant",
    ),
]
