"""TLS contexts (built once per process per CA bundle and version bounds) and certificate
parsing from DER with `cryptography`, so that an untrusted certificate can still be described."""

from __future__ import annotations

import functools
import ipaddress
import ssl
import warnings
from collections.abc import Sequence
from contextlib import suppress
from datetime import datetime

from cryptography import x509
from cryptography.x509.oid import NameOID

from monitoring.probes._base import TlsInfo

_TLS_ORDER = ("TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3")
_TLS_ENUM = {
    "TLSv1": ssl.TLSVersion.TLSv1,
    "TLSv1.1": ssl.TLSVersion.TLSv1_1,
    "TLSv1.2": ssl.TLSVersion.TLSv1_2,
    "TLSv1.3": ssl.TLSVersion.TLSv1_3,
}


@functools.lru_cache(maxsize=32)
def ssl_context(ca_file: str, min_version: str, *, verify: bool = True) -> ssl.SSLContext:
    """The verifying client context (chain only: the host name is checked separately)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.minimum_version = _TLS_ENUM[min_version]
    if verify:
        ctx.verify_mode = ssl.CERT_REQUIRED
        if ca_file:
            ctx.load_verify_locations(cafile=ca_file)
        else:
            ctx.load_default_certs()
    else:
        ctx.verify_mode = ssl.CERT_NONE
    return ctx


@functools.lru_cache(maxsize=8)
def downgrade_context(below: str) -> ssl.SSLContext:
    """A context that offers only versions below `below` (the org minimum), for the refusal test."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():  # deprecated on purpose: we test that servers refuse them
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = _TLS_ENUM[_TLS_ORDER[_TLS_ORDER.index(below) - 1]]
    # OpenSSL 3 refuses TLS < 1.2 at security level >= 1; we must be able to offer it.
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


# --- certificates (pure) -------------------------------------------------------------------------


def describe_certificate(der: bytes, *, now: datetime) -> TlsInfo:
    cert = x509.load_der_x509_certificate(der)
    sans: list[str] = []
    with suppress(x509.ExtensionNotFound):
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        sans = [str(n) for n in san.get_values_for_type(x509.DNSName)]
        sans += [str(ip) for ip in san.get_values_for_type(x509.IPAddress)]
    not_after = cert.not_valid_after_utc
    return TlsInfo(
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        sans=sans,
        not_after=not_after,
        days_left=int((not_after - now).total_seconds() // 86400),
    )


def _common_names(der: bytes) -> list[str]:
    cert = x509.load_der_x509_certificate(der)
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)]


def hostname_matches(expected: str, sans: Sequence[str], common_names: Sequence[str] = ()) -> bool:
    """RFC 6125: SANs when present (CN only without SANs); '*' only as the whole left label."""
    expected = expected.rstrip(".").lower()
    try:
        wanted_ip = ipaddress.ip_address(expected)
    except ValueError:
        wanted_ip = None
    names = sans or list(common_names)
    for name in names:
        name = name.rstrip(".").lower()
        if wanted_ip is not None:
            with suppress(ValueError):
                if ipaddress.ip_address(name) == wanted_ip:
                    return True
            continue
        if name == expected:
            return True
        if name.startswith("*.") and "." in expected:
            head, _, rest = expected.partition(".")
            if head and rest == name[2:]:
                return True
    return False
