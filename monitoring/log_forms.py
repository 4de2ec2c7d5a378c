"""GET filters of the log pages and the acknowledge form: parsing only, messages as data."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.utils.translation import gettext_lazy as _

from monitoring.logparse import MAIL_LOG_ACTIONS, Outcome
from monitoring.models import Protocol

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
