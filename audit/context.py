"""Where the current change comes from (client IP, source), set by the middleware or a command.

A contextvar rather than an argument on every service: the request edge knows the client
address, the services deep below do not, and the audit row must carry it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass


@dataclass(frozen=True)
class AuditContext:
    source: str = "system"
    client_ip: str | None = None


_DEFAULT = AuditContext()
_current: ContextVar[AuditContext | None] = ContextVar("audit_context", default=None)


def current() -> AuditContext:
    return _current.get() or _DEFAULT


@contextmanager
def audit_context(*, source: str, client_ip: str | None = None) -> Iterator[None]:
    token = _current.set(AuditContext(source=source, client_ip=client_ip))
    try:
        yield
    finally:
        _current.reset(token)
