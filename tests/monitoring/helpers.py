"""Typed wrappers around the shared factories (factory_boy's calls are typed as the factory)."""

from __future__ import annotations

from typing import Any, cast

from monitoring.models import Endpoint, NotificationChannel, ProbeResult
from tests.factories import EndpointFactory, NotificationChannelFactory, ProbeResultFactory


def make_endpoint(**values: Any) -> Endpoint:
    return cast(Endpoint, EndpointFactory(**values))


def make_result(**values: Any) -> ProbeResult:
    return cast(ProbeResult, ProbeResultFactory(**values))


def make_channel(**values: Any) -> NotificationChannel:
    return cast(NotificationChannel, NotificationChannelFactory(**values))
