"""Probes against the real Dovecot (tests/dovecot_fixtures.py), from 127.0.0.2 unless a test
shows the same-address trap on purpose."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from accounts.passwords import hash_password
from monitoring import services
from monitoring.models import ProbeResult
from monitoring.probes import ProbeSpec, Status, probe
from policies.models import Pop3Exception
from tests.factories import DomainFactory, MailboxFactory, UserFactory
from tests.monitoring.helpers import make_endpoint

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.dovecot]

PASSWORD = "probe-Account-pw-7"
_numbers = itertools.count()


@pytest.fixture
def probe_mailbox():
    domain = DomainFactory(name=f"probe{next(_numbers)}-{int(time.time())}.test")
    return MailboxFactory(domain=domain, local_part="probe", password_hash=hash_password(PASSWORD))


def spec(dovecot, port_name, **overrides):
    values = {
        "host": dovecot.host,
        "port": dovecot.ports[port_name],
        "protocol": "pop3" if port_name.startswith("pop3") else "imap",
        "transport": "implicit_tls" if port_name.endswith("s") else "starttls",
        "expected_name": dovecot.cert_name,
        "timeout_seconds": 5.0,
        "ca_file": str(dovecot.ca_path),
        "source_address": "127.0.0.2",
    }
    values.update(overrides)
    return ProbeSpec(**values)


def test_imaps_probe_logs_in_and_selects_inbox(dovecot, probe_mailbox):
    outcome = probe(spec(dovecot, "imaps", username=probe_mailbox.address, password=PASSWORD))
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.details["mailbox"].startswith("INBOX has ")
    assert {"tls", "greeting", "capability", "login", "select", "logout"} <= set(outcome.phases_ms)
    assert outcome.tls.version in {"TLSv1.2", "TLSv1.3"}
    assert outcome.tls.chain_ok is True
    assert outcome.tls.hostname_ok is True
    assert "mail.lab.test" in outcome.tls.sans
    # Dovecot runs with ssl_min_protocol TLSv1.2: the capped handshake is refused
    assert outcome.details["downgrade"] == "refused TLS below TLSv1.2"
    log = dovecot.wait_for_log(f"user=<{probe_mailbox.address}>")
    assert f"Login: user=<{probe_mailbox.address}>" in log


def test_imap_starttls_probe_sees_logindisabled_then_logs_in(dovecot, probe_mailbox):
    outcome = probe(spec(dovecot, "imap", username=probe_mailbox.address, password=PASSWORD))
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.details["plaintext_login"] == "LOGINDISABLED advertised"
    assert "starttls" in outcome.phases_ms
    assert "login" in outcome.phases_ms


def test_same_address_trap_makes_dovecot_offer_plaintext_login(dovecot):
    # From 127.0.0.1 to 127.0.0.1 Dovecot treats the connection as secured and drops
    # LOGINDISABLED: the probe sees a port that would take a password in clear.
    outcome = probe(spec(dovecot, "imap", transport="plaintext_must_refuse", source_address=None))
    assert outcome.status == Status.CRITICAL
    assert "accepts a login before TLS" in outcome.summary


def test_pop3_plaintext_port_refuses_bare_user_with_auth_code(dovecot):
    outcome = probe(spec(dovecot, "pop3", transport="plaintext_must_refuse"))
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.details["plaintext_login"].startswith("USER refused: -ERR [AUTH]")


def test_pop3s_login_needs_an_exception(dovecot, probe_mailbox):
    refused = probe(
        spec(
            dovecot,
            "pop3s",
            username=probe_mailbox.address,
            password=PASSWORD,
            source_address="127.0.0.4",
        )
    )
    assert refused.status == Status.CRITICAL
    assert refused.summary == (
        f"login refused for {probe_mailbox.address}: "
        "-ERR [AUTH] POP3 access is not enabled for this account."
    )
    approver: Any = UserFactory(username="approver")
    Pop3Exception.objects.create(
        mailbox=probe_mailbox,
        reason="monitoring probe",
        approver=approver,
        granted_by=approver,
        starts_at=timezone.now() - timedelta(minutes=1),
        expires_at=timezone.now() + timedelta(days=1),
    )
    allowed = probe(spec(dovecot, "pop3s", username=probe_mailbox.address, password=PASSWORD))
    assert allowed.status == Status.OK, allowed.summary
    assert allowed.details["mailbox"].startswith("maildrop has ")


def test_wrong_password_is_critical(dovecot, probe_mailbox):
    # Its own source address: Dovecot delays further logins from an address that failed.
    outcome = probe(
        spec(
            dovecot,
            "imaps",
            username=probe_mailbox.address,
            password="wrong-pw",
            source_address="127.0.0.3",
        )
    )
    assert outcome.status == Status.CRITICAL
    assert outcome.summary.startswith(f"login refused for {probe_mailbox.address}: NO")


def test_wrong_expected_name_is_critical_and_sends_nothing(dovecot, probe_mailbox):
    outcome = probe(
        spec(
            dovecot,
            "imaps",
            expected_name="imap.other.test",
            username=probe_mailbox.address,
            password=PASSWORD,
        )
    )
    assert outcome.status == Status.CRITICAL
    assert outcome.tls.hostname_ok is False
    assert "login" not in outcome.phases_ms


def test_run_probe_and_command_record_results(dovecot, probe_mailbox, superadmin, capsys):
    with override_settings(MAILADMIN_PROBE_CA_FILE=str(dovecot.ca_path)):
        endpoint = services.endpoint_create(
            values={
                "name": "lab imaps",
                "host": dovecot.host,
                "port": dovecot.ports["imaps"],
                "protocol": "imap",
                "transport": "implicit_tls",
                "expected_cert_name": dovecot.cert_name,
                "probe_username": probe_mailbox.address,
                "source_address": "127.0.0.2",
                "latency_warn_ms": 5000,
                "latency_crit_ms": 10000,
            },
            password=PASSWORD,
            actor=superadmin,
        )
        result = services.run_probe(endpoint_id=endpoint.pk)
        assert result is not None
        assert result.outcome == "ok", result.summary
        assert result.login_ms is not None
        assert result.chain_ok is True
        endpoint.refresh_from_db()
        assert endpoint.state == "ok"
        assert endpoint.last_result_id == result.pk
        call_command("probe", endpoint=endpoint.pk)
    out = capsys.readouterr().out
    assert out.startswith("lab imaps: OK - IMAP TLS login in ")
    assert "phases (ms): dns " in out
    assert ProbeResult.objects.filter(endpoint=endpoint).count() == 2


def test_probe_command_refuses_unknown_endpoint(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="There is no endpoint 987654"):
        call_command("probe", endpoint=987654)


def test_probe_command_exits_non_zero_on_failure(dovecot):
    endpoint = make_endpoint(
        host=dovecot.host,
        port=dovecot.ports["imap"],
        transport="plaintext_must_refuse",
        protocol="imap",
        expected_cert_name=dovecot.cert_name,
    )
    with (
        override_settings(MAILADMIN_PROBE_CA_FILE=str(dovecot.ca_path)),
        pytest.raises(SystemExit) as exc,
    ):
        call_command("probe", endpoint=endpoint.pk)
    assert exc.value.code == 2  # no source address: the same-address trap makes it CRITICAL
