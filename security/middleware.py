"""Security headers on every response, and the two-factor gate in front of every view."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import reverse
from django_htmx.http import HttpResponseClientRedirect
from django_otp import user_has_device

from security.selectors import two_factor_required_for

# Reachable with a password alone: the steps that lead to verification, and logging out.
# The /metrics views authenticate by bearer token, not by session.
OPEN_VIEWS = frozenset(
    {
        "login",
        "logout",
        "security:two_factor_verify",
        "security:two_factor_enrol",
        "metrics",
        "monitoring:metrics",
    }
)


class SecurityHeadersMiddleware:
    """Content-Security-Policy and Permissions-Policy (Django's SecurityMiddleware sends the rest:
    HSTS, nosniff, Referrer-Policy, COOP; XFrameOptionsMiddleware sends X-Frame-Options)."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        response = self.get_response(request)
        response.headers.setdefault(
            "Content-Security-Policy", settings.MAILADMIN_CONTENT_SECURITY_POLICY
        )
        response.headers.setdefault("Permissions-Policy", settings.MAILADMIN_PERMISSIONS_POLICY)
        return response


class TwoFactorMiddleware:
    """A signed-in user who has a device must enter a code before any page; one whose role
    requires a device and has none is sent to enrolment. Nothing else is reachable until then.

    Runs in process_view, after CsrfViewMiddleware's, so a forged POST is refused as forged.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        return self.get_response(request)

    def process_view(
        self, request: HttpRequest, view: Any, args: Any, kwargs: Any
    ) -> HttpResponse | None:
        user: Any = request.user
        if not user.is_authenticated or user.is_verified():
            return None
        match = request.resolver_match
        if match is None or match.view_name in OPEN_VIEWS:
            return None
        if user_has_device(user):
            step = "security:two_factor_verify"
        elif two_factor_required_for(user):
            step = "security:two_factor_enrol"
        else:
            return None
        url = reverse(step)
        if request.method == "GET":
            url += "?" + urlencode({"next": request.get_full_path()})
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(url)
        return redirect(url)


SEEN_AT_SESSION_KEY = "security_seen_at"


class SessionActivityMiddleware:
    """Sliding session expiry: a signed-in user's session is saved again (which pushes its
    expiry SESSION_COOKIE_AGE into the future) once its last renewal is older than
    MAILADMIN_SESSION_REFRESH_SECONDS, so an idle session ends and an active one does not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        if request.user.is_authenticated:
            now = int(time.time())
            seen_at = request.session.get(SEEN_AT_SESSION_KEY, 0)
            if now - seen_at >= settings.MAILADMIN_SESSION_REFRESH_SECONDS:
                request.session[SEEN_AT_SESSION_KEY] = now
        return self.get_response(request)


def stamp_session(request: HttpRequest | None) -> None:
    """At login: the new session counts as just renewed."""
    if request is not None and hasattr(request, "session"):
        request.session[SEEN_AT_SESSION_KEY] = int(time.time())
