"""Log pages: connection search (+ CSV), mailbox events, findings (+ acknowledge), one
mailbox's log page, the migration readiness report (+ CSV), and the log settings page (the
settings form, the log sources with create/edit/enable/disable and "collect now").

Every role reads; domain administrators see only their domains' users (querysets scope it);
exports are for EXPORTERS.
"""

from __future__ import annotations

import csv
import time
from collections.abc import Iterable, Iterator
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from accounts.models import Domain, Mailbox
from mailadmin.lib.auth import (
    ACCOUNT_EDITORS,
    EXPORTERS,
    HOLD_EDITORS,
    ORG_EDITORS,
    READERS,
    has_role,
    role_required,
)
from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from monitoring import log_selectors, log_services
from monitoring.log_forms import (
    AcknowledgeForm,
    CollectStatusForm,
    ConnectionFilterForm,
    FindingFilterForm,
    LogSettingsForm,
    LogSourceEditForm,
    LogSourceForm,
    MailboxEventFilterForm,
)
from monitoring.models import ConnectionEvent, Finding, LogSource

PAGE_SIZE = 50
# How long the "collect now" fragment polls before saying that no worker has collected.
COLLECT_WAIT_SECONDS = 90
CONNECTION_COLUMNS = [
    "time_utc", "host", "protocol", "user", "outcome", "reason", "client_ip", "client_port",
    "server_ip", "server_port", "tls", "tls_version", "method", "session", "bytes_in",
    "bytes_out", "messages_fetched", "messages_deleted",
]  # fmt: skip
READINESS_COLUMNS = [
    "address", "active", "used_bytes", "used_messages", "quota_bytes", "last_imap_login_utc",
    "last_pop3_login_utc", "used_pop3_last_30_days", "unused_90_days",
]  # fmt: skip


class _Echo:
    """A file-like object whose write() hands the CSV line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _csv_response(rows: Iterable[list[Any]], filename: str) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def connection_list(request: AuthedRequest) -> HttpResponse:
    form = ConnectionFilterForm(request.GET)
    events = (
        log_selectors.connection_search(request.user, form.filters())
        if form.is_valid()
        else ConnectionEvent.objects.none()
    )
    query = form.query()
    context = {
        "form": form,
        "page_obj": Paginator(events, PAGE_SIZE).get_page(request.GET.get("page")),
        "filter_query": query,
        "querystring_base": f"{query}&" if query else "",
    }
    return render_page_or_partial(
        request, "monitoring/logs/connection_list.html", context, partial="table"
    )


@require_GET
@role_required(EXPORTERS)
def connection_export(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    form = ConnectionFilterForm(request.GET)
    if not form.is_valid():
        return redirect(f"{reverse('monitoring:log_connections')}?{request.GET.urlencode()}")
    events = log_selectors.connection_search(request.user, form.filters()).iterator(chunk_size=2000)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    return _csv_response(_connection_rows(events), f"connections-{stamp}.csv")


def _connection_rows(events: Iterator[ConnectionEvent]) -> Iterator[list[Any]]:
    yield CONNECTION_COLUMNS
    for e in events:
        yield [
            e.occurred_at.isoformat(), e.host, e.protocol, e.username, e.outcome, e.reason,
            e.client_ip or "", e.client_port or "", e.server_ip or "", e.server_port or "",
            "yes" if e.is_tls else "no", e.tls_version, e.method, e.session_id,
            _blank(e.bytes_in), _blank(e.bytes_out), _blank(e.messages_fetched),
            _blank(e.messages_deleted),
        ]  # fmt: skip


def _blank(value: int | None) -> int | str:
    return "" if value is None else value


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def mailbox_event_list(request: AuthedRequest) -> HttpResponse:
    form = MailboxEventFilterForm(request.GET)
    valid = form.is_valid()
    events = log_selectors.mailbox_event_search(request.user, form.filters() if valid else {})
    query = form.query()
    context = {
        "form": form,
        "page_obj": Paginator(events if valid else events.none(), PAGE_SIZE).get_page(
            request.GET.get("page")
        ),
        "filter_query": query,
        "querystring_base": f"{query}&" if query else "",
    }
    return render_page_or_partial(
        request, "monitoring/logs/mailbox_event_list.html", context, partial="table"
    )


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def finding_list(request: AuthedRequest) -> HttpResponse:
    form = FindingFilterForm(request.GET)
    show = (form.cleaned_data.get("show") if form.is_valid() else "") or "open"
    findings = log_selectors.finding_list(request.user, show=show)
    context = {
        "show": show,
        "page_obj": Paginator(findings, PAGE_SIZE).get_page(request.GET.get("page")),
        "querystring_base": f"show={show}&",
    }
    return render_page_or_partial(
        request, "monitoring/logs/finding_list.html", context, partial="table"
    )


@require_POST
@role_required(ACCOUNT_EDITORS | HOLD_EDITORS)
def finding_acknowledge(request: AuthedRequest) -> HttpResponse:
    form = AcknowledgeForm(request.POST)
    back = _back_url(request)
    if not form.is_valid():
        messages.error(request, "Choose a finding to acknowledge.")
        return HttpResponseRedirect(back)
    finding = get_object_or_404(
        Finding.objects.visible_to(request.user), pk=form.cleaned_data["finding"]
    )
    try:
        log_services.finding_acknowledge(
            finding=finding, actor=request.user, note=form.cleaned_data["note"]
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request, f"Acknowledged: {finding.get_kind_display()} — {finding.subject}."
        )
    return HttpResponseRedirect(back)


def _back_url(request: AuthedRequest) -> str:
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        return target
    return reverse("monitoring:log_findings")


@require_GET
@role_required(READERS)
def mailbox_logs(request: AuthedRequest, mailbox_id: int) -> HttpResponse:
    mailbox = get_object_or_404(
        Mailbox.objects.visible_to(request.user).select_related("domain"), pk=mailbox_id
    )
    summary = log_selectors.mailbox_log_summary(mailbox, limit=50)
    context = {"mailbox": mailbox, "summary": summary}
    return render_page_or_partial(
        request, "monitoring/logs/mailbox_logs.html", context, partial="panel"
    )


@require_GET
@role_required(READERS)
def readiness(request: AuthedRequest, domain_id: int) -> HttpResponse:
    domain = get_object_or_404(Domain.objects.visible_to(request.user), pk=domain_id)
    rows = log_selectors.readiness_rows(domain, now=timezone.now())
    context = {
        "domain": domain,
        "rows": rows,
        "totals": log_selectors.readiness_totals(rows),
        "pop3_days": log_selectors.POP3_WINDOW_DAYS,
        "unused_days": log_selectors.UNUSED_DAYS,
    }
    return render_page_or_partial(
        request, "monitoring/logs/readiness.html", context, partial="table"
    )


@require_GET
@role_required(EXPORTERS)
def readiness_export(request: AuthedRequest, domain_id: int) -> StreamingHttpResponse:
    domain = get_object_or_404(Domain.objects.visible_to(request.user), pk=domain_id)
    rows = log_selectors.readiness_rows(domain, now=timezone.now())

    def lines() -> Iterator[list[Any]]:
        yield READINESS_COLUMNS
        for r in rows:
            yield [
                r.address, "yes" if r.is_active else "no", r.used_bytes, r.used_messages,
                r.quota_bytes, r.last_imap_login.isoformat() if r.last_imap_login else "",
                r.last_pop3_login.isoformat() if r.last_pop3_login else "",
                "yes" if r.used_pop3_recently else "no", "yes" if r.is_unused else "no",
            ]  # fmt: skip

    return _csv_response(lines(), f"readiness-{domain.name}.csv")


# --- log settings and sources ------------------------------------------------------------------


def _settings_page(request: AuthedRequest, form: LogSettingsForm) -> HttpResponse:
    context = {"form": form, "sources": LogSource.objects.visible_to(request.user)}
    return render_page_or_partial(
        request, "monitoring/logs/log_settings.html", context, partial="sources"
    )


@require_http_methods(["GET", "POST"])
@role_required(READERS)
@vary_on_headers("HX-Request")
def log_settings(request: AuthedRequest) -> HttpResponse:
    """Every role reads; superusers and mail administrators save (POST)."""
    if request.method != "POST":
        return _settings_page(request, LogSettingsForm.for_row(log_services.log_settings()))
    if not has_role(request.user, ORG_EDITORS):
        raise PermissionDenied("Your role does not allow this.")
    form = LogSettingsForm(request.POST)
    if form.is_valid():
        try:
            log_services.log_settings_update(actor=request.user, values=form.settings_values)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, "Log settings saved.")
            return redirect("monitoring:log_settings")
    return _settings_page(request, form)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def log_source_create(request: AuthedRequest) -> HttpResponse:
    form = LogSourceForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = log_services.log_source_create(actor=request.user, values=form.source_values)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Log source {source.name} added.")
            return redirect("monitoring:log_settings")
    return render(request, "monitoring/logs/log_source_form.html", {"form": form, "source": None})


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def log_source_edit(request: AuthedRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(LogSource.objects.editable_by(request.user), pk=source_id)
    if request.method != "POST":
        form = LogSourceEditForm.for_source(source)
    else:
        form = LogSourceEditForm(request.POST)
        if form.is_valid():
            try:
                log_services.log_source_update(
                    actor=request.user, source=source, values=form.source_values
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(request, f"Log source {form.cleaned_data['name']} saved.")
                return redirect("monitoring:log_settings")
    context = {"form": form, "source": source}
    return render(request, "monitoring/logs/log_source_form.html", context)


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def log_source_disable(request: AuthedRequest, source_id: int) -> HttpResponse:
    """GET asks for confirmation; POST stops collecting the source."""
    source = get_object_or_404(LogSource.objects.editable_by(request.user), pk=source_id)
    if request.method != "POST":
        return render(
            request, "monitoring/logs/log_source_confirm_disable.html", {"source": source}
        )
    return _set_enabled(request, source, is_enabled=False)


@require_POST
@role_required(ORG_EDITORS)
def log_source_enable(request: AuthedRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(LogSource.objects.editable_by(request.user), pk=source_id)
    return _set_enabled(request, source, is_enabled=True)


def _set_enabled(request: AuthedRequest, source: LogSource, *, is_enabled: bool) -> HttpResponse:
    try:
        log_services.log_source_set_enabled(
            actor=request.user, source=source, is_enabled=is_enabled
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        state = "enabled: it is read every 30 seconds" if is_enabled else "disabled"
        messages.success(request, f"Log source {source.name} {state}.")
    return redirect("monitoring:log_settings")


@require_POST
@role_required(ORG_EDITORS)
def log_source_collect(request: AuthedRequest, source_id: int) -> HttpResponse:
    """ "Collect now": htmx gets a fragment polling for the outcome; without JS, a redirect."""
    source = get_object_or_404(LogSource.objects.editable_by(request.user), pk=source_id)
    url = reverse("monitoring:log_settings")
    try:
        snapshot = log_services.log_source_collect_request(actor=request.user, source=source)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    if request.htmx:
        status = {
            "after": snapshot.after_us,
            "lines": snapshot.lines_read,
            "unknown": snapshot.unknown_lines,
            "requested": time.time(),
        }
        return _collect_status(request, source, status)
    messages.info(
        request,
        f"Collection of {source.name} requested: “Last collected” changes when the worker "
        f"on {source.queue or 'the default queue'} has read the file.",
    )
    return redirect(url)


@require_GET
@role_required(READERS)
def log_source_collect_status(request: AuthedRequest, source_id: int) -> HttpResponse:
    source = get_object_or_404(LogSource.objects.visible_to(request.user), pk=source_id)
    form = CollectStatusForm(request.GET)
    if not form.is_valid():
        raise Http404("No collection request to report on.")
    return _collect_status(request, source, form.cleaned_data)


def _collect_status(
    request: AuthedRequest, source: LogSource, status: dict[str, Any]
) -> HttpResponse:
    done = log_services.timestamp_us(source.last_collected_at) > status["after"]
    context = {
        "source": source,
        "status": status,
        "requested": f"{status['requested']:.3f}",
        "done": done,
        "new_lines": source.lines_read - status["lines"],
        "new_unknown": source.unknown_lines - status["unknown"],
        "gave_up": not done and time.time() - status["requested"] > COLLECT_WAIT_SECONDS,
        "wait_seconds": COLLECT_WAIT_SECONDS,
    }
    response = render(request, "monitoring/logs/log_settings.html#collect-status", context)
    if done:  # the sources table refreshes itself (new offset, counters, last error)
        trigger_client_event(response, "log-sources-changed")
    return response
