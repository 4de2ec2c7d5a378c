"""Policy panels that other apps' pages embed (the mailbox page shows effective rights)."""

from __future__ import annotations

from typing import Any

from django import template

from accounts.models import Mailbox

register = template.Library()


@register.inclusion_tag("policies/_mailbox_policy_panel.html", takes_context=True)
def mailbox_policy_panel(context: template.Context, mailbox: Mailbox) -> dict[str, Any]:
    return {"mailbox": mailbox, "request": context.get("request")}
