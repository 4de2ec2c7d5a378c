"""Reads for the health pages: a constant number of queries however many endpoints exist."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Max, Q, QuerySet, Sum

from monitoring import rules
from monitoring.models import STATE_SEVERITY, Endpoint, ProbeResult, Rollup, State, StateChange
from monitoring.probes import PHASES


@dataclass
class Uptime:
    day: float | None = None
    week: float | None = None
    month: float | None = None


@dataclass
class BoardRow:
    endpoint: Endpoint
    uptime: Uptime


def uptimes(endpoint_ids: list[int], *, now: datetime) -> dict[int, Uptime]:
    """Uptime % over 24 h (raw results), 7 d and 30 d (hourly rollups up to the newest rolled
    hour, raw results after it). Three queries."""
    day, week, month = now - timedelta(days=1), now - timedelta(days=7), now - timedelta(days=30)
    newest: datetime | None = Rollup.objects.aggregate(h=Max("hour"))["h"]
    raw_from = newest + timedelta(hours=1) if newest is not None else month
    ok = Q(outcome=State.OK)
    raw = (
        ProbeResult.objects.filter(endpoint_id__in=endpoint_ids, started_at__gte=min(day, raw_from))
        .values("endpoint_id")
        .annotate(
            day_n=Count("id", filter=Q(started_at__gte=day)),
            day_ok=Count("id", filter=Q(started_at__gte=day) & ok),
            week_n=Count("id", filter=Q(started_at__gte=max(week, raw_from))),
            week_ok=Count("id", filter=Q(started_at__gte=max(week, raw_from)) & ok),
            month_n=Count("id", filter=Q(started_at__gte=raw_from)),
            month_ok=Count("id", filter=Q(started_at__gte=raw_from) & ok),
        )
        .order_by()
    )
    rolled = (
        Rollup.objects.filter(endpoint_id__in=endpoint_ids, hour__gte=month, hour__lt=raw_from)
        .values("endpoint_id")
        .annotate(
            week_n=Sum("count", filter=Q(hour__gte=week)),
            week_ok=Sum("ok_count", filter=Q(hour__gte=week)),
            month_n=Sum("count"),
            month_ok=Sum("ok_count"),
        )
        .order_by()
    )
    totals: dict[int, dict[str, int]] = {pk: {} for pk in endpoint_ids}
    for row in [*raw, *rolled]:
        bucket = totals[row["endpoint_id"]]
        for key, value in row.items():
            if key != "endpoint_id":
                bucket[key] = bucket.get(key, 0) + (value or 0)
    return {
        pk: Uptime(
            day=rules.uptime_percent(t.get("day_ok", 0), t.get("day_n", 0)),
            week=rules.uptime_percent(t.get("week_ok", 0), t.get("week_n", 0)),
            month=rules.uptime_percent(t.get("month_ok", 0), t.get("month_n", 0)),
        )
        for pk, t in totals.items()
    }


def board_rows(*, now: datetime) -> list[BoardRow]:
    """Every endpoint, worst state first, with its last result and uptimes (4 queries)."""
    endpoints = list(Endpoint.objects.select_related("last_result").order_by("name"))
    endpoints.sort(key=lambda e: -STATE_SEVERITY[State(e.state)])
    ups = uptimes([e.pk for e in endpoints], now=now)
    return [BoardRow(endpoint=e, uptime=ups[e.pk]) for e in endpoints]


def state_counts() -> dict[str, int]:
    rows = Endpoint.objects.filter(is_enabled=True).values("state").annotate(n=Count("id"))
    counts = {state.value: 0 for state in State}
    for row in rows.order_by():
        counts[row["state"]] = row["n"]
    return counts


def failing_endpoints(limit: int = 5) -> QuerySet[Endpoint]:
    return (
        Endpoint.objects.filter(is_enabled=True, state__in=[State.WARNING, State.CRITICAL])
        .select_related("last_result")
        .order_by("state_since")[:limit]
    )


def chart_results(endpoint: Endpoint, *, limit: int = 60) -> list[ProbeResult]:
    """The newest results, oldest first, for the latency chart."""
    rows = list(
        endpoint.results.only(
            "started_at",
            "outcome",
            "total_ms",
            *[f"{p}_ms" for p in PHASES],
        ).order_by("-started_at")[:limit]
    )
    rows.reverse()
    return rows


def history(endpoint: Endpoint, *, outcome: str = "") -> QuerySet[ProbeResult]:
    results = endpoint.results.defer("details").order_by("-started_at")
    return results.filter(outcome=outcome) if outcome else results


def state_history(endpoint: Endpoint, *, limit: int = 20) -> QuerySet[StateChange]:
    return endpoint.state_changes.order_by("-at", "-id")[:limit]
