from __future__ import annotations

import os

from django.apps import AppConfig
from django.conf import settings


class MailadminConfig(AppConfig):
    name = "mailadmin"
    verbose_name = "mailadmin"

    def ready(self) -> None:
        # The embedded filesystem broker needs its folders before the first task is sent,
        # whether from the web process ("Probe now") or the worker.
        if settings.CELERY_BROKER_URL.startswith("filesystem"):
            settings.VAR_DIR.mkdir(parents=True, exist_ok=True)
            for key in ("data_folder_in", "data_folder_out", "control_folder"):
                folder = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get(key)
                if isinstance(folder, str):
                    os.makedirs(folder, exist_ok=True)
