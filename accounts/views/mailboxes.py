"""Mailbox pages: list (search as you type), detail, create, edit, password, quota,
suspend/reactivate, delete, CSV export."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import selectors, services
from accounts.forms import (
    MailboxCreateForm,
    MailboxFilterForm,
    MailboxPasswordForm,
    MailboxQuotaForm,
    MailboxUpdateForm,
    attach_refusal,
)
from accounts.models import Mailbox
from accounts.views._helpers import (
    CONFIRM_TEMPLATE,
    finished,
    form_page,
    paginate,
    querystring_base,
    refused,
)
from mailadmin.lib.auth import ACCOUNT_EDITORS, READERS, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from mailadmin.lib.units import format_size


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def mailbox_list(request: AuthedRequest) -> HttpResponse:
    form = MailboxFilterForm(request.GET, user=request.user)
    filters = form.filters()
    per_page = filters.pop("per_page")
    page = paginate(request, selectors.mailbox_list(request.user, **filters), per_page)
    selectors.attach_usage(page.object_list)
    selectors.attach_hold_matters(page.object_list)
    context = {
        "form": form,
        "page_obj": page,
        "sort": request.GET.get("sort", "address"),
        "querystring_base": querystring_base(request),
    }
    return render_page_or_partial(request, "accounts/mailbox_list.html", context, partial="table")


@require_GET
@role_required(READERS)
def mailbox_detail(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(
        Mailbox.objects.visible_to(request.user).select_related("domain"), pk=mailbox_id
    )
    selectors.attach_usage([mailbox])
    can_edit = Mailbox.objects.editable_by(request.user).filter(pk=mailbox.pk).exists()
    context = {
        "mailbox": mailbox,
        "can_edit": can_edit,
        "aliases": selectors.aliases_pointing_to(mailbox.address),
        "events": selectors.recent_events(mailbox),
    }
    return render(request, "accounts/mailbox_detail.html", context)


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def mailbox_create(request: AuthedRequest) -> HttpResponse:
    form = MailboxCreateForm(
        request.POST or None, user=request.user, initial={"domain": request.GET.get("domain")}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            mailbox = services.mailbox_create(
                domain=data["domain"],
                local_part=data["local_part"],
                password=data["password"],
                display_name=data["display_name"],
                quota_bytes=data["quota"],
                quota_messages=data["quota_messages"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"Mailbox {mailbox} created.", mailbox.get_absolute_url())
    return form_page(
        request,
        {
            "form": form,
            "title": "New mailbox",
            "submit": "Create mailbox",
            "cancel_url": reverse("accounts:mailbox_list"),
        },
    )


def _editable(request: AuthedRequest, mailbox_id: int) -> Mailbox:
    return get_object_or_404(
        Mailbox.objects.editable_by(request.user).select_related("domain"), pk=mailbox_id
    )


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def mailbox_edit(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    form = MailboxUpdateForm(request.POST or None, initial={"display_name": mailbox.display_name})
    if request.method == "POST" and form.is_valid():
        try:
            services.mailbox_update(
                mailbox=mailbox, display_name=form.cleaned_data["display_name"], actor=request.user
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            return finished(request, f"{mailbox} updated.", mailbox.get_absolute_url())
    return form_page(request, _form_context(form, mailbox, "Edit", "Save"))


def _form_context(form: Any, mailbox: Mailbox, verb: str, submit: str) -> dict[str, Any]:
    return {
        "form": form,
        "title": f"{verb} {mailbox}",
        "submit": submit,
        "cancel_url": mailbox.get_absolute_url(),
        "object": mailbox,
    }


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def mailbox_set_password(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    form = MailboxPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.mailbox_set_password(
                mailbox=mailbox, password=form.cleaned_data["password"], actor=request.user
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            note = f"New password set for {mailbox}. It applies at the next login."
            return finished(request, note, mailbox.get_absolute_url())
    return form_page(request, _form_context(form, mailbox, "New password for", "Set password"))


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def mailbox_set_quota(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    initial = {"quota": mailbox.quota_bytes, "quota_messages": mailbox.quota_messages}
    form = MailboxQuotaForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.mailbox_set_quota(
                mailbox=mailbox,
                quota_bytes=form.cleaned_data["quota"],
                quota_messages=form.cleaned_data["quota_messages"],
                actor=request.user,
            )
        except ValidationError as exc:
            attach_refusal(form, exc)
        else:
            size = form.cleaned_data["quota"]
            note = f"Quota of {mailbox} set to {format_size(size) if size else 'no limit'}."
            return finished(request, note, mailbox.get_absolute_url())
    return form_page(request, _form_context(form, mailbox, "Quota of", "Set quota"))


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
def mailbox_suspend(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    if request.method == "POST":
        try:
            services.mailbox_suspend(mailbox=mailbox, actor=request.user)
        except ValidationError as exc:
            return refused(request, exc, mailbox.get_absolute_url())
        note = f"{mailbox} is suspended: its next login is refused. Mail is kept."
        return finished(request, note, mailbox.get_absolute_url())
    return render(
        request,
        CONFIRM_TEMPLATE,
        {
            "title": f"Suspend {mailbox}?",
            "object": mailbox,
            "explanation": "Logins are refused from the next attempt on (open sessions end at "
            "their next login). Mail keeps arriving and nothing is deleted; you can reactivate "
            "it at any time.",
            "submit": "Suspend mailbox",
            "cancel_url": mailbox.get_absolute_url(),
        },
    )


@require_POST
@role_required(ACCOUNT_EDITORS)
def mailbox_reactivate(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    try:
        services.mailbox_reactivate(mailbox=mailbox, actor=request.user)
    except ValidationError as exc:
        return refused(request, exc, mailbox.get_absolute_url())
    return finished(request, f"{mailbox} is active again.", mailbox.get_absolute_url())


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
def mailbox_delete(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = _editable(request, mailbox_id)
    if request.method == "POST":
        try:
            services.mailbox_delete(mailbox=mailbox, actor=request.user)
        except ValidationError as exc:
            return refused(request, exc, mailbox.get_absolute_url())
        return finished(request, f"Mailbox {mailbox} deleted.", reverse("accounts:mailbox_list"))
    return render(
        request,
        CONFIRM_TEMPLATE,
        {
            "title": f"Delete {mailbox}?",
            "object": mailbox,
            "danger": True,
            "explanation": "The account is removed at once and its logins fail. Aliases that "
            "also list other destinations stop sending here. The mail files stay on the mail "
            "server until an operator removes them. This cannot be undone here.",
            "submit": "Delete mailbox",
            "cancel_url": mailbox.get_absolute_url(),
        },
    )


EXPORT_COLUMNS = [
    "address",
    "display_name",
    "domain",
    "status",
    "quota_bytes",
    "quota_messages",
    "used_bytes",
    "used_messages",
    "created_at",
]


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@role_required(READERS)
def mailbox_export(request: AuthedRequest) -> StreamingHttpResponse:
    """Every mailbox the user can see (list filters apply), streamed in address order."""
    filters = MailboxFilterForm(request.GET, user=request.user).filters()
    filters.pop("per_page")
    filters["order_by"] = "address"
    mailboxes = selectors.mailbox_list(request.user, **filters)
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield writer.writerow(EXPORT_COLUMNS)
        for chunk in _chunks(mailboxes):
            selectors.attach_usage(chunk)
            for m in chunk:
                yield writer.writerow(_export_row(m))

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="mailboxes.csv"'
    return response


def _chunks(mailboxes: Any, size: int = 2000) -> Iterator[list[Mailbox]]:
    """Keyset pages by address: constant memory and no OFFSET, whatever the count."""
    last = ""
    while True:
        chunk = list(mailboxes.filter(address__gt=last)[:size])
        if not chunk:
            return
        yield chunk
        last = chunk[-1].address


def _export_row(m: Mailbox) -> list[Any]:
    return [
        m.display_address,
        m.display_name,
        m.domain.display_name,
        "active" if m.is_active else "suspended",
        m.quota_bytes,
        m.quota_messages,
        m.used_bytes,  # type: ignore[attr-defined]
        m.used_messages,  # type: ignore[attr-defined]
        m.created_at.isoformat(),
    ]
