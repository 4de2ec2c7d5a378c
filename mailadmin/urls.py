from __future__ import annotations

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from mailadmin import views
from monitoring.views import metrics_view

urlpatterns = [
    path("", views.overview, name="overview"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("accounts/", include("accounts.urls")),
    path("audit/", include("audit.urls")),
    path("policies/", include("policies.urls")),
    path("health/", include("monitoring.urls")),
    path("security/", include("security.urls")),
    # Prometheus scrapes /metrics by convention; the same view is at /health/metrics.
    path("metrics", metrics_view, name="metrics"),
    path("django-admin/", admin.site.urls),
]
