from __future__ import annotations

from django.apps import AppConfig


class SecurityConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "security"
    verbose_name = "Dashboard security"

    def ready(self) -> None:
        # Connects the django-axes lockout signal to the audit trail.
        from security import receivers  # noqa: F401
