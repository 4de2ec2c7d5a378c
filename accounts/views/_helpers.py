"""Glue shared by the accounts views: form pages, finishing a change, pagination."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Page
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect
from django_htmx.http import HttpResponseClientRedirect

from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from mailadmin.lib.pagination import TwoEndedPaginator

FORM_TEMPLATE = "accounts/form.html"
CONFIRM_TEMPLATE = "accounts/confirm.html"


def form_page(request: AuthedRequest, context: dict[str, Any]) -> HttpResponse:
    """The form page, or only its form for an htmx post (errors inline, status 200)."""
    return render_page_or_partial(request, FORM_TEMPLATE, context, partial="form")


def finished(request: AuthedRequest, message: str, url: str) -> HttpResponse:
    """After a successful change: a flash message and a redirect (POST/redirect/GET)."""
    messages.success(request, message)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def refused(request: AuthedRequest, error: Exception, url: str) -> HttpResponse:
    """A refused one-click action: the reason as a flash message, back to the page."""
    text = " ".join(getattr(error, "messages", [str(error)]))
    messages.error(request, text)
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def paginate(request: AuthedRequest, items: QuerySet[Any], per_page: int) -> Page[Any]:
    return TwoEndedPaginator(items, per_page).get_page(request.GET.get("page"))


def querystring_base(request: AuthedRequest) -> str:
    """The current filters, without `page`, ready for "?{base}page=N"."""
    params = request.GET.copy()
    params.pop("page", None)
    encoded = params.urlencode()
    return f"{encoded}&" if encoded else ""
