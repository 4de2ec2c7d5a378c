"""Test overlay: PostgreSQL, Redis broker, fast Django hasher, locmem e-mail — nothing else."""

from __future__ import annotations

import os

import dj_database_url

# The base module refuses to start without a secret when DEBUG is off; tests use a fixed one.
os.environ.setdefault("SECRET_KEY", "test-only-secret-key")

from mailadmin.settings import *  # noqa: F403

DEBUG = False
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    )
}
# Several checkouts may test at once on one server: each can pick its own test database name.
DATABASES["default"]["TEST"] = {"NAME": os.environ.get("MAILADMIN_TEST_DB_NAME", "test_mailadmin")}
# Only tests that ask for it (databases={"default", "sqlite"}) get this in-memory SQLite test
# database: tests/policies/test_view_agrees.py checks the Dovecot view on both backends.
DATABASES["sqlite"] = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "redis://127.0.0.1:6379/0")
CELERY_BROKER_TRANSPORT_OPTIONS = {}  # Redis needs none
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
SESSION_COOKIE_SECURE = False
CSRF_COOKIE_SECURE = False
