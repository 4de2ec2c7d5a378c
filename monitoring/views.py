"""Health pages: board, endpoint detail/forms, maintenance windows, alert channels, /metrics.

Readers (every role) see; superusers and mail administrators change. Endpoints are
organisation-wide, so there is no per-domain scoping: objects that do not exist, or nested
objects asked for under the wrong parent, are 404.
"""

from __future__ import annotations

import hmac
import time

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django.views.decorators.vary import vary_on_headers
from django_htmx.http import HttpResponseClientRedirect

from mailadmin.lib.auth import ORG_EDITORS, READERS, role_required
from mailadmin.lib.http import AuthedRequest, render_page_or_partial
from monitoring import charts, metrics, selectors, services
from monitoring.forms import (
    ChannelForm,
    EndpointForm,
    HistoryFilterForm,
    ProbeStatusForm,
    WindowForm,
)
from monitoring.models import Endpoint, NotificationChannel

# How long the "probe now" fragment polls before saying that no worker answered.
PROBE_WAIT_GRACE_SECONDS = 30


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def board(request: AuthedRequest) -> HttpResponse:
    rows = selectors.board_rows(now=timezone.now())
    return render_page_or_partial(request, "monitoring/board.html", {"rows": rows}, partial="board")


def _detail_context(request: AuthedRequest, endpoint: Endpoint) -> dict[str, object]:
    filters = HistoryFilterForm(request.GET)
    outcome, page = "", 1
    if filters.is_valid():
        outcome, page = filters.cleaned_data["outcome"], filters.cleaned_data["page"] or 1
    paginator = Paginator(selectors.history(endpoint, outcome=outcome), 25)
    samples = [
        charts.Sample(
            started_at=r.started_at,
            ok=r.is_ok,
            phases_ms={p: getattr(r, f"{p}_ms") for p in charts.PHASE_COLOURS},
        )
        for r in selectors.chart_results(endpoint)
    ]
    probe = ProbeStatusForm(request.GET)
    status = (
        _probe_status_context(
            endpoint, probe.cleaned_data["after"], probe.cleaned_data["requested"]
        )
        if probe.is_valid()
        else {}
    )
    return {
        **status,
        "endpoint": endpoint,
        "last": endpoint.last_result,
        "uptime": selectors.uptimes([endpoint.pk], now=timezone.now())[endpoint.pk],
        "chart": charts.latency_chart(samples),
        "page_obj": paginator.get_page(page),
        "filters": filters,
        "querystring_base": f"outcome={outcome}&" if outcome else "",
        "state_changes": selectors.state_history(endpoint),
        "windows": endpoint.maintenance_windows.all(),
        "window_form": WindowForm(),
    }


@require_GET
@role_required(READERS)
@vary_on_headers("HX-Request")
def endpoint_detail(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(
        Endpoint.objects.visible_to(request.user).select_related("last_result"), pk=endpoint_id
    )
    return render_page_or_partial(
        request,
        "monitoring/endpoint_detail.html",
        _detail_context(request, endpoint),
        partial="history",
    )


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def endpoint_create(request: AuthedRequest) -> HttpResponse:
    form = EndpointForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_create(
                values=form.endpoint_values,
                password=form.cleaned_data["probe_password"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Endpoint {endpoint} created; its first probe is due now.")
            return redirect(endpoint)
    return render(request, "monitoring/endpoint_form.html", {"form": form, "endpoint": None})


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def endpoint_edit(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.editable_by(request.user), pk=endpoint_id)
    form = EndpointForm(request.POST or None, instance=endpoint)
    if request.method == "POST" and form.is_valid():
        try:
            endpoint = services.endpoint_update(
                endpoint=endpoint,
                values=form.endpoint_values,
                password=form.cleaned_data["probe_password"],
                clear_password=form.cleaned_data["clear_password"],
                actor=request.user,
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, f"Endpoint {endpoint} saved.")
            return redirect(endpoint)
    return render(request, "monitoring/endpoint_form.html", {"form": form, "endpoint": endpoint})


@require_http_methods(["GET", "POST"])
@role_required(ORG_EDITORS)
def endpoint_delete(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.editable_by(request.user), pk=endpoint_id)
    if request.method == "POST":
        services.endpoint_delete(endpoint=endpoint, actor=request.user)
        messages.success(request, f"Endpoint {endpoint} deleted with its history.")
        return redirect("monitoring:board")
    return render(request, "monitoring/endpoint_confirm_delete.html", {"endpoint": endpoint})


@require_POST
@role_required(ORG_EDITORS)
def endpoint_probe(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.editable_by(request.user), pk=endpoint_id)
    try:
        after = services.probe_request(endpoint=endpoint, actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        url = reverse("monitoring:endpoint_detail", args=[endpoint.pk])
        return HttpResponseClientRedirect(url) if request.htmx else redirect(url)
    query = f"after={after}&requested={time.time():.3f}"
    if request.htmx:
        return _probe_status(request, endpoint, after=after, requested=time.time())
    messages.info(request, "Probe requested; the result appears below when a worker has run it.")
    return redirect(f"{reverse('monitoring:endpoint_detail', args=[endpoint.pk])}?{query}")


def _probe_status(
    request: AuthedRequest, endpoint: Endpoint, *, after: int, requested: float
) -> HttpResponse:
    context = {"endpoint": endpoint, **_probe_status_context(endpoint, after, requested)}
    return render(request, "monitoring/endpoint_detail.html#probe-status", context)


def _probe_status_context(endpoint: Endpoint, after: int, requested: float) -> dict[str, object]:
    """The newest result after `after`, or whether waiting for one has gone on too long."""
    result = endpoint.results.filter(pk__gt=after).order_by("-id").first()
    waited = time.time() - requested
    return {
        "result": result,
        "after": after,
        "requested": f"{requested:.3f}",
        "gave_up": result is None and waited > endpoint.timeout_seconds + PROBE_WAIT_GRACE_SECONDS,
    }


@require_GET
@role_required(READERS)
def endpoint_probe_status(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.visible_to(request.user), pk=endpoint_id)
    form = ProbeStatusForm(request.GET)
    if not form.is_valid():
        raise Http404("No probe request to report on.")
    return _probe_status(
        request,
        endpoint,
        after=form.cleaned_data["after"],
        requested=form.cleaned_data["requested"],
    )


@require_POST
@role_required(ORG_EDITORS)
def window_create(request: AuthedRequest, endpoint_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.editable_by(request.user), pk=endpoint_id)
    form = WindowForm(request.POST)
    if form.is_valid():
        services.window_create(endpoint=endpoint, values=form.window_values, actor=request.user)
        messages.success(request, "Maintenance window added: alerts are silenced while it is open.")
        if request.htmx:
            return HttpResponseClientRedirect(endpoint.get_absolute_url())
        return redirect(endpoint)
    context = {**_detail_context(request, endpoint), "window_form": form}
    return render_page_or_partial(
        request, "monitoring/endpoint_detail.html", context, partial="window-form"
    )


@require_POST
@role_required(ORG_EDITORS)
def window_delete(request: AuthedRequest, endpoint_id: int, window_id: int) -> HttpResponse:
    endpoint = get_object_or_404(Endpoint.objects.editable_by(request.user), pk=endpoint_id)
    window = get_object_or_404(endpoint.maintenance_windows, pk=window_id)
    services.window_delete(window=window, actor=request.user)
    messages.success(request, "Maintenance window removed.")
    return redirect(endpoint)


@require_GET
@role_required(READERS)
def channel_list(request: AuthedRequest) -> HttpResponse:
    context = {"channels": NotificationChannel.objects.all(), "form": ChannelForm()}
    return render(request, "monitoring/channel_list.html", context)


@require_POST
@role_required(ORG_EDITORS)
@vary_on_headers("HX-Request")
def channel_create(request: AuthedRequest) -> HttpResponse:
    form = ChannelForm(request.POST)
    if form.is_valid():
        channel = services.channel_create(values=form.channel_values, actor=request.user)
        messages.success(request, f"Alert channel {channel.name} added.")
        if request.htmx:
            return HttpResponseClientRedirect(reverse("monitoring:channel_list"))
        return redirect("monitoring:channel_list")
    context = {"channels": NotificationChannel.objects.all(), "form": form}
    return render_page_or_partial(
        request, "monitoring/channel_list.html", context, partial="channel-form"
    )


@require_POST
@role_required(ORG_EDITORS)
def channel_delete(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=channel_id)
    services.channel_delete(channel=channel, actor=request.user)
    messages.success(request, f"Alert channel {channel.name} removed.")
    return redirect("monitoring:channel_list")


@require_POST
@role_required(ORG_EDITORS)
def channel_toggle(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=channel_id)
    services.channel_update(
        channel=channel, values={"is_enabled": not channel.is_enabled}, actor=request.user
    )
    state = "enabled" if channel.is_enabled else "disabled"
    messages.success(request, f"Alert channel {channel.name} {state}.")
    return redirect("monitoring:channel_list")


@require_POST
@role_required(ORG_EDITORS)
def channel_test(request: AuthedRequest, channel_id: int) -> HttpResponse:
    channel = get_object_or_404(NotificationChannel, pk=channel_id)
    error = services.channel_send_test(channel=channel, actor=request.user)
    context = {"channel": channel, "error": error}
    if request.htmx:
        return render(request, "monitoring/channel_list.html#test-result", context)
    if error:
        messages.error(request, f"The test alert to {channel.name} failed: {error}")
    else:
        messages.success(request, f"Test alert sent to {channel.name}.")
    return redirect("monitoring:channel_list")


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    """Prometheus text format behind a bearer token. No token configured: 404 (the endpoint
    does not exist); a missing or wrong token: 403."""
    token = settings.MAILADMIN_METRICS_TOKEN
    if not token:
        raise Http404("Metrics are not enabled (set MAILADMIN_METRICS_TOKEN).")
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(given.strip(), token):
        return HttpResponse(
            "A valid bearer token is required.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    body = metrics.render(Endpoint.objects.select_related("last_result").order_by("name"))
    return HttpResponse(body, content_type=metrics.CONTENT_TYPE)
