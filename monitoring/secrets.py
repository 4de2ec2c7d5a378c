"""Probe-account passwords encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

Key: env MAILADMIN_PROBE_SECRET_KEY, one or more comma-separated Fernet keys
(`Fernet.generate_key()`); the first encrypts, all decrypt, so a key can be rotated by putting
the new one first. When unset, the key is derived from SECRET_KEY with HKDF-SHA256
(salt "mailadmin.monitoring.probe-secret", info "probe-password v1", 32 bytes, urlsafe base64):
rotating SECRET_KEY then makes stored probe passwords unreadable, and probes report that
(the password has to be entered again).
"""

from __future__ import annotations

import base64

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

_HKDF_SALT = b"mailadmin.monitoring.probe-secret"
_HKDF_INFO = b"probe-password v1"


class SecretUnreadable(Exception):
    """The stored token does not decrypt with the configured key(s)."""


def derive_key(secret_key: str) -> bytes:
    """The Fernet key derived from SECRET_KEY when MAILADMIN_PROBE_SECRET_KEY is unset."""
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=_HKDF_SALT, info=_HKDF_INFO)
    return base64.urlsafe_b64encode(hkdf.derive(secret_key.encode()))


def _fernet() -> MultiFernet:
    raw = settings.MAILADMIN_PROBE_SECRET_KEY
    keys = [k.strip() for k in raw.split(",") if k.strip()] if raw else []
    if not keys:
        return MultiFernet([Fernet(derive_key(settings.SECRET_KEY))])
    try:
        return MultiFernet([Fernet(k) for k in keys])
    except ValueError:
        raise ImproperlyConfigured(
            "MAILADMIN_PROBE_SECRET_KEY must be Fernet keys (32 url-safe base64-encoded bytes), "
            "comma-separated; make one with cryptography.fernet.Fernet.generate_key()."
        ) from None


def encrypt(plain: str) -> str:
    return _fernet().encrypt(plain.encode()).decode()


def decrypt(token: str) -> str:
    """The plain text; raises SecretUnreadable when no configured key opens the token."""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise SecretUnreadable(
            "The stored probe password cannot be decrypted with the configured key; "
            "enter it again on the endpoint form."
        ) from None
