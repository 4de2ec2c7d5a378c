"""Server-rendered SVG geometry for the latency chart (pure: no ORM, no markup)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# One colour per phase, colour-blind-friendly (Okabe-Ito) plus greys.
PHASE_COLOURS = {
    "dns": "#999999",
    "connect": "#56b4e9",
    "tls": "#0072b2",
    "greeting": "#009e73",
    "starttls": "#cc79a7",
    "capability": "#f0e442",
    "login": "#e69f00",
    "select": "#d55e00",
    "logout": "#666666",
}


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str


@dataclass(frozen=True)
class Tick:
    y: float
    label: str


@dataclass(frozen=True)
class Chart:
    width: int
    height: int
    plot_left: int
    plot_bottom: int
    segments: list[Segment]
    failures: list[Segment]
    ticks: list[Tick]
    legend: list[tuple[str, str]]
    first_at: datetime | None
    last_at: datetime | None


@dataclass(frozen=True)
class Sample:
    started_at: datetime
    ok: bool
    phases_ms: dict[str, float | None]


def _nice_max(value: float) -> float:
    for step in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 60000):
        if value <= step:
            return float(step)
    return value


def latency_chart(samples: Sequence[Sample], *, width: int = 760, height: int = 220) -> Chart:
    """Stacked bars, one per probe, one segment per phase; failed probes as a red marker."""
    left, top, bottom = 56, 10, height - 24
    plot_h = bottom - top
    used = [p for p in PHASE_COLOURS if any(s.phases_ms.get(p) for s in samples)]
    peak = max((sum(v or 0 for v in s.phases_ms.values()) for s in samples), default=0)
    scale_max = _nice_max(max(peak, 1.0))
    slot = (width - left - 8) / max(len(samples), 1)
    bar = max(slot * 0.7, 1.0)
    segments: list[Segment] = []
    failures: list[Segment] = []
    for i, sample in enumerate(samples):
        x = left + i * slot + (slot - bar) / 2
        y = float(bottom)
        for phase in used:
            ms = sample.phases_ms.get(phase) or 0.0
            h = ms / scale_max * plot_h
            if h <= 0:
                continue
            y -= h
            label = f"{sample.started_at:%Y-%m-%d %H:%M:%S} {phase} {ms:.1f} ms"
            segments.append(
                Segment(
                    round(x, 1),
                    round(y, 1),
                    round(bar, 1),
                    round(h, 2),
                    PHASE_COLOURS[phase],
                    label,
                )
            )
        if not sample.ok:
            failures.append(
                Segment(
                    round(x, 1),
                    float(bottom + 4),
                    round(bar, 1),
                    6.0,
                    "#b3261e",
                    f"{sample.started_at:%Y-%m-%d %H:%M:%S} failed",
                )
            )
    ticks = [
        Tick(round(bottom - plot_h * f, 1), f"{scale_max * f:g} ms")
        for f in (0, 0.25, 0.5, 0.75, 1)
    ]
    return Chart(
        width=width,
        height=height,
        plot_left=left,
        plot_bottom=bottom,
        segments=segments,
        failures=failures,
        ticks=ticks,
        legend=[(p, PHASE_COLOURS[p]) for p in used],
        first_at=samples[0].started_at if samples else None,
        last_at=samples[-1].started_at if samples else None,
    )
