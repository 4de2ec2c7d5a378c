from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any

import pytest

from monitoring import rules
from monitoring.rules import WindowSpec


def _run(outcomes, *, n=2, m=1, state="unknown"):
    failures = successes = 0
    states = []
    for outcome in outcomes:
        step = rules.next_state(
            state=state,
            failures=failures,
            successes=successes,
            outcome=outcome,
            failure_threshold=n,
            recovery_threshold=m,
        )
        state, failures, successes = step.state, step.failures, step.successes
        states.append(state)
    return states


def test_flapping_never_changes_state_below_the_failure_threshold():
    states = _run(["ok", "critical", "ok", "critical", "ok", "critical"], n=2)
    assert states == ["ok"] * 6


def test_state_changes_after_n_consecutive_failures():
    assert _run(["ok", "critical", "critical", "critical"], n=3) == [
        "ok",
        "ok",
        "ok",
        "critical",
    ]


def test_recovery_needs_m_consecutive_successes():
    states = _run(["ok", "ok", "critical", "critical", "ok", "critical", "ok", "ok"], n=2, m=2)
    assert states == [
        "unknown",
        "ok",
        "ok",
        "critical",
        "critical",
        "critical",
        "critical",
        "ok",
    ]


def test_warning_and_critical_both_count_as_failures_and_latest_wins():
    assert _run(["ok", "warning", "critical"], n=2)[-1] == "critical"
    assert _run(["ok", "critical", "warning"], n=2)[-1] == "warning"


def test_unknown_outcome_changes_nothing():
    step = rules.next_state(
        state="critical",
        failures=5,
        successes=0,
        outcome="unknown",
        failure_threshold=2,
        recovery_threshold=1,
    )
    assert step == rules.Transition("critical", 5, 0, changed=False)


def test_should_alert_skips_the_first_ok_but_not_failures_or_recoveries():
    assert not rules.should_alert("unknown", "ok")
    assert rules.should_alert("unknown", "critical")
    assert rules.should_alert("critical", "ok")
    assert rules.should_alert("warning", "critical")


NOW = datetime(2026, 3, 4, 12, 0, tzinfo=UTC)  # a Wednesday


def test_alert_due_reminds_after_the_set_time_only_while_failing():
    since = NOW - timedelta(hours=5)
    kwargs: dict[str, Any] = {"state_since": since, "reminder_minutes": 60, "now": NOW}
    assert (
        rules.alert_due(state="critical", last_alert_at=NOW - timedelta(minutes=61), **kwargs)
        == "reminder"
    )
    assert (
        rules.alert_due(state="critical", last_alert_at=NOW - timedelta(minutes=59), **kwargs)
        is None
    )
    assert rules.alert_due(state="ok", last_alert_at=NOW - timedelta(hours=3), **kwargs) is None
    assert (
        rules.alert_due(
            state="critical",
            last_alert_at=NOW - timedelta(hours=3),
            state_since=since,
            reminder_minutes=0,
            now=NOW,
        )
        is None
    )


def test_alert_due_sends_a_silenced_state_change_once_maintenance_is_over():
    assert (
        rules.alert_due(
            state="critical",
            state_since=NOW - timedelta(minutes=10),
            last_alert_at=NOW - timedelta(days=2),
            reminder_minutes=0,
            now=NOW,
        )
        == "state_change"
    )


def test_one_off_window_is_half_open():
    w = WindowSpec(kind="one_off", starts_at=NOW, ends_at=NOW + timedelta(hours=1))
    assert rules.window_is_open(w, NOW)
    assert rules.window_is_open(w, NOW + timedelta(minutes=59))
    assert not rules.window_is_open(w, NOW + timedelta(hours=1))
    assert not rules.window_is_open(w, NOW - timedelta(seconds=1))


def test_weekly_window_crossing_midnight_and_the_week_boundary():
    # Sunday 23:00 for 2 hours: open Monday 00:30, closed Monday 01:00 and Saturday.
    w = WindowSpec(kind="weekly", weekday=6, start_time=time(23, 0), duration_minutes=120)
    monday = datetime(2026, 3, 9, 0, 30, tzinfo=UTC)
    assert monday.weekday() == 0
    assert rules.window_is_open(w, monday)
    assert not rules.window_is_open(w, monday + timedelta(minutes=30))
    assert rules.window_is_open(w, datetime(2026, 3, 8, 23, 0, tzinfo=UTC))
    assert not rules.window_is_open(w, datetime(2026, 3, 7, 23, 30, tzinfo=UTC))


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [([], 0.5, None), ([5.0], 0.95, 5.0), ([1, 2, 3, 4], 0.5, 2), (list(range(1, 101)), 0.95, 95)],
)
def test_percentile_nearest_rank(values, fraction, expected):
    assert rules.percentile(values, fraction) == expected


def test_uptime_percent():
    assert rules.uptime_percent(0, 0) is None
    assert rules.uptime_percent(99, 100) == 99.0
