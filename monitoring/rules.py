"""Pure decisions for health checks (no ORM; `now` is always a parameter)."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

OK, WARNING, CRITICAL, UNKNOWN = "ok", "warning", "critical", "unknown"
_FAILING = (WARNING, CRITICAL)


@dataclass(frozen=True)
class Transition:
    state: str
    failures: int
    successes: int
    changed: bool


def next_state(
    *,
    state: str,
    failures: int,
    successes: int,
    outcome: str,
    failure_threshold: int,
    recovery_threshold: int,
) -> Transition:
    """The endpoint state after one more result, without flapping.

    A failing outcome (warning/critical) extends the failure streak and resets the success
    streak; once the streak reaches `failure_threshold` the state becomes the latest outcome.
    An OK extends the success streak; `recovery_threshold` of them make the state OK.
    An UNKNOWN outcome (the probe itself broke) changes nothing.
    """
    if outcome == UNKNOWN:
        return Transition(state, failures, successes, changed=False)
    if outcome == OK:
        successes, failures = successes + 1, 0
        new = OK if successes >= recovery_threshold else state
    else:
        failures, successes = failures + 1, 0
        new = outcome if failures >= failure_threshold else state
    return Transition(new, failures, successes, changed=new != state)


def should_alert(from_state: str, to_state: str) -> bool:
    """Alerts go out for entering or leaving a failing state, not for the first OK."""
    return to_state in _FAILING or from_state in _FAILING


def alert_due(
    *,
    state: str,
    state_since: datetime,
    last_alert_at: datetime | None,
    reminder_minutes: int,
    now: datetime,
) -> str | None:
    """While failing: "state_change" if no alert went out for this state yet (it was silenced
    by a maintenance window that has since closed), "reminder" once `reminder_minutes` passed
    since the last alert, else None."""
    if state not in _FAILING:
        return None
    if last_alert_at is None or last_alert_at < state_since:
        return "state_change"
    if reminder_minutes and now - last_alert_at >= timedelta(minutes=reminder_minutes):
        return "reminder"
    return None


@dataclass(frozen=True)
class WindowSpec:
    kind: str  # "one_off" | "weekly"
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    weekday: int | None = None
    start_time: time | None = None
    duration_minutes: int | None = None


def window_is_open(window: WindowSpec, now: datetime) -> bool:
    """Whether `now` (aware, UTC) falls inside the window; weekly windows may cross midnight."""
    if window.kind == "one_off":
        return bool(
            window.starts_at and window.ends_at and window.starts_at <= now < window.ends_at
        )
    if window.weekday is None or window.start_time is None or not window.duration_minutes:
        return False
    length = timedelta(minutes=window.duration_minutes)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    # The occurrence that started most recently: this week's or last week's.
    days_back = (now.weekday() - window.weekday) % 7
    for back in (days_back, days_back + 7):
        start = midnight - timedelta(days=back)
        start = start.replace(hour=window.start_time.hour, minute=window.start_time.minute)
        if start <= now < start + length:
            return True
    return False


def any_window_open(windows: Iterable[WindowSpec], now: datetime) -> bool:
    return any(window_is_open(w, now) for w in windows)


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Nearest-rank percentile (0 < fraction <= 1) of unsorted values; None when empty."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]


def uptime_percent(ok_count: int, count: int) -> float | None:
    return None if not count else round(ok_count * 100 / count, 2)


def hour_floor(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def next_run(now: datetime, interval_seconds: int) -> datetime:
    return now + timedelta(seconds=interval_seconds)
