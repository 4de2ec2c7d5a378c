"""Input parsing for the policy pages. Forms parse and check shape; services decide and refuse."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.models import Domain
from mailadmin.lib.auth import Role
from policies.models import TlsVersion
from policies.networks import MAX_NETWORKS, parse_networks
from policies.services import POP3_MAX_DAYS_RANGE

DEFAULT_EXCEPTION_DAYS = 30

IMAP_CHOICES = [("inherit", _("Inherit")), ("on", _("On")), ("off", _("Off"))]
_IMAP_VALUES: dict[str, bool | None] = {"inherit": None, "on": True, "off": False}

# Which form field a service refusal belongs to (by its code); others are shown above the form.
FIELD_BY_CODE = {
    "reason_required": "reason",
    "reason_too_short": "reason",
    "expiry_required": "expires_on",
    "start_in_past": "expires_on",
    "expiry_before_start": "expires_on",
    "too_long": "expires_on",
    "approver_required": "approver",
    "approver_not_allowed": "approver",
    "approver_is_mailbox": "approver",
    "revoke_reason_required": "reason",
    "tls_version": "min_tls_version",
    "max_days_range": "pop3_max_exception_days",
    "host_bits": "networks",
    "not_a_network": "networks",
    "too_many": "networks",
}


def add_service_error(form: forms.Form, error: ValidationError) -> None:
    """Attach a service refusal to the field it concerns (or to the form)."""
    for item in error.error_list:
        field = FIELD_BY_CODE.get(item.code or "")
        form.add_error(field if field in form.fields else None, item)


def imap_choice(value: bool | None) -> str:
    """The form value of a stored IMAP override."""
    return {None: "inherit", True: "on", False: "off"}[value]


def eligible_approvers() -> QuerySet[User]:
    """Active superusers and mail administrators, by username (the approver select)."""
    return (
        User.objects.filter(is_active=True)
        .filter(Q(is_superuser=True) | Q(groups__name=Role.MAIL_ADMIN))
        .distinct()
        .order_by("username")
    )


class ApproverChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.get_full_name() or obj.get_username())


class OrgPolicyForm(forms.Form):
    imap_enabled = forms.TypedChoiceField(
        label=_("IMAP for everyone by default"),
        choices=[("on", _("On")), ("off", _("Off"))],
        coerce=lambda v: v == "on",
    )
    min_tls_version = forms.ChoiceField(label=_("Minimum TLS version"), choices=TlsVersion.choices)
    pop3_max_exception_days = forms.IntegerField(
        label=_("Longest POP3 exception (days)"),
        min_value=POP3_MAX_DAYS_RANGE[0],
        max_value=POP3_MAX_DAYS_RANGE[1],
        help_text=_("New exceptions must expire within this many days of their start."),
    )


class ImapSettingForm(forms.Form):
    imap = forms.ChoiceField(label=_("IMAP"), choices=IMAP_CHOICES)

    def clean_imap(self) -> bool | None:
        return _IMAP_VALUES[self.cleaned_data["imap"]]


class NetworksForm(forms.Form):
    networks = forms.CharField(
        label=_("Allowed client networks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "192.0.2.0/24\n2001:db8::/32"}),
        help_text=format_lazy(
            _(
                "One network per line or comma-separated (IPv4 or IPv6, like 10.0.0.0/8); at most {}. Empty: any network."
            ),
            MAX_NETWORKS,
        ),
    )

    def clean_networks(self) -> list[str]:
        return parse_networks(self.cleaned_data["networks"])


class Pop3GrantForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Who needs POP3 and why (at least 10 characters)."),
        error_messages={
            "required": _("Give a reason for the POP3 exception: who needs POP3 and why.")
        },
    )
    approver = ApproverChoiceField(
        label=_("Approved by"),
        queryset=User.objects.none(),
        empty_label=_("Choose the approver"),
        error_messages={
            "required": _("Choose who approved the exception: a superuser or a mail administrator.")
        },
    )
    expires_on = forms.DateField(
        label=_("Expires on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={
            "required": _("Choose when the exception expires; POP3 exceptions always expire."),
            "invalid": _("Write the expiry date as YYYY-MM-DD."),
        },
    )

    def __init__(self, *args: Any, max_days: int, today: date | None = None, **kwargs: Any) -> None:
        today = today or timezone.now().astimezone(UTC).date()
        kwargs.setdefault("initial", {"expires_on": today + timedelta(days=DEFAULT_EXCEPTION_DAYS)})
        super().__init__(*args, **kwargs)
        approver = cast(forms.ModelChoiceField, self.fields["approver"])  # type: ignore[type-arg]
        approver.queryset = eligible_approvers()
        self.latest = today + timedelta(days=max_days)
        self.max_days = max_days
        expires = self.fields["expires_on"]
        expires.widget.attrs.update({"min": today.isoformat(), "max": self.latest.isoformat()})
        expires.help_text = _(
            "POP3 stops at 00:00 UTC that day; at most %(days)s days: on or before %(latest)s."
        ) % {
            "days": max_days,
            "latest": self.latest.isoformat(),
        }

    def expires_at(self) -> datetime:
        """The expiry as an aware moment: the start of the chosen day, UTC."""
        return datetime.combine(self.cleaned_data["expires_on"], time(0, 0), tzinfo=UTC)


class Pop3RevokeForm(forms.Form):
    reason = forms.CharField(
        label=_("Why revoke it?"),
        widget=forms.Textarea(attrs={"rows": 2}),
        error_messages={"required": _("Give a reason for revoking the POP3 exception.")},
    )
    confirm = forms.BooleanField(
        label=_("Yes, stop POP3 for this mailbox at its next login"),
        error_messages={"required": _("Tick the box to confirm that POP3 should stop.")},
    )


class Pop3FilterForm(forms.Form):
    domain = forms.ModelChoiceField(
        label=_("Domain"),
        queryset=Domain.objects.none(),
        required=False,
        empty_label=_("All domains"),
    )

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = cast(forms.ModelChoiceField, self.fields["domain"])  # type: ignore[type-arg]
        field.queryset = Domain.objects.visible_to(user)
