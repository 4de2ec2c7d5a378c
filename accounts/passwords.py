"""Dovecot-compatible password hashes: "{ARGON2ID}" + argon2-cffi, or "{BLF-CRYPT}" + bcrypt.

Both log in on Debian's Dovecot 2.3 (DESIGN.md). Plain passwords are never stored.
"""

from __future__ import annotations

import bcrypt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from django.conf import settings

SCHEMES = ("ARGON2ID", "BLF-CRYPT")
# bcrypt only reads 72 bytes (bcrypt 5 raises beyond that); we cap every scheme the same way.
MAX_PASSWORD_BYTES = 72
_argon2 = PasswordHasher()


def hash_password(plain: str, *, scheme: str | None = None) -> str:
    """The scheme-prefixed hash Dovecot verifies. Raises ValueError for an unknown scheme."""
    scheme = scheme or settings.MAILADMIN_PASSWORD_SCHEME
    if len(plain.encode()) > MAX_PASSWORD_BYTES:
        raise ValueError(f"passwords are limited to {MAX_PASSWORD_BYTES} bytes")
    if scheme == "ARGON2ID":
        return "{ARGON2ID}" + _argon2.hash(plain)
    if scheme == "BLF-CRYPT":
        return "{BLF-CRYPT}" + bcrypt.hashpw(plain.encode(), bcrypt.gensalt(rounds=10)).decode()
    raise ValueError(f"unknown password scheme {scheme!r}; use one of {', '.join(SCHEMES)}")


def check_password(plain: str, stored: str) -> bool:
    """True if `plain` matches a hash written by hash_password()."""
    scheme, _, digest = stored.partition("}")
    scheme = scheme.lstrip("{")
    if len(plain.encode()) > MAX_PASSWORD_BYTES:
        return False
    if scheme == "ARGON2ID":
        try:
            return _argon2.verify(digest, plain)
        except (VerificationError, InvalidHashError):
            return False
    if scheme == "BLF-CRYPT":
        return bcrypt.checkpw(plain.encode(), digest.encode())
    return False
