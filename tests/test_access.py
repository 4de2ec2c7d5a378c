"""Every URL of the project, as every persona: who gets in, who is refused, never a 500.

The routes are read from the URL resolver, so new views are covered without touching this file,
unless they take a URL argument this file does not know yet: then add it to KWARGS below (an
object in `domain` for the insiders and the same kind of object in `other_domain` for the
outsider). Deviations from the default expectations go in PUBLIC or OVERRIDES, with a reason.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from accounts.models import MailboxImport
from audit.models import AuditEvent
from monitoring.models import MaintenanceWindow, WindowKind
from policies.models import HoldCustodian, LegalHold, Pop3Exception
from tests.conftest import login_client
from tests.factories import (
    AliasFactory,
    EndpointFactory,
    LogSourceFactory,
    MailboxFactory,
    NotificationChannelFactory,
)

SKIPPED_PREFIXES = ("django-admin/",)  # Django's own admin has its own permission system
PERSONAS = [
    "superadmin",
    "mail_admin",
    "domain_admin",
    "compliance_officer",
    "auditor",
    "outsider",
    "norole",
]


@dataclass
class Side:
    """One side of the world: a domain, its administrator, and the URL objects made so far."""

    domain: Any
    admin: Any
    objects: dict[str, Any]


@dataclass(frozen=True)
class Kwarg:
    """How to fill one URL argument: make(side) returns an object inside side.domain.

    Objects are made in KWARGS order, so one may use another (side.objects["endpoint_id"]).
    """

    make: Callable[[Side], Any]
    # True when the object belongs to a domain (or to one administrator), so the domain
    # administrator of another domain must not reach it: 404, or 403 when the page is not for
    # their role at all. False for organisation-wide objects such as monitored endpoints.
    domain_scoped: bool = True


def _pop3_exception(side: Side) -> Pop3Exception:
    return Pop3Exception.objects.create(
        mailbox=side.objects["mailbox_id"],
        reason="legacy client",
        approver=side.admin,
        granted_by=side.admin,
        starts_at=timezone.now(),
        expires_at=timezone.now() + timedelta(days=30),
    )


def _maintenance_window(side: Side) -> MaintenanceWindow:
    return MaintenanceWindow.objects.create(
        endpoint=side.objects["endpoint_id"],
        kind=WindowKind.ONE_OFF,
        starts_at=timezone.now(),
        ends_at=timezone.now() + timedelta(hours=1),
        reason="upgrade",
    )


def _legal_hold(side: Side) -> LegalHold:
    return LegalHold.objects.create(
        matter_name=f"Matter of {side.domain.name}",
        matter_reference="REF-1",
        reason="preserve",
        starts_on=timezone.now().date(),
        placed_by=side.admin,
        placed_at=timezone.now(),
    )


def _hold_custodian(side: Side) -> HoldCustodian:
    mailbox = side.objects["mailbox_id"]
    return HoldCustodian.objects.create(
        hold=side.objects["hold_id"],
        kind="mailbox",
        mailbox=mailbox,
        name=mailbox.address,
        added_by=side.admin,
        added_at=timezone.now(),
        add_reason="preserve",
    )


def _login_attempt(side: Side) -> AccessAttempt:
    return AccessAttempt.objects.create(
        username=side.admin.username,
        ip_address="192.0.2.10",
        user_agent="test",
        http_accept="*/*",
        path_info="/login/",
        failures_since_start=5,
    )


KWARGS: dict[str, Kwarg] = {
    "domain_id": Kwarg(lambda side: side.domain),
    "mailbox_id": Kwarg(lambda side: MailboxFactory.create(domain=side.domain)),
    "alias_id": Kwarg(lambda side: AliasFactory.create(domain=side.domain)),
    # An import belongs to the administrator who uploaded it.
    "import_id": Kwarg(
        lambda side: MailboxImport.objects.create(actor=side.admin, filename="people.csv")
    ),
    "exception_id": Kwarg(_pop3_exception),
    "endpoint_id": Kwarg(lambda side: EndpointFactory.create(), domain_scoped=False),
    "window_id": Kwarg(_maintenance_window, domain_scoped=False),
    "channel_id": Kwarg(lambda side: NotificationChannelFactory.create(), domain_scoped=False),
    # security/: a staff account (its two-factor reset) and a failed-login counter (unlock).
    "user_id": Kwarg(lambda side: side.admin, domain_scoped=False),
    "attempt_id": Kwarg(_login_attempt, domain_scoped=False),
    # policies/ legal holds: organisation-wide (domain administrators get 403 on every page).
    "hold_id": Kwarg(_legal_hold, domain_scoped=False),
    "custodian_id": Kwarg(_hold_custodian, domain_scoped=False),
    # monitoring/ log sources: organisation-wide, like endpoints.
    "source_id": Kwarg(lambda side: LogSourceFactory.create(), domain_scoped=False),
}

# Query strings some views need to answer at all (url name -> query), like htmx polling fragments.
QUERIES: dict[str, str] = {
    # the "probe now" progress fragment: results after id 0, requested at time 0
    "monitoring:endpoint_probe_status": "after=0&requested=0",
    # the "collect now" progress fragment: nothing collected before, requested at time 0
    "monitoring:log_source_collect_status": "after=0&lines=0&unknown=0&requested=0",
}
# Pages anyone may open, logged in or not.
PUBLIC = {"login"}
# url name -> {persona or "anonymous": allowed GET statuses}, for the few that differ, with why.
OVERRIDES: dict[str, dict[str, set[int]]] = {
    # An import holds uploaded passwords until it ran: only its author sees it, not even a
    # superuser (accounts/views/imports.py::_own).
    "accounts:mailbox_import_detail": {"superadmin": {404}},
    # Prometheus scrapes these with a bearer token, not a session: 404 while no token is set.
    "metrics": {who: {404} for who in ["anonymous", *PERSONAS]},
    "monitoring:metrics": {who: {404} for who in ["anonymous", *PERSONAS]},
    # The two-factor steps are for any signed-in user, with a role or not (a superuser's
    # requirement does not depend on a role either).
    "security:two_factor_verify": {"norole": {200}},
    "security:two_factor_enrol": {"norole": {200}},
}


@dataclass(frozen=True)
class Route:
    name: str | None
    route: str
    kwargs: tuple[str, ...]

    def __str__(self) -> str:
        return self.name or self.route


def _walk(
    patterns: list[URLPattern | URLResolver], namespace: str, prefix: str, kwargs: tuple[str, ...]
) -> Iterator[Route]:
    for entry in patterns:
        route = prefix + str(entry.pattern)
        names = kwargs + tuple(entry.pattern.regex.groupindex)
        if route.startswith(SKIPPED_PREFIXES):
            continue
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _walk(entry.url_patterns, inner, route, names)
        else:
            yield Route(f"{namespace}{entry.name}" if entry.name else None, route, names)


ROUTES = list(_walk(get_resolver().url_patterns, "", "", ()))


@dataclass
class World:
    clients: dict[str, Client]
    # "inside": objects in `domain`; "outside": objects in `other_domain`.
    objects: dict[str, dict[str, Any]]

    def url(self, route: Route, side: str = "inside") -> str:
        if route.name is None:
            pytest.fail(
                f"URL pattern {route.route!r} has no name: give it one so it can be tested."
            )
        unknown = [name for name in route.kwargs if name not in KWARGS]
        if unknown:
            pytest.fail(
                f"URL {route.name} ({route.route}) takes {', '.join(unknown)}, which "
                "tests/test_access.py does not know. Add an entry to KWARGS that creates such an "
                "object inside the given domain."
            )
        values = {name: self.objects[side][name].pk for name in route.kwargs}
        query = QUERIES.get(route.name)
        return reverse(route.name, kwargs=values) + (f"?{query}" if query else "")


@pytest.fixture
def world(request, domain, other_domain, domain_admin, outsider) -> World:
    clients = {"anonymous": Client()}
    for persona in PERSONAS:
        clients[persona] = login_client(request.getfixturevalue(persona))
    objects: dict[str, dict[str, Any]] = {"inside": {}, "outside": {}}
    for name, owner, admin in (
        ("inside", domain, domain_admin),
        ("outside", other_domain, outsider),
    ):
        side = Side(owner, admin, objects[name])
        for kwarg_name, kwarg in KWARGS.items():
            side.objects[kwarg_name] = kwarg.make(side)
    return World(clients, objects)


def allowed_methods(world: World, url: str) -> set[str]:
    """What the view accepts, from the Allow header of a 405 to OPTIONS (superusers pass roles).

    A view that does not restrict its methods answers without the header: assume GET and POST.
    """
    response = world.clients["superadmin"].options(url)
    if response.has_header("Allow"):
        return {method.strip().upper() for method in response["Allow"].split(",")}
    return {"GET", "POST"}


def domain_scoped(route: Route) -> bool:
    return any(KWARGS[name].domain_scoped for name in route.kwargs if name in KWARGS)


def expected_get(route: Route, persona: str, gets: bool) -> set[int]:
    if route.name in OVERRIDES and persona in OVERRIDES[route.name]:
        return OVERRIDES[route.name][persona]
    if not gets:
        # 405 when the method check comes first, else the login/role check answers.
        return {405, 302} if persona == "anonymous" else {405, 403}
    if route.name in PUBLIC:
        return {200, 302}
    if persona == "anonymous":
        return {302}
    if persona == "norole":
        return {403}
    if persona == "superadmin":
        return {200}
    if persona == "outsider" and domain_scoped(route):
        return {403, 404}
    return {200, 302, 403, 404}


def _get(client: Client, url: str, who: str) -> Any:
    try:
        return client.get(url)
    except Exception as error:  # the test client re-raises view errors: name the persona
        pytest.fail(f"GET {url} as {who} raised {error!r} (a 500 in production)")


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_get_as_anonymous_redirects_to_login(world, route):
    url = world.url(route)
    gets = "GET" in allowed_methods(world, url)
    response = _get(world.clients["anonymous"], url, "anonymous")

    assert response.status_code in expected_get(route, "anonymous", gets), url
    if response.status_code == 302 and route.name not in PUBLIC:
        assert response["Location"].startswith(f"{reverse('login')}?next="), url


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_get_as_each_persona(world, route):
    url = world.url(route)
    gets = "GET" in allowed_methods(world, url)
    failures = []
    for persona in PERSONAS:
        status = _get(world.clients[persona], url, persona).status_code
        expected = expected_get(route, persona, gets)
        if status not in expected:
            failures.append(f"{persona}: {status}, expected one of {sorted(expected)}")
    assert not failures, f"GET {url}\n" + "\n".join(failures)


@pytest.mark.parametrize("route", [r for r in ROUTES if r.kwargs], ids=str)
def test_outsider_sees_its_own_objects_as_the_insider_sees_theirs(world, route):
    """Scoping works both ways: the refusals above are about the domain, not about the page."""
    inside = _get(world.clients["domain_admin"], world.url(route, "inside"), "domain_admin")
    outside = _get(world.clients["outsider"], world.url(route, "outside"), "outsider")

    assert outside.status_code == inside.status_code


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_post_without_csrf_token_is_refused(world, route, superadmin):
    url = world.url(route)
    events = AuditEvent.objects.count()
    anonymous = Client(enforce_csrf_checks=True)
    signed_in = Client(enforce_csrf_checks=True)
    signed_in.force_login(superadmin)

    assert anonymous.post(url, {}).status_code == 403, url
    assert signed_in.post(url, {}).status_code == 403, url
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize("route", ROUTES, ids=str)
def test_post_needs_login_and_a_role(world, route):
    url = world.url(route)
    posts = "POST" in allowed_methods(world, url)
    events = AuditEvent.objects.count()
    anonymous = world.clients["anonymous"].post(url, {})
    norole = world.clients["norole"].post(url, {})

    if route.name in POST_OVERRIDES:
        assert (anonymous.status_code, norole.status_code) == POST_OVERRIDES[route.name]
    elif posts:
        assert anonymous.status_code == 302, url
        assert anonymous["Location"].startswith(f"{reverse('login')}?next="), url
        assert norole.status_code == 403, url
    else:
        assert anonymous.status_code in {405, 302}, url
        assert norole.status_code in {405, 403}, url
    assert AuditEvent.objects.count() == events


# url name -> (anonymous, norole) statuses of a POST with a valid CSRF token.
POST_OVERRIDES: dict[str, tuple[int, int]] = {
    "login": (200, 200),  # the form comes back with "enter a correct username and password"
    "logout": (302, 302),  # logging out is for everyone
    # the two-factor steps: the form comes back with "enter the code"
    "security:two_factor_verify": (302, 200),
    "security:two_factor_enrol": (302, 200),
}


def test_every_route_is_collected():
    """Guards the walker itself: includes are followed and the admin is left out."""
    names = {route.name for route in ROUTES}
    assert {"overview", "login", "audit:event_list", "accounts:mailbox_detail"} <= names
    assert not any(route.route.startswith("django-admin/") for route in ROUTES)
    mailbox = next(r for r in ROUTES if r.name == "accounts:mailbox_detail")
    assert mailbox.kwargs == ("mailbox_id",)
