"""Prometheus text exposition (format 0.0.4) of the latest probe per endpoint."""

from __future__ import annotations

from collections.abc import Iterable

from monitoring.models import Endpoint, State
from monitoring.probes import PHASES

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**labels: object) -> str:
    return ",".join(f'{key}="{_escape(str(value))}"' for key, value in labels.items())


def render(endpoints: Iterable[Endpoint]) -> str:
    """Families: probe success, state, phase and total durations, last run, certificate
    expiry and TLS version/cipher (as labels of an info metric)."""
    families: dict[str, tuple[str, str, list[str]]] = {
        "mailadmin_probe_success": ("gauge", "1 if the last probe was OK, else 0.", []),
        "mailadmin_endpoint_state": ("gauge", "1 for the endpoint's current alert state.", []),
        "mailadmin_probe_duration_seconds": ("gauge", "Duration of the last probe.", []),
        "mailadmin_probe_phase_duration_seconds": ("gauge", "Duration of each phase.", []),
        "mailadmin_probe_last_run_timestamp_seconds": ("gauge", "Start of the last probe.", []),
        "mailadmin_tls_certificate_expiry_timestamp_seconds": (
            "gauge",
            "Not-after of the served certificate.",
            [],
        ),
        "mailadmin_tls_info": ("gauge", "TLS version and cipher of the last probe.", []),
    }

    def add(name: str, labels: str, value: float) -> None:
        families[name][2].append(f"{name}{{{labels}}} {value:g}")

    for e in endpoints:
        base = _labels(
            endpoint=e.name, host=e.host, port=e.port, protocol=e.protocol, transport=e.transport
        )
        for state in State:
            add(
                "mailadmin_endpoint_state",
                f"{base},{_labels(state=state.value)}",
                int(e.state == state),
            )
        r = e.last_result
        if r is None:
            continue
        add("mailadmin_probe_success", base, int(r.outcome == State.OK))
        add("mailadmin_probe_last_run_timestamp_seconds", base, r.started_at.timestamp())
        if r.total_ms is not None:
            add("mailadmin_probe_duration_seconds", base, r.total_ms / 1000)
        for phase in PHASES:
            ms = getattr(r, f"{phase}_ms")
            if ms is not None:
                add(
                    "mailadmin_probe_phase_duration_seconds",
                    f"{base},{_labels(phase=phase)}",
                    ms / 1000,
                )
        if r.cert_not_after is not None:
            add(
                "mailadmin_tls_certificate_expiry_timestamp_seconds",
                base,
                r.cert_not_after.timestamp(),
            )
        if r.tls_version:
            add(
                "mailadmin_tls_info", f"{base},{_labels(version=r.tls_version, cipher=r.cipher)}", 1
            )
    lines: list[str] = []
    for name, (kind, help_text, samples) in families.items():
        lines += [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}", *samples]
    return "\n".join(lines) + "\n"
