"""Signal wiring: django-axes announces a lockout only by signal (the audit is a service call);
a login stamps the new session as just renewed (security.middleware.SessionActivityMiddleware)."""

from __future__ import annotations

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver

from security.middleware import stamp_session
from security.services import lockout_record


@receiver(user_locked_out, dispatch_uid="security.audit_lockout")
def audit_lockout(
    sender: Any, request: Any = None, username: str | None = None, **kwargs: Any
) -> None:
    # axes sets the count only when this failure reached the limit; it signals again for every
    # attempt while locked, which would let anyone flood the audit trail: those are skipped.
    failures = getattr(request, "axes_failures_since_start", None)
    if failures is not None:
        lockout_record(
            username=username or "", ip_address=kwargs.get("ip_address"), failures=failures
        )


@receiver(user_logged_in, dispatch_uid="security.stamp_session")
def stamp_new_session(sender: Any, request: Any = None, **kwargs: Any) -> None:
    stamp_session(request)
