"""What a probe is given and what it returns: phases, statuses, the spec, the outcome, failures
and the deadline every step is bounded by."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

PHASES = (
    "dns",
    "connect",
    "tls",
    "greeting",
    "starttls",
    "capability",
    "login",
    "select",
    "logout",
)


class Status(StrEnum):
    OK = "ok"
    WARNING = "warning"
    CRITICAL = "critical"
    UNKNOWN = "unknown"


_SEVERITY = {Status.OK: 0, Status.UNKNOWN: 1, Status.WARNING: 2, Status.CRITICAL: 3}


@dataclass(frozen=True)
class ProbeSpec:
    host: str
    port: int
    protocol: str  # "imap" | "pop3"
    transport: str  # "implicit_tls" | "starttls" | "plaintext_must_refuse"
    expected_name: str
    timeout_seconds: float
    username: str = ""
    password: str = field(default="", repr=False)
    source_address: str | None = None
    min_tls_version: str = "TLSv1.2"
    ca_file: str = ""
    latency_warn_ms: float = 1000
    latency_crit_ms: float = 5000
    cert_days_warn: int = 21
    cert_days_crit: int = 7
    check_downgrade: bool = True
    # Set by the caller when a probe account exists but cannot be used (e.g. unreadable secret).
    login_skipped_reason: str = ""


@dataclass
class TlsInfo:
    version: str = ""
    cipher: str = ""
    subject: str = ""
    issuer: str = ""
    sans: list[str] = field(default_factory=list)
    not_after: datetime | None = None
    days_left: int | None = None
    chain_ok: bool | None = None
    hostname_ok: bool | None = None
    chain_error: str = ""


@dataclass
class ProbeOutcome:
    status: Status
    summary: str
    started_at: datetime
    phases_ms: dict[str, float] = field(default_factory=dict)
    total_ms: float | None = None
    tls: TlsInfo = field(default_factory=TlsInfo)
    error: str = ""
    details: dict[str, Any] = field(default_factory=dict)


class ProbeFailure(Exception):
    def __init__(self, message: str, status: Status = Status.CRITICAL) -> None:
        super().__init__(message)
        self.status = status


class ProbeTimeout(ProbeFailure):
    pass


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        left = self.end - time.monotonic()
        if left <= 0:
            raise ProbeTimeout(f"no answer within {self.seconds:g} s")
        return left
