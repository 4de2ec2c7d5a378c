"""Typed requests and the one helper that renders a page or one of its partials."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

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
    """The client address as Django saw it (a proxy in front must set REMOTE_ADDR correctly)."""
    return request.META.get("REMOTE_ADDR") or None
