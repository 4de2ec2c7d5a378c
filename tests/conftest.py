"""Shared fixtures: personas (one per role), an htmx client helper, a real Celery worker.

Personas: superadmin, mail_admin, domain_admin (administers `domain`), compliance_officer,
auditor, outsider (a domain administrator of another domain), norole (logged in, no role).
"""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import DomainFactory, UserFactory

pytest_plugins = ["tests.dovecot_fixtures", "celery.contrib.pytest"]


@pytest.fixture
def domain(db):
    return DomainFactory(name="example.test", quota_bytes=10_000_000_000)


@pytest.fixture
def other_domain(db):
    return DomainFactory(name="elsewhere.test")


@pytest.fixture
def superadmin(db):
    return UserFactory(username="root", is_superuser=True, is_staff=True)


@pytest.fixture
def mail_admin(db):
    return UserFactory(username="mia", roles=["mail_admin"])


@pytest.fixture
def domain_admin(db, domain):
    user = UserFactory(username="dora", roles=["domain_admin"])
    domain.administrators.add(user)
    return user


@pytest.fixture
def compliance_officer(db):
    return UserFactory(username="cora", roles=["compliance_officer"])


@pytest.fixture
def auditor(db):
    return UserFactory(username="audrey", roles=["auditor"])


@pytest.fixture
def outsider(db, other_domain):
    user = UserFactory(username="otto", roles=["domain_admin"])
    other_domain.administrators.add(user)
    return user


@pytest.fixture
def norole(db):
    return UserFactory(username="nobody")


def login_client(user, *, verified: bool = True) -> Client:
    """A client signed in as `user`, past the two-factor step as after a real login: the user
    gets a confirmed authenticator and the session is marked verified with it, so every page
    is reached through security.middleware.TwoFactorMiddleware (verified=False: password only).
    """
    client = Client()
    client.force_login(user)
    if verified:
        from django_otp import DEVICE_ID_SESSION_KEY
        from django_otp.plugins.otp_totp.models import TOTPDevice

        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
        session = client.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()
    return client


@pytest.fixture
def admin_client_(superadmin):
    return login_client(superadmin)


@pytest.fixture
def htmx_headers():
    return {"HX-Request": "true"}


@pytest.fixture(scope="session")
def celery_worker_parameters():
    """No result backend in tests, so the worker's start-up ping (which awaits a result) is off;
    tests poll the database for the task's effect instead."""
    return {"perform_ping_check": False}


@pytest.fixture(scope="session")
def celery_config():
    """A real worker on the real Redis (tests/ never use eager mode)."""
    from django.conf import settings

    return {
        "broker_url": settings.CELERY_BROKER_URL,
        "result_backend": None,
        "task_acks_late": True,
    }
