"""CSV import of mailboxes: upload (dry run first), progress polled by htmx, then apply."""

from __future__ import annotations

from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers

from accounts import services
from accounts.forms import MailboxImportForm
from accounts.models import MailboxImport
from mailadmin.lib.auth import ACCOUNT_EDITORS, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial


@require_http_methods(["GET", "POST"])
@role_required(ACCOUNT_EDITORS)
def mailbox_import(request: AuthedRequest) -> HttpResponse:
    form = MailboxImportForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        record = services.mailbox_import_start(
            csv_text=form.cleaned_data["file"],
            filename=str(getattr(request.FILES.get("file"), "name", "") or ""),
            dry_run=True,
            actor=request.user,
        )
        return redirect(record)
    recent = MailboxImport.objects.filter(actor=request.user)[:5]
    context = {"form": form, "recent": recent}
    return render_page_or_partial(request, "accounts/mailbox_import.html", context, partial="form")


def _own(request: AuthedRequest, import_id: int) -> MailboxImport:
    # An import holds uploaded passwords until it ran: only its author sees it.
    return get_object_or_404(MailboxImport.objects.filter(actor=request.user), pk=import_id)


@require_GET
@role_required(ACCOUNT_EDITORS)
@vary_on_headers("HX-Request")
def mailbox_import_detail(request: AuthedRequest, import_id: int) -> HttpResponse:
    context = {"record": _own(request, import_id)}
    return render_page_or_partial(
        request, "accounts/mailbox_import_detail.html", context, partial="progress"
    )


@require_POST
@role_required(ACCOUNT_EDITORS)
def mailbox_import_apply(request: AuthedRequest, import_id: int) -> HttpResponse:
    record = _own(request, import_id)
    if not (record.is_dry_run and record.status == MailboxImport.Status.DONE and record.csv_text):
        return redirect(record)
    applied = services.mailbox_import_apply(dry_run_record=record, actor=request.user)
    return redirect(applied)
