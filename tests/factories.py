"""factory_boy factories for every model (the only place test data is built)."""

from __future__ import annotations

import factory
from django.contrib.auth.models import Group, User

from accounts.models import Alias, Domain, Mailbox
from accounts.passwords import hash_password

# Hashing with argon2 costs ~50 ms; factories reuse one hash unless a test sets a password.
DEFAULT_PASSWORD = "correct horse battery staple"
_DEFAULT_HASH: dict[str, str] = {}


def default_hash() -> str:
    if "h" not in _DEFAULT_HASH:
        _DEFAULT_HASH["h"] = hash_password(DEFAULT_PASSWORD)
    return _DEFAULT_HASH["h"]


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    email = factory.LazyAttribute(lambda u: f"{u.username}@staff.test")
    password = factory.django.Password("staff-password-1")

    @factory.post_generation
    def roles(obj: User, create, extracted, **kwargs):
        for code in extracted or ():
            # get_or_create: transactional tests flush the groups the migration made
            obj.groups.add(Group.objects.get_or_create(name=code)[0])


class DomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Domain
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"domain{n}.test")
    quota_bytes = 0
    default_quota_bytes = 1_000_000_000


class MailboxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Mailbox

    domain = factory.SubFactory(DomainFactory)
    local_part = factory.Sequence(lambda n: f"user{n}")
    address = factory.LazyAttribute(lambda m: f"{m.local_part}@{m.domain.name}")
    display_name = factory.LazyAttribute(lambda m: m.local_part.title())
    password_hash = factory.LazyFunction(default_hash)
    quota_bytes = 100_000_000
    quota_messages = 0


class AliasFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Alias

    domain = factory.SubFactory(DomainFactory)
    local_part = factory.Sequence(lambda n: f"alias{n}")
    address = factory.LazyAttribute(lambda a: f"{a.local_part}@{a.domain.name}")
    destinations = factory.LazyFunction(lambda: ["someone@example.org"])


# --- monitoring ---------------------------------------------------------------------------------


def _now():
    from django.utils import timezone

    return timezone.now()


class EndpointFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.Endpoint"

    name = factory.Sequence(lambda n: f"imaps-{n}")
    host = "127.0.0.1"
    port = 993
    protocol = "imap"
    transport = "implicit_tls"
    expected_cert_name = "mail.lab.test"
    next_run_at = factory.LazyFunction(_now)
    state_since = factory.LazyFunction(_now)


class ProbeResultFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.ProbeResult"

    endpoint = factory.SubFactory(EndpointFactory)
    started_at = factory.LazyFunction(_now)
    outcome = "ok"
    summary = "IMAP TLS login in 10 ms"
    total_ms = 10.0


class NotificationChannelFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.NotificationChannel"

    name = factory.Sequence(lambda n: f"channel-{n}")
    kind = "email"
    target = "ops@example.org"


# --- monitoring: log collection -------------------------------------------------------------------


class LogSourceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.LogSource"

    name = factory.Sequence(lambda n: f"dovecot-{n}")
    # One source per (host, path): a database constraint.
    path = factory.Sequence(lambda n: f"/var/log/dovecot-{n}.log")
    host_label = "mail1"


class ConnectionEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.ConnectionEvent"

    host = "mail1"
    occurred_at = factory.LazyFunction(_now)
    protocol = "imap"
    username = "ann@example.test"
    domain_name = factory.LazyAttribute(lambda e: e.username.rpartition("@")[2])
    outcome = "login"
    client_ip = "192.0.2.7"
    is_tls = True


class MailboxEventFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.MailboxEvent"

    host = "mail1"
    occurred_at = factory.LazyFunction(_now)
    service = "imap"
    username = "ann@example.test"
    domain_name = factory.LazyAttribute(lambda e: e.username.rpartition("@")[2])
    action = "expunge"
    folder = "INBOX"


class FindingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "monitoring.Finding"

    kind = "no_tls"
    subject = "ann@example.test"
    domain_name = factory.LazyAttribute(lambda f: f.subject.partition("@")[2])
    severity = "critical"
    summary = "IMAP login attempted without TLS"
    first_seen_at = factory.LazyFunction(_now)
    last_seen_at = factory.LazyAttribute(lambda f: f.first_seen_at)
