"""Input parsing for the health pages; messages are data (`error_messages`)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator
from django.utils.translation import gettext_lazy as _

from monitoring.models import (
    ChannelKind,
    Endpoint,
    MaintenanceWindow,
    NotificationChannel,
    State,
    WindowKind,
)
from monitoring.services import ENDPOINT_FIELDS

if TYPE_CHECKING:
    _EndpointModelForm = forms.ModelForm[Endpoint]
    _WindowModelForm = forms.ModelForm[MaintenanceWindow]
    _ChannelModelForm = forms.ModelForm[NotificationChannel]
else:  # ModelForm is generic only in django-stubs, not at runtime
    _EndpointModelForm = _WindowModelForm = _ChannelModelForm = forms.ModelForm


class EndpointForm(_EndpointModelForm):
    """Endpoint settings plus a write-only probe password ("leave blank to keep")."""

    error_messages = {
        "latency_order": _(
            "The warning latency (%(warn)s ms) must not exceed the critical latency "
            "(%(crit)s ms). Lower the warning or raise the critical threshold."
        ),
        "cert_order": _(
            "Warn about the certificate earlier than the critical alarm: the warning at "
            "%(warn)s days must be at least the critical %(crit)s days."
        ),
        "password_without_user": _(
            "A probe password needs a probe account user name. Enter the user name, or leave "
            "the password blank."
        ),
        "user_without_password": _(
            "Enter the probe account's password, or leave the user name blank to probe "
            "without logging in."
        ),
        "timeout_vs_interval": _(
            "The timeout (%(timeout)s s) must be shorter than the interval (%(interval)s s) "
            "so that probes of one endpoint never overlap."
        ),
    }

    probe_password = forms.CharField(
        label=_("Probe account password"),
        required=False,
        strip=False,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Write-only: stored encrypted, never shown again. Leave blank to keep."),
    )
    clear_password = forms.BooleanField(label=_("Remove the stored password"), required=False)

    class Meta:
        model = Endpoint
        fields = list(ENDPOINT_FIELDS)
        help_texts = {
            "expected_cert_name": _("Leave blank to expect the host name."),
            "source_address": _(
                "Local address to probe from. Must not look like the mail host itself "
                "(Dovecot treats same-address connections as secure)."
            ),
            "failure_threshold": _("Consecutive failures before the state changes."),
            "recovery_threshold": _("Consecutive successes before it is OK again."),
            "reminder_minutes": _("Remind while still failing after this long; 0 = never."),
            "probe_username": _("Optional: logs in and selects INBOX (IMAP) or STAT (POP3)."),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        warn, crit = data.get("latency_warn_ms"), data.get("latency_crit_ms")
        if warn is not None and crit is not None and warn > crit:
            self.add_error(
                "latency_warn_ms",
                ValidationError(
                    self.error_messages["latency_order"],
                    code="latency_order",
                    params={"warn": warn, "crit": crit},
                ),
            )
        dwarn, dcrit = data.get("cert_days_warn"), data.get("cert_days_crit")
        if dwarn is not None and dcrit is not None and dwarn < dcrit:
            self.add_error(
                "cert_days_warn",
                ValidationError(
                    self.error_messages["cert_order"],
                    code="cert_order",
                    params={"warn": dwarn, "crit": dcrit},
                ),
            )
        timeout, interval = data.get("timeout_seconds"), data.get("interval_seconds")
        if timeout is not None and interval is not None and timeout >= interval:
            self.add_error(
                "timeout_seconds",
                ValidationError(
                    self.error_messages["timeout_vs_interval"],
                    code="timeout_vs_interval",
                    params={"timeout": timeout, "interval": interval},
                ),
            )
        self._clean_account(data)
        return data

    def _clean_account(self, data: dict[str, Any]) -> None:
        user, password = data.get("probe_username"), data.get("probe_password")
        has_stored = bool(self.instance.pk and self.instance.probe_password_encrypted)
        keeps_stored = has_stored and not data.get("clear_password")
        if password and not user:
            self.add_error(
                "probe_password",
                ValidationError(
                    self.error_messages["password_without_user"], code="password_without_user"
                ),
            )
        elif user and not password and not keeps_stored:
            self.add_error(
                "probe_password",
                ValidationError(
                    self.error_messages["user_without_password"], code="user_without_password"
                ),
            )

    @property
    def endpoint_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in ENDPOINT_FIELDS}


class WindowForm(_WindowModelForm):
    error_messages = {
        "one_off_needs_dates": _("A one-off window needs a start and an end (UTC)."),
        "end_before_start": _(
            "The window ends (%(end)s) before it starts (%(start)s). Choose a later end."
        ),
        "weekly_needs_slot": _("A weekly window needs a day, a start time (UTC) and a duration."),
    }

    class Meta:
        model = MaintenanceWindow
        fields = [
            "kind",
            "starts_at",
            "ends_at",
            "weekday",
            "start_time",
            "duration_minutes",
            "reason",
        ]
        widgets = {
            "starts_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "ends_at": forms.DateTimeInput(attrs={"type": "datetime-local"}),
            "start_time": forms.TimeInput(attrs={"type": "time"}),
        }
        labels = {
            "starts_at": _("Starts (UTC)"),
            "ends_at": _("Ends (UTC)"),
            "start_time": _("Start time (UTC)"),
            "duration_minutes": _("Duration (minutes)"),
        }

    def _post_clean(self) -> None:
        # The model's shape constraint is checked here with our own messages (clean());
        # the endpoint is attached by the service.
        pass

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("kind") == WindowKind.ONE_OFF:
            start, end = data.get("starts_at"), data.get("ends_at")
            if not start or not end:
                raise ValidationError(
                    self.error_messages["one_off_needs_dates"], code="one_off_needs_dates"
                )
            if end <= start:
                raise ValidationError(
                    self.error_messages["end_before_start"],
                    code="end_before_start",
                    params={"start": f"{start:%Y-%m-%d %H:%M}", "end": f"{end:%Y-%m-%d %H:%M}"},
                )
            data.update(weekday=None, start_time=None, duration_minutes=None)
        elif data.get("kind") == WindowKind.WEEKLY:
            if data.get("weekday") is None or not data.get("start_time"):
                raise ValidationError(
                    self.error_messages["weekly_needs_slot"], code="weekly_needs_slot"
                )
            if not data.get("duration_minutes"):
                raise ValidationError(
                    self.error_messages["weekly_needs_slot"], code="weekly_needs_slot"
                )
            data.update(starts_at=None, ends_at=None)
        return data

    @property
    def window_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data.get(name) for name in self.Meta.fields}


class ChannelForm(_ChannelModelForm):
    error_messages = {
        "bad_email": _("“%(target)s” is not an e-mail address. Enter one like ops@example.org."),
        "bad_url": _(
            "“%(target)s” is not an http(s) URL. Enter the full webhook address, like "
            "https://hooks.example.org/mail."
        ),
    }

    class Meta:
        model = NotificationChannel
        fields = ["name", "kind", "target", "is_enabled"]
        labels = {"target": _("E-mail address or webhook URL")}

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        kind, target = data.get("kind"), (data.get("target") or "").strip()
        if not kind or not target:
            return data
        data["target"] = target
        try:
            if kind == ChannelKind.EMAIL:
                EmailValidator()(target)
            else:
                URLValidator(schemes=["http", "https"])(target)
        except ValidationError:
            code = "bad_email" if kind == ChannelKind.EMAIL else "bad_url"
            self.add_error(
                "target",
                ValidationError(self.error_messages[code], code=code, params={"target": target}),
            )
        return data

    @property
    def channel_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.Meta.fields}


class ProbeStatusForm(forms.Form):
    """GET parameters of the "probe now" progress fragment."""

    after = forms.IntegerField(min_value=0)
    requested = forms.FloatField(min_value=0)


class HistoryFilterForm(forms.Form):
    outcome = forms.ChoiceField(choices=[("", _("All outcomes")), *State.choices], required=False)
    page = forms.IntegerField(min_value=1, required=False)
