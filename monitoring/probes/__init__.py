"""IMAP and POP3 health probes: synchronous stdlib code (socket, ssl) with a deadline on every step.

`probe(spec)` never raises: a refused login, a failed handshake or a silent server is a result
(`ProbeOutcome`). The protocol exchanges are small hand-written line clients rather than
imaplib/poplib because those merge the greeting and CAPABILITY into their constructors, hide
the per-phase timings we report, and would happily send LOGIN on a plaintext socket; here a
password is only ever written to a TLS socket whose chain and host name were verified.

Certificates are parsed from DER with `cryptography` (so that an untrusted certificate can
still be described); everything on the wire is stdlib.

One module per part (_base: spec, outcome, failures; tls; wire; imap; pop3; run); every public
name is re-exported here, so `from monitoring.probes import ...` keeps working.
"""

from __future__ import annotations

from monitoring.probes._base import (
    PHASES,
    ProbeFailure,
    ProbeOutcome,
    ProbeSpec,
    ProbeTimeout,
    Status,
    TlsInfo,
)
from monitoring.probes.run import probe
from monitoring.probes.tls import (
    describe_certificate,
    downgrade_context,
    hostname_matches,
    ssl_context,
)

__all__ = [
    "PHASES",
    "ProbeFailure",
    "ProbeOutcome",
    "ProbeSpec",
    "ProbeTimeout",
    "Status",
    "TlsInfo",
    "describe_certificate",
    "downgrade_context",
    "hostname_matches",
    "probe",
    "ssl_context",
]
