from __future__ import annotations

from django.urls import path

from policies import hold_views, views

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
    # Legal holds and retention (issue 4)
    path("holds/", hold_views.hold_list, name="hold_list"),
    path("holds/new/", hold_views.hold_place, name="hold_place"),
    path("holds/<int:hold_id>/", hold_views.hold_detail, name="hold_detail"),
    path(
        "holds/<int:hold_id>/custodians/add/",
        hold_views.hold_custodian_add,
        name="hold_custodian_add",
    ),
    path(
        "holds/custodians/<int:custodian_id>/remove/",
        hold_views.hold_custodian_remove,
        name="hold_custodian_remove",
    ),
    path("holds/<int:hold_id>/release/", hold_views.hold_release, name="hold_release"),
    path("holds/<int:hold_id>/report.csv", hold_views.hold_report_csv, name="hold_report_csv"),
    path("retention/", hold_views.retention_rules, name="retention_rules"),
    path("retention/set/", hold_views.retention_rule_set, name="retention_rule_set"),
]
