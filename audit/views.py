from __future__ import annotations

import csv
from urllib.parse import urlencode

from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET
from django.views.decorators.vary import vary_on_headers

from audit.export import event_rows
from audit.forms import EventFilterForm
from audit.models import AuditEvent
from audit.selectors import event_search, target_name
from mailadmin.lib.auth import EXPORTERS, READERS, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial

PAGE_SIZE = 50


class _Echo:
    """A file-like object whose write() hands the CSV line back, for streaming."""

    def write(self, value: str) -> str:
        return value


def _filter_query(form: EventFilterForm) -> str:
    """The non-empty filters as a query string (no page), for pagination and export links."""
    pairs = [(name, form.data.get(name, "")) for name in form.fields]
    return urlencode([(name, value) for name, value in pairs if value])


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def event_list(request: AuthedRequest) -> HttpResponse:
    form = EventFilterForm(request.GET)
    valid = form.is_valid()
    events = event_search(form.cleaned_data) if valid else AuditEvent.objects.none()
    query = _filter_query(form)
    context = {
        "form": form,
        "page_obj": Paginator(events, PAGE_SIZE).get_page(request.GET.get("page")),
        "filter_query": query,
        "querystring_base": f"{query}&" if query else "",
        "history_of": target_name(form.cleaned_data["target_type"], form.cleaned_data["target_id"])
        if valid and form.cleaned_data["target_type"]
        else None,
    }
    return render_page_or_partial(request, "audit/event_list.html", context, partial="table")


@require_GET
@role_required(EXPORTERS)
def event_export(request: AuthedRequest) -> HttpResponse | StreamingHttpResponse:
    form = EventFilterForm(request.GET)
    if not form.is_valid():
        # The page shows what is wrong with the filters.
        return redirect(f"{reverse('audit:event_list')}?{request.GET.urlencode()}")
    events = event_search(form.cleaned_data).iterator(chunk_size=2000)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(row) for row in event_rows(events)), content_type="text/csv"
    )
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="audit-{stamp}.csv"'
    return response
