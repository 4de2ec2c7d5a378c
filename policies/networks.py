"""Allowed client networks: parse what an admin typed into the normalised CIDR list Dovecot takes.

Pure: no ORM. `parse_networks("10.0.0.0/8, 2001:DB8::/32")` -> `["10.0.0.0/8", "2001:db8::/32"]`.
A bare address becomes a one-host network (`192.0.2.10` -> `192.0.2.10/32`).
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# Dovecot checks allow_nets one by one at every login; past a few dozen entries an admin should
# use wider networks instead.
MAX_NETWORKS = 50

_SEPARATORS = re.compile(r"[\s,;]+")

ERROR_MESSAGES = {
    "host_bits": _("%(entry)s has host bits set; did you mean %(network)s?"),
    "not_a_network": _(
        "“%(entry)s” is not an IPv4 or IPv6 network. Write an address like 192.0.2.10 or a "
        "network like 10.0.0.0/8 or 2001:db8::/32."
    ),
    "too_many": _(
        "%(count)s networks are too many; at most %(max)s are allowed. Combine them into "
        "wider networks."
    ),
}


def split_entries(text: str | Iterable[str]) -> list[str]:
    """The non-empty entries of one text (one per line or comma-separated) or of a list."""
    chunks = [text] if isinstance(text, str) else list(text)
    return [entry for chunk in chunks for entry in _SEPARATORS.split(chunk or "") if entry]


def parse_network(entry: str) -> str:
    """One entry as a normalised CIDR, or ValidationError naming the entry."""
    try:
        return str(ipaddress.ip_network(entry, strict=True))
    except ValueError:
        pass
    try:
        loose = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        raise ValidationError(
            ERROR_MESSAGES["not_a_network"], code="not_a_network", params={"entry": entry}
        ) from None
    raise ValidationError(
        ERROR_MESSAGES["host_bits"],
        code="host_bits",
        params={"entry": entry, "network": str(loose)},
    )


def parse_networks(text: str | Iterable[str]) -> list[str]:
    """Every entry normalised, duplicates dropped (first kept), in the order given.

    Refuses with one message per bad entry, or when there are more than MAX_NETWORKS.
    An empty input gives an empty list: any network may log in.
    """
    networks: list[str] = []
    errors: list[ValidationError] = []
    for entry in split_entries(text):
        try:
            network = parse_network(entry)
        except ValidationError as error:
            errors.append(error)
            continue
        if network not in networks:
            networks.append(network)
    if errors:
        raise ValidationError(errors)
    if len(networks) > MAX_NETWORKS:
        raise ValidationError(
            ERROR_MESSAGES["too_many"],
            code="too_many",
            params={"count": len(networks), "max": MAX_NETWORKS},
        )
    return networks
