"""Celery adapters (thin): ids in, call the service, nothing else."""

from __future__ import annotations

from celery import shared_task


@shared_task(name="monitoring.run_due_probes", acks_late=True, soft_time_limit=50, time_limit=60)
def run_due_probes_task() -> int:
    from monitoring.services import run_due_probes

    return len(run_due_probes())


# Default limits cover the largest endpoint timeout (120 s); run_due_probes and "probe now"
# pass tighter per-endpoint limits with apply_async.
@shared_task(name="monitoring.run_probe", acks_late=True, soft_time_limit=150, time_limit=180)
def run_probe_task(endpoint_id: int) -> str | None:
    from monitoring.services import run_probe

    result = run_probe(endpoint_id=endpoint_id)
    return None if result is None else result.outcome


@shared_task(
    name="monitoring.rollup_and_purge", acks_late=True, soft_time_limit=600, time_limit=660
)
def rollup_and_purge_task() -> dict[str, int]:
    from monitoring.services import rollup_and_purge

    return rollup_and_purge()


# --- log collection (issue 6) ---------------------------------------------------------------


@shared_task(name="monitoring.collect_logs", acks_late=True, soft_time_limit=50, time_limit=60)
def collect_logs_task() -> int:
    """Beat tick: one collection task per enabled source, on the source's queue."""
    from monitoring.log_services import collect_due_sources

    return len(collect_due_sources())


@shared_task(
    name="monitoring.collect_log_source", acks_late=True, soft_time_limit=240, time_limit=300
)
def collect_log_source_task(source_id: int) -> int:
    from monitoring.log_services import collect_source

    return collect_source(source_id).lines


@shared_task(name="monitoring.notify_findings", acks_late=True, soft_time_limit=60, time_limit=90)
def notify_findings_task(finding_ids: list[int]) -> int:
    from monitoring.log_services import findings_notify

    return findings_notify(finding_ids)


@shared_task(
    name="monitoring.purge_log_events", acks_late=True, soft_time_limit=600, time_limit=660
)
def purge_log_events_task() -> dict[str, int]:
    from monitoring.log_services import log_events_purge

    return log_events_purge()
