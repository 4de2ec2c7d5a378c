"""Typed requests and the one helper that renders a page or one of its partials."""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails


class HtmxRequest(HttpRequest):
    htmx: HtmxDetails


class AuthedRequest(HtmxRequest):
    user: User


def render_page_or_partial(
    request: HtmxRequest,
    template: str,
    context: Mapping[str, Any],
    *,
    partial: str,
    status: int = 200,
) -> HttpResponse:
    """The full page for normal requests and history restores, else `template#partial`."""
    if request.htmx and not request.htmx.history_restore_request:
        return render(request, f"{template}#{partial}", context, status=status)
    return render(request, template, context, status=status)


def client_ip(request: HttpRequest) -> str | None:
    """The client's address, for the audit trail and the login lockout.

    REMOTE_ADDR, unless it is one of MAILADMIN_TRUSTED_PROXIES: then the nearest address in
    X-Forwarded-For that is not itself a trusted proxy (read right to left, because a client can
    put anything on the left of that header, but each trusted proxy appends what it saw).
    """
    remote: str | None = request.META.get("REMOTE_ADDR") or None
    trusted = _trusted_proxies(tuple(settings.MAILADMIN_TRUSTED_PROXIES))
    if not remote or not trusted or not _is_in(remote, trusted):
        return remote
    forwarded: str = request.META.get("HTTP_X_FORWARDED_FOR", "")
    for candidate in reversed([part.strip() for part in forwarded.split(",") if part.strip()]):
        if not _is_valid_ip(candidate):
            return remote  # a malformed hop: trust nothing beyond the proxy we know
        if not _is_in(candidate, trusted):
            return candidate
    return remote


@functools.lru_cache(maxsize=8)
def _trusted_proxies(
    entries: tuple[str, ...],
) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(entry, strict=False) for entry in entries)


def _is_valid_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _is_in(
    address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]
) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
