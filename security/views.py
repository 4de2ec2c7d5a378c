"""Two-factor login (verify, enrol), the security page, and superusers' security actions.

The verify and enrol steps need only a password (TwoFactorMiddleware lets them through); every
other view here needs a verified session like the rest of the dashboard. Superuser actions
(policy, reset another user's device, unlock a login) answer 403 to everyone else.
"""

from __future__ import annotations

from base64 import b32encode
from binascii import unhexlify
from collections.abc import Iterable
from typing import Any

import segno
from axes.models import AccessAttempt
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_otp import login as otp_login
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp.util import random_hex

from mailadmin.lib.auth import READERS, SUPERUSERS, Role, role_required
from mailadmin.lib.http import AuthedRequest
from security import selectors, services
from security.forms import CodeForm, EnrolCodeForm, SecurityPolicyForm, add_service_error

# The key being enrolled lives in the session until a code confirms it (no half-made devices).
ENROL_KEY_SESSION_KEY = "security_enrol_key"


def _next_url(request: AuthedRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    # Only paths: redirect() would take any other word for a URL name (NoReverseMatch).
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return str(settings.LOGIN_REDIRECT_URL)


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_verify(request: AuthedRequest) -> HttpResponse:
    if not selectors.has_two_factor(request.user):
        return redirect("security:two_factor_enrol")
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            device = services.two_factor_verify(actor=request.user, code=form.cleaned_data["code"])
        except ValidationError as error:
            add_service_error(form, error)
        else:
            otp_login(request, device)
            if device.persistent_id.startswith("otp_static"):
                left = selectors.backup_codes_left(request.user)
                messages.warning(request, f"Backup code used: {left} left.")
            return redirect(_next_url(request))
    context = {"form": form, "next": _next_url(request)}
    return render(request, "security/two_factor_verify.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def two_factor_enrol(request: AuthedRequest) -> HttpResponse:
    if selectors.has_two_factor(request.user):
        refusal = None
        if request.method == "POST":
            refusal = services.ERROR_MESSAGES["already_enrolled"] % {
                "user": request.user.get_username()
            }
        context = {"enrolled": True, "refusal": refusal}
        return render(request, "security/two_factor_enrol.html", context)
    key = request.session.get(ENROL_KEY_SESSION_KEY) or random_hex(20)
    request.session[ENROL_KEY_SESSION_KEY] = key
    form = EnrolCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = services.two_factor_enrol(
                actor=request.user, key=key, code=form.cleaned_data["code"]
            )
        except ValidationError as error:
            add_service_error(form, error)
        else:
            del request.session[ENROL_KEY_SESSION_KEY]
            otp_login(request, enrolment.device)
            codes_context: dict[str, Any] = {
                "codes": enrolment.backup_codes,
                "next": _next_url(request),
            }
            return render(request, "security/backup_codes.html", codes_context)
    return render(request, "security/two_factor_enrol.html", _enrol_context(request, key, form))


def _enrol_context(request: AuthedRequest, key: str, form: EnrolCodeForm) -> dict[str, Any]:
    device = TOTPDevice(user=request.user, key=key, name="Authenticator app")
    qr = segno.make(device.config_url, error="m")
    return {
        "form": form,
        # segno writes the SVG from the URI's bits only: no user text reaches the markup.
        "qr_svg": mark_safe(qr.svg_inline(scale=5, border=2, svgclass="qr", omitsize=True)),  # noqa: S308
        "secret": " ".join(_chunks(b32encode(unhexlify(key)).decode(), 4)),
        "next": _next_url(request),
    }


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)]


@require_GET
@role_required(READERS)
def security_index(request: AuthedRequest) -> HttpResponse:
    return render(request, "security/index.html", _index_context(request))


def _index_context(
    request: AuthedRequest, *, policy_form: SecurityPolicyForm | None = None
) -> dict[str, Any]:
    user = request.user
    context: dict[str, Any] = {
        "has_two_factor": selectors.has_two_factor(user),
        "backup_codes_left": selectors.backup_codes_left(user),
        "two_factor_required": selectors.two_factor_required_for(user),
        "session_minutes": settings.SESSION_COOKIE_AGE // 60,
    }
    if user.is_superuser:
        policy = selectors.security_policy()
        initial = {field: getattr(policy, field) for field in SecurityPolicyForm().fields}
        context |= {
            "policy_form": policy_form or SecurityPolicyForm(initial=initial),
            "staff": _with_role_labels(selectors.staff_users()),
            "attempts": selectors.login_attempts()[:100],
            "failure_limit": settings.AXES_FAILURE_LIMIT,
        }
    return context


def _with_role_labels(users: Iterable[User]) -> list[User]:
    people = list(users)
    for person in people:
        labels = [Role(g.name).label for g in person.groups.all() if g.name in Role.values]
        # a display-only attribute for the template
        person.role_labels = ["Superuser"] * person.is_superuser + labels  # type: ignore[attr-defined]
    return people


@require_POST
@role_required(READERS)
def backup_codes_regenerate(request: AuthedRequest) -> HttpResponse:
    try:
        codes = services.backup_codes_regenerate(actor=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("security:index")
    context = {"codes": codes, "next": reverse("security:index"), "replaced": True}
    return render(request, "security/backup_codes.html", context)


@require_POST
@role_required(READERS)
def sessions_revoke(request: AuthedRequest) -> HttpResponse:
    ended = services.sessions_revoke_all(actor=request.user)
    logout(request)
    messages.success(request, f"Logged out everywhere: {ended} session(s) ended. Log in again.")
    return redirect("login")


@require_POST
@role_required(SUPERUSERS)
def security_policy_update(request: AuthedRequest) -> HttpResponse:
    form = SecurityPolicyForm(request.POST)
    if not form.is_valid():  # pragma: no cover - checkboxes accept any input
        return render(request, "security/index.html", _index_context(request, policy_form=form))
    services.security_policy_update(actor=request.user, required=form.required_by_role())
    messages.success(request, "Two-factor policy saved.")
    return redirect("security:index")


@require_POST
@role_required(SUPERUSERS)
def two_factor_reset(request: AuthedRequest, user_id: int) -> HttpResponse:
    user = get_object_or_404(User, pk=user_id)
    try:
        ended = services.two_factor_reset(actor=request.user, user=user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(
            request,
            f"Two-factor login of {user.get_username()} reset; {ended} session(s) ended.",
        )
    return redirect("security:index")


@require_POST
@role_required(SUPERUSERS)
def lockout_release(request: AuthedRequest, attempt_id: int) -> HttpResponse:
    attempt = get_object_or_404(AccessAttempt, pk=attempt_id)
    services.lockout_release(actor=request.user, attempt=attempt)
    messages.success(request, f"Login of {attempt.username} from {attempt.ip_address} unlocked.")
    return redirect("security:index")
