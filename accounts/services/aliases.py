"""Alias writes. Destinations are our mailboxes, our other aliases, or external addresses."""

from __future__ import annotations

from collections.abc import Sequence

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from accounts.models import Alias, Domain, Mailbox
from accounts.rules import (
    address_to_unicode,
    find_alias_loop,
    normalize_address,
    normalize_local_part,
)
from accounts.services._common import snapshot
from accounts.services.mailboxes import detach_destination
from audit.models import Action
from audit.services import audit_record, changes

ALIAS_FIELDS = ("address", "destinations", "is_active")

ALIAS_ERRORS = {
    "alias_exists": _("The alias %(address)s already exists."),
    "shadows_mailbox": _(
        "%(address)s is a mailbox. An alias with the same address would hide it: choose "
        "another address."
    ),
    "no_destinations": _("Enter at least one destination address, one per line."),
    "bad_destination": _("“%(address)s” is not a valid destination: %(reason)s"),
    "duplicate_destination": _("%(address)s is listed twice. List each destination once."),
    "unknown_local_destination": _(
        "There is no mailbox or alias %(address)s, and %(domain)s is one of our domains. "
        "Create it first or check the spelling."
    ),
    "loop": _(
        "These destinations would make mail go round in a loop: %(path)s. Remove one of the "
        "aliases from the chain."
    ),
    "too_many_destinations": _(
        "An alias can have at most %(max)d destinations; this one has %(count)d."
    ),
}
MAX_DESTINATIONS = 500


def _clean_destinations(alias_address: str, raw: Sequence[str]) -> list[str]:
    """Normalised destinations, or the first refusal (invalid, duplicate, unknown, loop)."""
    items = [item.strip() for item in raw if item.strip()]
    if not items:
        raise ValidationError(ALIAS_ERRORS["no_destinations"], code="no_destinations")
    if len(items) > MAX_DESTINATIONS:
        raise ValidationError(
            ALIAS_ERRORS["too_many_destinations"],
            code="too_many_destinations",
            params={"max": MAX_DESTINATIONS, "count": len(items)},
        )
    cleaned: list[str] = []
    for item in items:
        try:
            address = normalize_address(item, external=True)
        except ValidationError as exc:
            raise ValidationError(
                ALIAS_ERRORS["bad_destination"],
                code="bad_destination",
                params={"address": item, "reason": " ".join(exc.messages)},
            ) from None
        if address in cleaned:
            raise ValidationError(
                ALIAS_ERRORS["duplicate_destination"],
                code="duplicate_destination",
                params={"address": address_to_unicode(address)},
            )
        cleaned.append(address)
    _check_local_destinations_exist(alias_address, cleaned)
    _check_no_loop(alias_address, cleaned)
    return cleaned


def _check_local_destinations_exist(alias_address: str, cleaned: list[str]) -> None:
    domains = {address.partition("@")[2] for address in cleaned}
    ours = set(Domain.objects.filter(name__in=domains).values_list("name", flat=True))
    local = [a for a in cleaned if a.partition("@")[2] in ours and a != alias_address]
    known = set(Mailbox.objects.filter(address__in=local).values_list("address", flat=True))
    known |= set(Alias.objects.filter(address__in=local).values_list("address", flat=True))
    for address in local:
        if address not in known:
            raise ValidationError(
                ALIAS_ERRORS["unknown_local_destination"],
                code="unknown_local_destination",
                params={
                    "address": address_to_unicode(address),
                    "domain": address_to_unicode(address).partition("@")[2],
                },
            )


def _check_no_loop(alias_address: str, cleaned: list[str]) -> None:
    """Walk alias -> alias chains (one query per level) and refuse a cycle, naming its path."""
    graph: dict[str, list[str]] = {alias_address: cleaned}
    frontier = set(cleaned) - set(graph)
    while frontier:
        found = dict(
            Alias.objects.filter(address__in=frontier).values_list("address", "destinations")
        )
        graph.update(found)
        frontier = {d for dests in found.values() for d in dests} - set(graph)
    path = find_alias_loop(alias_address, graph)
    if path:
        raise ValidationError(
            ALIAS_ERRORS["loop"],
            code="loop",
            params={"path": " → ".join(address_to_unicode(a) for a in path)},
        )


def alias_create(
    *,
    domain: Domain,
    local_part: str,
    destinations: Sequence[str],
    actor: User,
    is_active: bool = True,
) -> Alias:
    """Create an alias. Refuses an invalid or taken address, one that would hide a mailbox,
    and bad destinations (invalid, listed twice, unknown in our domains, or a loop)."""
    local = normalize_local_part(local_part)
    with transaction.atomic():
        locked = Domain.objects.select_for_update().get(pk=domain.pk)
        address = f"{local}@{locked.name}"
        shown = {"address": address_to_unicode(address)}
        if Alias.objects.filter(address=address).exists():
            raise ValidationError(ALIAS_ERRORS["alias_exists"], code="alias_exists", params=shown)
        if Mailbox.objects.filter(address=address).exists():
            raise ValidationError(
                ALIAS_ERRORS["shadows_mailbox"], code="shadows_mailbox", params=shown
            )
        alias = Alias(
            domain=locked,
            local_part=local,
            address=address,
            destinations=_clean_destinations(address, destinations),
            is_active=is_active,
        )
        alias.full_clean()
        alias.save(force_insert=True)
        audit_record(
            actor=actor,
            action=Action.ALIAS_CREATED,
            target=alias,
            details={"created": snapshot(alias, ALIAS_FIELDS)},
        )
    return alias


def alias_update(
    *, alias: Alias, destinations: Sequence[str], is_active: bool, actor: User
) -> Alias:
    """Replace the destinations and set active/inactive. Same destination checks as create."""
    with transaction.atomic():
        locked = Alias.objects.select_for_update().get(pk=alias.pk)
        before = snapshot(locked, ALIAS_FIELDS)
        locked.destinations = _clean_destinations(locked.address, destinations)
        locked.is_active = is_active
        diff = changes(before, snapshot(locked, ALIAS_FIELDS))
        if not diff:
            return locked
        locked.full_clean()
        locked.save(update_fields=["destinations", "is_active", "updated_at"])
        audit_record(actor=actor, action=Action.ALIAS_UPDATED, target=locked, details=diff)
    return locked


def alias_delete(*, alias: Alias, actor: User) -> None:
    """Delete an alias. Refuses while another alias has it as its only destination; removes it
    from the destinations of the others."""
    with transaction.atomic():
        locked = Alias.objects.select_for_update().get(pk=alias.pk)
        detach_destination(address=locked.address, display=locked.display_address, actor=actor)
        audit_record(
            actor=actor,
            action=Action.ALIAS_DELETED,
            target=locked,
            details={"deleted": snapshot(locked, ALIAS_FIELDS)},
        )
        locked.delete()
