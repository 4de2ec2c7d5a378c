"""The one settings module: environment variables with laptop-safe defaults.

Defaults need no server: SQLite under var/, kombu's filesystem broker, e-mail to the console.
Production differs only by environment variables (see the README's settings table).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import dj_database_url
from celery.schedules import crontab

from mailadmin.lib.env import env_bool, env_int, env_list, env_secret, env_str

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(env_str("MAILADMIN_VAR_DIR", str(BASE_DIR / "var")))

DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_secret("SECRET_KEY", debug=DEBUG, dev_default="dev-only-insecure-secret-key")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "template_partials",
    "mailadmin",
    "audit",
    "accounts",
    "policies",
    "monitoring",
    # Dashboard security: two-factor login (django-otp), login throttling (django-axes).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "security",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "security.middleware.SecurityHeadersMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "security.middleware.SessionActivityMiddleware",
    # After CsrfViewMiddleware: its process_view refuses a forged POST before this one redirects.
    "security.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "audit.middleware.AuditContextMiddleware",
    # Last, as django-axes requires: turns a lockout raised by its backend into the lockout page.
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

ROOT_URLCONF = "mailadmin.urls"
WSGI_APPLICATION = "mailadmin.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mailadmin.lib.auth.roles_context",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        env_str("DATABASE_URL", f"sqlite:///{VAR_DIR / 'mailadmin.sqlite3'}"),
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 0),
    )
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"

EMAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = env_str("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "mailadmin@localhost")

SESSION_COOKIE_HTTPONLY = True
# A session ends after SESSION_COOKIE_AGE seconds without a request. Signed-in users' sessions
# are renewed by security.middleware.SessionActivityMiddleware at most once per
# MAILADMIN_SESSION_REFRESH_SECONDS (a write per request would cost three queries on every page);
# SESSION_SAVE_EVERY_REQUEST=1 renews on every request instead.
SESSION_COOKIE_AGE = env_int("SESSION_COOKIE_AGE", 3600)
SESSION_SAVE_EVERY_REQUEST = env_bool("SESSION_SAVE_EVERY_REQUEST", False)
MAILADMIN_SESSION_REFRESH_SECONDS = env_int("MAILADMIN_SESSION_REFRESH_SECONDS", 60)
SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", not DEBUG)
CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", not DEBUG)
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
# Behind TLS only (all off by default so a laptop on plain HTTP still works).
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
# The header a TLS-terminating proxy sets to "https", e.g. X-Forwarded-Proto; empty = none.
_PROXY_SSL_HEADER = env_str("SECURE_PROXY_SSL_HEADER", "")
SECURE_PROXY_SSL_HEADER = (
    ("HTTP_" + _PROXY_SSL_HEADER.upper().replace("-", "_"), "https") if _PROXY_SSL_HEADER else None
)
# Sent by security.middleware.SecurityHeadersMiddleware: no inline script or style anywhere.
MAILADMIN_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
MAILADMIN_PERMISSIONS_POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=()"

# Two-factor login (security/): the issuer shown in authenticator apps.
OTP_TOTP_ISSUER = env_str("OTP_TOTP_ISSUER", "mailadmin")
# Login throttling (django-axes): lock a username from one address after this many failures.
AXES_FAILURE_LIMIT = env_int("AXES_FAILURE_LIMIT", 5)
_AXES_COOLOFF_MINUTES = env_int("AXES_COOLOFF_MINUTES", 30)  # 0: locked until a superuser unlocks
AXES_COOLOFF_TIME = timedelta(minutes=_AXES_COOLOFF_MINUTES) if _AXES_COOLOFF_MINUTES else None
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
# Attempts while locked neither count nor extend the lock (the cool-off runs from the lockout).
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_HTTP_RESPONSE_CODE = 429
AXES_VERBOSE = False
# Behind a reverse proxy: its addresses (IPs or CIDRs). Requests from them are attributed to the
# address the proxy saw (X-Forwarded-For), for the lockout and the audit trail alike.
MAILADMIN_TRUSTED_PROXIES = env_list("MAILADMIN_TRUSTED_PROXIES", [])
AXES_CLIENT_IP_CALLABLE = "mailadmin.lib.http.client_ip"

# Celery: embedded default is kombu's filesystem transport (no server); production sets Redis.
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL", "filesystem://")
CELERY_BROKER_TRANSPORT_OPTIONS = (
    {
        "data_folder_in": str(VAR_DIR / "broker" / "queue"),
        "data_folder_out": str(VAR_DIR / "broker" / "queue"),
        "control_folder": str(VAR_DIR / "broker" / "control"),
        "polling_interval": 0.1,
    }
    if CELERY_BROKER_URL.startswith("filesystem")
    else {}
)
CELERY_RESULT_BACKEND = None
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 300)
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 360)
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_BEAT_SCHEDULE: dict[str, dict[str, object]] = {}
CELERY_BEAT_SCHEDULE["monitoring-run-due-probes"] = {
    "task": "monitoring.run_due_probes",
    "schedule": 30.0,
}
CELERY_BEAT_SCHEDULE["monitoring-rollup-and-purge"] = {
    "task": "monitoring.rollup_and_purge",
    "schedule": 600.0,
}
# Log collection (monitoring/log_services/): the tick fans out one task per source, on the
# source's queue (the worker on that mail host); the purge keeps custodians' events.
CELERY_BEAT_SCHEDULE["monitoring-collect-logs"] = {
    "task": "monitoring.collect_logs",
    "schedule": 30.0,
}
CELERY_BEAT_SCHEDULE["monitoring-purge-log-events"] = {
    "task": "monitoring.purge_log_events",
    "schedule": crontab(hour=3, minute=30),  # daily, 03:30 UTC
}
CELERY_BEAT_SCHEDULE["policies-pop3-expiry-reminders"] = {
    "task": "policies.send_pop3_expiry_reminders",
    "schedule": crontab(hour=7, minute=0),  # daily, 07:00 UTC
}
CELERY_BEAT_SCHEDULE["policies-verify-holds"] = {
    "task": "policies.verify_holds",
    "schedule": 900.0,  # every 15 minutes: is every active hold really in force?
}

# Health checks (monitoring/): probe-account passwords are Fernet-encrypted with this key
# (comma-separated for rotation, first encrypts); empty derives one from SECRET_KEY by HKDF.
MAILADMIN_PROBE_SECRET_KEY = env_str("MAILADMIN_PROBE_SECRET_KEY", "")
# CA bundle that probes verify certificate chains against; empty = the system trust store.
MAILADMIN_PROBE_CA_FILE = env_str("MAILADMIN_PROBE_CA_FILE", "")
# Raw probe results are kept this many days; hourly rollups a year.
MAILADMIN_PROBE_RESULT_DAYS = env_int("MAILADMIN_PROBE_RESULT_DAYS", 30)
# Bearer token for /metrics; empty disables the endpoint (404).
MAILADMIN_METRICS_TOKEN = env_str("MAILADMIN_METRICS_TOKEN", "")

# Legal holds: how the worker on the mail host runs doveadm (never the web process).
MAILADMIN_DOVEADM = env_str("MAILADMIN_DOVEADM", "doveadm")
# Dovecot config passed to doveadm with -c; empty = doveadm's system default.
MAILADMIN_DOVECOT_CONFIG = env_str("MAILADMIN_DOVECOT_CONFIG", "")

# Mailbox passwords: the Dovecot scheme used for new hashes ("ARGON2ID" or "BLF-CRYPT").
MAILADMIN_PASSWORD_SCHEME = env_str("MAILADMIN_PASSWORD_SCHEME", "ARGON2ID")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
}
# django-axes logs every successful login and reset at INFO; its lockouts are WARNINGs.
LOGGING["loggers"] = {"axes": {"level": env_str("AXES_LOG_LEVEL", "WARNING")}}
