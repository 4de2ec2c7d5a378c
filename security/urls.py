from __future__ import annotations

from django.urls import path

from security import views

app_name = "security"

urlpatterns = [
    path("", views.security_index, name="index"),
    path("verify/", views.two_factor_verify, name="two_factor_verify"),
    path("enrol/", views.two_factor_enrol, name="two_factor_enrol"),
    path("backup-codes/", views.backup_codes_regenerate, name="backup_codes_regenerate"),
    path("logout-everywhere/", views.sessions_revoke, name="sessions_revoke"),
    path("policy/", views.security_policy_update, name="policy_update"),
    path("users/<int:user_id>/reset-2fa/", views.two_factor_reset, name="two_factor_reset"),
    path("lockouts/<int:attempt_id>/unlock/", views.lockout_release, name="lockout_release"),
]
