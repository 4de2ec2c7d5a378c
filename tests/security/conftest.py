from __future__ import annotations

from binascii import unhexlify

import pytest
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

KEY = "3132333435363738393031323334353637383930"  # RFC 6238's test key, in hex


def code_for(key: str = KEY, *, steps: int = 0) -> str:
    """The code an authenticator app with `key` shows now (or `steps` periods away)."""
    totp = TOTP(unhexlify(key))
    totp.drift = steps
    return f"{totp.token():06d}"


@pytest.fixture
def enrol():
    """enrol(user) -> (TOTP device with KEY, [backup codes]), as if enrolled a while ago."""

    def make(user, codes=("abcdefgh", "bcdefghi")):
        device = TOTPDevice.objects.create(user=user, name="phone", key=KEY, confirmed=True)
        static = StaticDevice.objects.create(user=user, name="Backup codes", confirmed=True)
        for code in codes:
            StaticToken.objects.create(device=static, token=code)
        return device, list(codes)

    return make
