"""`manage.py probe --endpoint ID`: the command twin of run_probe_task (runs in-process)."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from monitoring.models import Endpoint, ProbeResult
from monitoring.probes import PHASES
from monitoring.services import run_probe


class Command(BaseCommand):
    help = "Probe one endpoint now, record the result like a scheduled run, and print it."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--endpoint", type=int, required=True, help="endpoint id")
        parser.add_argument("--json", action="store_true", help="print the result as JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        endpoint_id: int = options["endpoint"]
        if not Endpoint.objects.filter(pk=endpoint_id).exists():
            raise CommandError(
                f"There is no endpoint {endpoint_id}. See the ids on the Health page."
            )
        result = run_probe(endpoint_id=endpoint_id)
        if result is None:
            raise CommandError(f"Endpoint {endpoint_id} was deleted while it was probed.")
        self.stdout.write(self._render(result, as_json=options["json"]))
        if not result.is_ok:
            # Non-zero exit for scripts and cron wrappers.
            raise SystemExit(2 if result.outcome == "critical" else 1)

    def _render(self, result: ProbeResult, *, as_json: bool) -> str:
        phases = {
            p: getattr(result, f"{p}_ms") for p in PHASES if getattr(result, f"{p}_ms") is not None
        }
        if as_json:
            return json.dumps(
                {
                    "endpoint": result.endpoint.name,
                    "outcome": result.outcome,
                    "summary": result.summary,
                    "error": result.error,
                    "total_ms": result.total_ms,
                    "phases_ms": phases,
                    "tls_version": result.tls_version,
                    "cert_days_left": result.cert_days_left,
                },
                indent=2,
            )
        timings = ", ".join(f"{p} {ms:.1f}" for p, ms in phases.items())
        lines = [f"{result.endpoint.name}: {result.outcome.upper()} - {result.summary}"]
        if timings:
            lines.append(f"  phases (ms): {timings}")
        if result.error and result.error != result.summary:
            lines.append(f"  error: {result.error}")
        return "\n".join(lines)
