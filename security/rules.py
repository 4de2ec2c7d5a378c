"""Pure rules of dashboard security (no ORM)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

TOTP_CODE_RE = re.compile(r"^[0-9]{6}$")
# django-otp's static tokens: 8 characters of lower-case base32.
BACKUP_CODE_RE = re.compile(r"^[a-z2-7]{8}$")


def two_factor_required(
    *, is_superuser: bool, roles: Iterable[str], required: Mapping[str, bool]
) -> bool:
    """True when any of the user's roles (or the superuser flag) needs a second factor."""
    if is_superuser and required.get("superuser", False):
        return True
    return any(required.get(role, False) for role in roles)


def normalise_code(text: str) -> str:
    """What people type ("123 456", "ABCD-EFGH") -> the form the devices compare."""
    return re.sub(r"[\s-]", "", text).lower()


def code_kind(code: str) -> str | None:
    """ "totp", "backup", or None when the normalised code has neither shape."""
    if TOTP_CODE_RE.match(code):
        return "totp"
    if BACKUP_CODE_RE.match(code):
        return "backup"
    return None
