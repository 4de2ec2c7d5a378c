"""Delivering alerts: e-mail through Django's mail backend, webhooks as a JSON POST.

Delivery failures are returned as text (and logged), never raised: an unreachable webhook
must not lose the probe result that triggered it.
"""

from __future__ import annotations

import json
import logging
import urllib.error
import urllib.request
from typing import Any

from django.conf import settings
from django.core.mail import send_mail

from monitoring.models import ChannelKind, NotificationChannel

logger = logging.getLogger(__name__)
WEBHOOK_TIMEOUT_SECONDS = 5


def alert_text(payload: dict[str, Any]) -> tuple[str, str]:
    """(subject, body) of the e-mail for an alert payload."""
    kind = payload.get("kind", "state_change")
    name = payload.get("endpoint", "?")
    state = str(payload.get("to_state", "")).upper()
    if kind == "test":
        subject = "[mailadmin] Test alert"
    elif kind == "reminder":
        subject = f"[mailadmin] {name} is still {state}"
    else:
        subject = f"[mailadmin] {name} is {state}"
    lines = [f"{key}: {value}" for key, value in payload.items() if value not in (None, "")]
    return subject, "\n".join(lines) + "\n"


def deliver(channel: NotificationChannel, payload: dict[str, Any]) -> str:
    """Send one alert to one channel; returns "" on success, else what went wrong."""
    try:
        if channel.kind == ChannelKind.EMAIL:
            subject, body = alert_text(payload)
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [channel.target])
            return ""
        return _post_json(channel.target, payload)
    except Exception as exc:  # a broken channel is reported, never fatal
        logger.warning("alert to %s failed: %s", channel, exc)
        return f"{type(exc).__name__}: {exc}"


def _post_json(url: str, payload: dict[str, Any]) -> str:
    if not url.startswith(("http://", "https://")):
        return f"{url} is not an http(s) URL"
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url,
        data=json.dumps(payload, default=str).encode(),
        headers={"Content-Type": "application/json", "User-Agent": "mailadmin-health"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:  # noqa: S310
            status = int(response.status)
    except urllib.error.HTTPError as exc:
        return f"the webhook answered HTTP {exc.code}"
    except (urllib.error.URLError, OSError) as exc:
        return f"the webhook could not be reached: {getattr(exc, 'reason', exc)}"
    return "" if 200 <= status < 300 else f"the webhook answered HTTP {status}"


def broadcast(payload: dict[str, Any]) -> dict[str, str]:
    """Send to every enabled channel; {channel name: error} for the ones that failed."""
    failures: dict[str, str] = {}
    for channel in NotificationChannel.objects.filter(is_enabled=True):
        error = deliver(channel, payload)
        if error:
            failures[channel.name] = error
    return failures
