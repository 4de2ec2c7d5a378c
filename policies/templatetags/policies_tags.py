"""Policy panels that other apps' pages embed (the mailbox page shows effective rights)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms, template
from django.urls import reverse
from django.utils import timezone

from accounts.models import Domain, Mailbox
from mailadmin.lib.auth import ACCOUNT_EDITORS, has_role
from policies.forms import (
    ImapSettingForm,
    NetworksForm,
    Pop3GrantForm,
    Pop3RevokeForm,
    imap_choice,
)
from policies.models import Pop3Exception
from policies.rules import Right, effective_policy
from policies.selectors import mailbox_policy_facts, org_policy

register = template.Library()


@dataclass(frozen=True)
class ExceptionRow:
    """One POP3 exception in the panel's history, with its state at `now`."""

    exception: Pop3Exception
    status: str  # active / scheduled / expired / revoked
    revoke_form: forms.Form | None

    @property
    def badge(self) -> str:
        return {"active": "badge-ok", "scheduled": "badge-info", "revoked": "badge-crit"}.get(
            self.status, ""
        )


def exception_status(exception: Pop3Exception, now: datetime) -> str:
    if exception.revoked_at is not None:
        return "revoked"
    if exception.expires_at <= now:
        return "expired"
    if exception.starts_at > now:
        return "scheduled"
    return "active"


def revoke_auto_id(exception_id: int) -> str:
    """Field ids of one exception's revoke form, unique on a page that also has the grant form."""
    return f"id_revoke{exception_id}_%s"


def can_edit_mailbox(user: Any, mailbox: Mailbox) -> bool:
    if not has_role(user, ACCOUNT_EDITORS):
        return False
    return Domain.objects.editable_by(user).filter(pk=mailbox.domain_id).exists()


def panel_context(
    request: Any,
    mailbox: Mailbox,
    *,
    return_to: str,
    now: datetime | None = None,
    imap_form: forms.Form | None = None,
    networks_form: forms.Form | None = None,
    grant_form: forms.Form | None = None,
    revoke_form: tuple[int, forms.Form] | None = None,
) -> dict[str, Any]:
    """Everything the panel shows, in a fixed number of queries whatever the history length.

    Bound forms with errors replace the blank ones; `revoke_form` is (exception id, bound form).
    """
    now = now or timezone.now()
    org = org_policy()
    facts = mailbox_policy_facts(mailbox, org=org)
    effective = effective_policy(facts, now=now)
    history = Pop3Exception.objects.filter(mailbox_id=mailbox.pk).select_related(
        "approver", "granted_by", "revoked_by"
    )
    can_edit = can_edit_mailbox(request.user, mailbox)
    rows = []
    for exception in history.order_by("-starts_at", "-pk"):
        status = exception_status(exception, now)
        form: forms.Form | None = None
        if can_edit and status in {"active", "scheduled"}:
            bound = revoke_form is not None and revoke_form[0] == exception.pk
            form = (
                revoke_form[1]
                if revoke_form is not None and bound
                else Pop3RevokeForm(auto_id=revoke_auto_id(exception.pk))
            )
        rows.append(ExceptionRow(exception, status, form))
    # A refused revocation of an exception no longer revocable has no form row to show it in.
    refusals: list[str] = []
    if revoke_form is not None and all(row.revoke_form is not revoke_form[1] for row in rows):
        refusals = [str(error) for error in revoke_form[1].non_field_errors()]
    return {
        "mailbox": mailbox,
        "request": request,
        "now": now,
        "effective": effective,
        "rights": [
            _right_row("Login", effective.login, "allowed", "refused"),
            _right_row("IMAP", effective.imap, "on", "off"),
            _right_row("POP3", effective.pop3, "on", "off"),
            _right_row("TLS", effective.tls, "required", "required"),
            _right_row("Networks", effective.networks, "any", "restricted", "badge-warn"),
        ],
        "imap_inherited": _inherited_imap(facts.domain_imap_enabled, org.imap_enabled),
        "imap_setting": imap_choice(facts.mailbox_imap_enabled),
        "allowed_networks": facts.allowed_networks,
        "history": rows,
        "refusals": refusals,
        "can_edit": can_edit,
        "max_days": org.pop3_max_exception_days,
        "return_to": return_to,
        "imap_form": imap_form
        or ImapSettingForm(initial={"imap": imap_choice(facts.mailbox_imap_enabled)}),
        "networks_form": networks_form
        or NetworksForm(initial={"networks": "\n".join(facts.allowed_networks)}),
        "grant_form": grant_form or Pop3GrantForm(max_days=org.pop3_max_exception_days),
    }


def _right_row(
    name: str, right: Right, yes: str, no: str, no_badge: str = "badge-crit"
) -> dict[str, str]:
    return {
        "name": name,
        "state": yes if right.allowed else no,
        "badge": "badge-ok" if right.allowed else no_badge,
        "reason": right.reason,
    }


def _inherited_imap(domain_setting: bool | None, org_setting: bool) -> str:
    if domain_setting is not None:
        return f"domain setting: {'on' if domain_setting else 'off'}"
    return f"organisation default: {'on' if org_setting else 'off'}"


@register.inclusion_tag("policies/_mailbox_policy_panel.html", takes_context=True)
def mailbox_policy_panel(context: template.Context, mailbox: Mailbox) -> dict[str, Any]:
    """The protocol-access panel of one mailbox: `{% mailbox_policy_panel mailbox %}`."""
    request = context.get("request")
    return_to = (
        request.get_full_path()
        if request is not None
        else reverse("policies:mailbox_policy", args=[mailbox.pk])
    )
    return panel_context(request, mailbox, return_to=return_to)


@register.filter
def expires_in(moment: datetime, now: datetime) -> str:
    """'expires in 5 days', 'expires in 3 hours', 'expires in 20 minutes' (or 'expired')."""
    seconds = (moment - now).total_seconds()
    if seconds <= 0:
        return "expired"
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = int(seconds // size)
            return f"expires in {count} {unit}{'s' if count != 1 else ''}"
    return "expires in less than a minute"


@register.filter
def expiry_badge(moment: datetime, now: datetime) -> str:
    """Warn when an exception ends within a week, alarm within a day."""
    seconds = (moment - now).total_seconds()
    if seconds <= 86400:
        return "badge-crit"
    return "badge-warn" if seconds <= 7 * 86400 else "badge-info"


@register.inclusion_tag("policies/_mailbox_holds_panel.html", takes_context=True)
def mailbox_holds_panel(context: template.Context, mailbox: Mailbox) -> dict[str, Any]:
    """The mailbox's legal-hold history with an "on hold" badge per active matter (one query):
    `{% mailbox_holds_panel mailbox %}`. Nothing is shown for a mailbox never held."""
    from mailadmin.lib.auth import Role
    from policies.hold_selectors import active_matters, mailbox_hold_history

    history = mailbox_hold_history(mailbox)
    request = context.get("request")
    user = getattr(request, "user", None)
    viewers = frozenset({Role.MAIL_ADMIN, Role.COMPLIANCE_OFFICER, Role.AUDITOR})
    return {
        "history": history,
        "active": active_matters(history),
        "can_view_holds": has_role(user, viewers),
    }


@register.inclusion_tag("policies/_hold_badges.html")
def mailbox_hold_badges(mailbox: Mailbox) -> dict[str, Any]:
    """ "on hold: <matter>" badges for a page header (one query): every role sees them."""
    from policies.hold_selectors import active_matters, mailbox_hold_history

    return {"active": active_matters(mailbox_hold_history(mailbox))}
