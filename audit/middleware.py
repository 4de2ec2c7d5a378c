from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from audit.context import audit_context
from mailadmin.lib.http import client_ip


class AuditContextMiddleware:
    """Every change made during a web request is audited with source "web" and the client IP."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit_context(source="web", client_ip=client_ip(request)):
            return self.get_response(request)
