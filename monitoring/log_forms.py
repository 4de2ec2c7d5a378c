"""GET filters of the log pages and the acknowledge form: parsing only, messages as data."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.log_services import ERRORS as SERVICE_ERRORS
from monitoring.logparse import MAIL_LOG_ACTIONS, Outcome
from monitoring.models import LogSettings, LogSource, Protocol

OUTCOME_LABELS = {
    Outcome.LOGIN: _("Logged in"),
    Outcome.LOGOUT: _("Session ended"),
    Outcome.AUTH_FAILED: _("Wrong password"),
    Outcome.PLAINTEXT_DISABLED: _("Refused: no TLS"),
    Outcome.POLICY_REFUSED: _("Refused by policy"),
    Outcome.NETWORK_REFUSED: _("Refused: network"),
    Outcome.TOO_MANY_CONNECTIONS: _("Too many connections"),
    Outcome.TLS_FAILED: _("TLS handshake failed"),
    Outcome.NO_AUTH: _("No login attempt"),
    Outcome.ABORTED: _("Aborted"),
    Outcome.OTHER: _("Other"),
}
_TIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%Y-%m-%d"]
_TIME_ERRORS = {"invalid": _("Write the time as YYYY-MM-DD HH:MM, for example 2026-01-31 14:00.")}


def _time_field(label: Any) -> forms.DateTimeField:
    return forms.DateTimeField(
        required=False,
        label=label,
        input_formats=_TIME_FORMATS,
        error_messages=_TIME_ERRORS,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )


class _RangeForm(forms.Form):
    error_messages = {
        "range_reversed": _(
            "The end (%(until)s) is before the start (%(since)s). Swap them or clear one."
        ),
    }

    since = _time_field(_("From (UTC)"))
    until = _time_field(_("Until (UTC)"))

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and until < since:
            raise forms.ValidationError(
                self.error_messages["range_reversed"],
                code="range_reversed",
                params={"since": f"{since:%Y-%m-%d %H:%M}", "until": f"{until:%Y-%m-%d %H:%M}"},
            )
        return data

    def filters(self) -> dict[str, Any]:
        """The cleaned filters, or {} when the form is invalid (the page shows the errors)."""
        return dict(self.cleaned_data) if self.is_valid() else {}

    def query(self) -> str:
        """The non-empty submitted filters as a query string (for pagination and export)."""
        pairs = [(name, self.data.get(name, "")) for name in self.fields]
        return urlencode([(name, value) for name, value in pairs if value])


def _lower(value: str) -> str:
    return value.strip().lower()


class ConnectionFilterForm(_RangeForm):
    username = forms.CharField(
        required=False,
        max_length=318,
        label=_("Mailbox"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "user@example.com"}),
    )
    client_ip = forms.GenericIPAddressField(
        required=False,
        label=_("Client address"),
        error_messages={"invalid": _("“%(value)s” is not an IP address, like 192.0.2.7.")},
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "192.0.2.7"}),
    )
    protocol = forms.ChoiceField(
        required=False, label=_("Protocol"), choices=[("", _("Any")), *Protocol.choices]
    )
    outcome = forms.ChoiceField(
        required=False,
        label=_("Outcome"),
        choices=[("", _("Any")), *[(o.value, label) for o, label in OUTCOME_LABELS.items()]],
    )
    tls = forms.ChoiceField(
        required=False,
        label=_("TLS"),
        choices=[("", _("Any")), ("yes", _("With TLS")), ("no", _("Without TLS"))],
    )

    field_order = ["username", "client_ip", "protocol", "outcome", "tls", "since", "until"]

    def clean_username(self) -> str:
        return _lower(self.cleaned_data["username"])


class MailboxEventFilterForm(_RangeForm):
    username = forms.CharField(
        required=False,
        max_length=318,
        label=_("Mailbox"),
        widget=forms.TextInput(attrs={"type": "search", "placeholder": "user@example.com"}),
    )
    action = forms.ChoiceField(
        required=False,
        label=_("Action"),
        choices=[("", _("Any")), *[(a, a.replace("_", " ")) for a in MAIL_LOG_ACTIONS]],
    )
    folder = forms.CharField(required=False, max_length=255, label=_("Folder"))

    field_order = ["username", "action", "folder", "since", "until"]

    def clean_username(self) -> str:
        return _lower(self.cleaned_data["username"])


class FindingFilterForm(forms.Form):
    show = forms.ChoiceField(
        required=False,
        choices=[("open", _("Open")), ("acknowledged", _("Acknowledged")), ("all", _("All"))],
    )


class AcknowledgeForm(forms.Form):
    finding = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    note = forms.CharField(required=False, max_length=300, label=_("Note"))


# --- log settings and sources (the "Log settings" page) ---------------------------------------

_NUMBER_ERRORS = {
    "required": _("Enter a whole number."),
    "invalid": _("Enter a whole number, like 10."),
    "min_value": _("Enter at least %(limit_value)s."),
    "max_value": _("Enter at most %(limit_value)s."),
}


def _number(label: Any, help_text: Any, *, low: int, high: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        min_value=low,
        max_value=high,
        error_messages=_NUMBER_ERRORS,
        widget=forms.NumberInput(attrs={"min": low, "max": high}),
    )


class LogSettingsForm(forms.Form):
    """Every field of LogSettings; the service (log_settings_update) saves and audits."""

    store_sender_subject = forms.BooleanField(
        required=False,
        label=_("Store sender and subject of messages"),
        help_text=_(
            "A privacy choice. Dovecot's mailbox log names the sender and the subject of every "
            "message saved, copied or deleted: personal data of your users and of the people "
            "who write to them. Off (the default): they are dropped as lines are read. On: "
            "they are kept with each mailbox event, shown to everyone who may read the logs "
            "and exported with them, until the retention below removes them. Applies to lines "
            "read from now on."
        ),
    )
    burst_threshold = _number(
        _("Failed-login burst: attempts"),
        _(
            "Failed logins (wrong password or refused by network rules) on one mailbox, or from "
            "one client address, within the window below that open a “failed-login burst” "
            "finding and e-mail the administrators. At least 2."
        ),
        low=2,
        high=100_000,
    )
    burst_window_minutes = _number(
        _("Failed-login burst: window (minutes)"),
        _("How far back the failed logins are counted, in minutes (1 to 1440, one day)."),
        low=1,
        high=1440,
    )
    retention_days = _number(
        _("Keep log events (days)"),
        _(
            "Connection and mailbox events older than this are deleted every night at 03:30 "
            "UTC, except those of custodians on legal hold. Findings are kept."
        ),
        low=1,
        high=3650,
    )

    @classmethod
    def for_row(cls, row: LogSettings) -> LogSettingsForm:
        return cls(initial={name: getattr(row, name) for name in cls.base_fields})

    @property
    def settings_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class LogSourceForm(forms.Form):
    """One Dovecot log file on one host; the services check paths, duplicates and queues."""

    name = forms.CharField(
        max_length=100,
        label=_("Name"),
        error_messages={"required": _("Give the source a name, for example mail1 dovecot.")},
        help_text=_("How pages and the audit trail call this source, e.g. mail1 dovecot."),
    )
    host_label = forms.CharField(
        max_length=100,
        label=_("Host"),
        error_messages={"required": SERVICE_ERRORS["empty_host"]},
        help_text=_("The mail host the file is on; stored with every event read from it."),
    )
    path = forms.CharField(
        max_length=500,
        label=_("Path"),
        error_messages={"required": SERVICE_ERRORS["empty_path"]},
        help_text=_("Full path of the log file on that host, e.g. /var/log/dovecot.log."),
        widget=forms.TextInput(attrs={"class": "mono", "placeholder": "/var/log/dovecot.log"}),
    )
    queue = forms.CharField(
        max_length=100,
        required=False,
        label=_("Queue"),
        help_text=_(
            "The Celery queue of the worker running on that host (it reads the file). Leave "
            "empty for the default queue, when the worker shares the host with the file."
        ),
    )
    timezone_name = forms.CharField(
        max_length=64,
        initial="UTC",
        label=_("Time zone of the log"),
        error_messages={"required": _("Give the time zone of the log, for example UTC.")},
        help_text=_(
            "Dovecot writes local time without an offset: the zone of that host, e.g. UTC or "
            "Europe/Berlin."
        ),
    )
    is_enabled = forms.BooleanField(
        required=False,
        initial=True,
        label=_("Collect this file"),
        help_text=_("Read new lines every 30 seconds."),
    )

    field_order = ["name", "host_label", "path", "queue", "timezone_name", "is_enabled"]

    @classmethod
    def for_source(cls, source: LogSource) -> LogSourceForm:
        return cls(initial={name: getattr(source, name) for name in cls.base_fields})

    @property
    def source_values(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in self.fields}


class LogSourceEditForm(LogSourceForm):
    """Editing leaves collection on or off: disabling has its own, confirmed, action."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        del self.fields["is_enabled"]


class CollectStatusForm(forms.Form):
    """The "collect now" progress fragment's query: where the source stood at the request."""

    after = forms.IntegerField(min_value=0)
    lines = forms.IntegerField(min_value=0)
    unknown = forms.IntegerField(min_value=0)
    requested = forms.FloatField(min_value=0)
