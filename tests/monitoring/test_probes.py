"""Probes against tiny local servers on 127.0.0.1 (certificates generated in the test)."""

from __future__ import annotations

import base64
import ssl
import time
from typing import Any

import pytest

from monitoring import probes
from monitoring.probes import ProbeSpec, Status, hostname_matches, probe
from tests.monitoring.servers import Behaviour, LocalServer, make_ca, make_leaf, server_context

PASSWORD = "probe-secret-pw"


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    d = tmp_path_factory.mktemp("pki")
    ca = make_ca(d)
    return {
        "ca": ca,
        "good": make_leaf(ca, d, ["mail.lab.test"]),
        "expired": make_leaf(ca, d, ["mail.lab.test"], days_before=30, days_after=-2),
        "soon": make_leaf(ca, d, ["mail.lab.test"], days_after=5),
        "wrong": make_leaf(ca, d, ["other.example"]),
        "untrusted": make_leaf(make_ca(d, "Rogue CA"), d, ["mail.lab.test"], days_after=91),
    }


def spec(port, pki, **overrides):
    values = {
        "host": "127.0.0.1",
        "port": port,
        "protocol": "imap",
        "transport": "implicit_tls",
        "expected_name": "mail.lab.test",
        "timeout_seconds": 3.0,
        "ca_file": str(pki["ca"].path),
        "username": "probe@lab.test",
        "password": PASSWORD,
    }
    values.update(overrides)
    return ProbeSpec(**values)


def _never_sent_password(server):
    data = server.recorder.all_bytes
    plain_token = base64.b64encode(f"\0probe@lab.test\0{PASSWORD}".encode())
    return PASSWORD.encode() not in data and plain_token not in data


def test_imaps_login_select_ok_with_tls_details_and_phases(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["good"]))) as server:
        outcome = probe(spec(server.port, pki))
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.summary.startswith("IMAP TLS login in")
    assert {"dns", "connect", "tls", "greeting", "capability", "login", "select", "logout"} <= set(
        outcome.phases_ms
    )
    assert outcome.tls.version in {"TLSv1.2", "TLSv1.3"}
    assert outcome.tls.cipher
    assert outcome.tls.chain_ok is True
    assert outcome.tls.hostname_ok is True
    assert outcome.tls.sans == ["mail.lab.test"]
    assert outcome.tls.issuer == "CN=Probe Test CA"
    assert outcome.tls.days_left is not None
    assert 88 <= outcome.tls.days_left <= 90
    assert outcome.details["mailbox"] == "INBOX has 3 messages"
    assert outcome.details["downgrade"] == "refused TLS below TLSv1.2"


def test_pop3_starttls_checks_refusal_then_logs_in_over_tls_only(pki):
    behaviour = Behaviour(protocol="pop3", starttls=server_context(*pki["good"]))
    with LocalServer(behaviour) as server:
        outcome = probe(spec(server.port, pki, protocol="pop3", transport="starttls"))
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.details["plaintext_login"].startswith("USER refused: -ERR [AUTH]")
    assert outcome.details["mailbox"] == "maildrop has 2 messages"
    assert "starttls" in outcome.phases_ms
    # the bare USER before TLS carried a dummy name, never the probe account
    assert b"USER mailadmin-plaintext-check" in server.recorder.all_bytes
    assert b"probe@lab.test" not in server.recorder.all_bytes.split(b"STLS")[0]


def test_plaintext_imap_server_accepting_login_in_clear_is_critical_and_gets_no_password(pki):
    behaviour = Behaviour(starttls=server_context(*pki["good"]), auth_plain_before_tls="continue")
    with LocalServer(behaviour) as server:
        outcome = probe(spec(server.port, pki, transport="starttls"))
        assert _never_sent_password(server)
        assert b"AUTHENTICATE PLAIN" in server.recorder.all_bytes
    assert outcome.status == Status.CRITICAL
    assert "accepts a login before TLS" in outcome.summary
    assert "no password was sent" in outcome.summary


def test_plaintext_imap_with_logindisabled_passes_and_never_tries_to_authenticate(pki):
    behaviour = Behaviour(starttls=server_context(*pki["good"]), logindisabled=True)
    with LocalServer(behaviour) as server:
        outcome = probe(spec(server.port, pki, transport="plaintext_must_refuse"))
        before_tls = server.recorder.all_bytes.split(b"STARTTLS")[0]
    assert outcome.status == Status.OK, outcome.summary
    assert outcome.details["plaintext_login"] == "LOGINDISABLED advertised"
    assert b"AUTHENTICATE" not in before_tls
    assert "login" not in outcome.phases_ms  # plaintext_must_refuse never logs in


def test_privacyrequired_answer_counts_as_refusal(pki):
    behaviour = Behaviour(starttls=server_context(*pki["good"]), auth_plain_before_tls="privacy")
    with LocalServer(behaviour) as server:
        outcome = probe(spec(server.port, pki, transport="plaintext_must_refuse"))
    assert outcome.status == Status.OK
    assert outcome.details["plaintext_login"] == "AUTHENTICATE PLAIN refused with [PRIVACYREQUIRED]"


def test_plaintext_port_without_starttls_is_critical(pki):
    with LocalServer(Behaviour(starttls=None, logindisabled=True)) as server:
        outcome = probe(spec(server.port, pki, transport="starttls"))
        assert _never_sent_password(server)
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == "the plaintext port does not offer STARTTLS"


def test_pop3_accepting_user_in_clear_is_critical_without_pass(pki):
    behaviour = Behaviour(
        protocol="pop3", starttls=server_context(*pki["good"]), user_reply_before_tls="+OK"
    )
    with LocalServer(behaviour) as server:
        outcome = probe(spec(server.port, pki, protocol="pop3", transport="starttls"))
        assert b"PASS" not in server.recorder.all_bytes
    assert outcome.status == Status.CRITICAL
    assert "accepts USER before TLS" in outcome.summary


def test_server_that_accepts_and_never_answers_times_out_within_the_deadline(pki):
    with LocalServer(Behaviour(protocol="silent")) as server:
        start = time.monotonic()
        outcome = probe(spec(server.port, pki, timeout_seconds=1.0))
        elapsed = time.monotonic() - start
    assert elapsed < 1.5
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == "no answer within 1 s (during tls)"


def test_silent_plaintext_server_times_out_during_greeting(pki):
    with LocalServer(Behaviour(protocol="silent")) as server:
        outcome = probe(spec(server.port, pki, transport="starttls", timeout_seconds=0.5))
    assert outcome.status == Status.CRITICAL
    assert outcome.error == "no answer within 0.5 s (during greeting)"


def test_expired_certificate_is_critical_described_and_gets_no_password(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["expired"]))) as server:
        outcome = probe(spec(server.port, pki))
        assert _never_sent_password(server)
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == "certificate not trusted: certificate has expired; nothing was sent"
    assert outcome.tls.chain_ok is False
    assert outcome.tls.days_left is not None
    assert outcome.tls.days_left < 0
    assert outcome.tls.subject == "CN=mail.lab.test"


def test_wrong_name_certificate_is_critical_with_chain_ok_and_hostname_not(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["wrong"]))) as server:
        outcome = probe(spec(server.port, pki))
        assert _never_sent_password(server)
    assert outcome.status == Status.CRITICAL
    assert outcome.tls.chain_ok is True
    assert outcome.tls.hostname_ok is False
    assert (
        outcome.summary == "certificate is for other.example, not mail.lab.test; nothing was sent"
    )


def test_untrusted_issuer_is_critical(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["untrusted"]))) as server:
        outcome = probe(spec(server.port, pki))
    assert outcome.status == Status.CRITICAL
    assert outcome.tls.chain_ok is False
    assert "unable to get local issuer certificate" in outcome.summary
    assert outcome.tls.issuer == "CN=Rogue CA"


def test_certificate_expiring_within_crit_days_is_critical(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["soon"]))) as server:
        outcome = probe(spec(server.port, pki, cert_days_warn=21, cert_days_crit=7))
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == "certificate expires in 4 days"


def test_certificate_expiring_within_warn_days_is_warning(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["soon"]))) as server:
        outcome = probe(spec(server.port, pki, cert_days_warn=21, cert_days_crit=2))
    assert outcome.status == Status.WARNING


def test_server_accepting_tls_below_the_org_minimum_is_critical(pki):
    ctx = server_context(*pki["good"], min_version=ssl.TLSVersion.TLSv1)
    with LocalServer(Behaviour(implicit_tls=ctx)) as server:
        outcome = probe(spec(server.port, pki, min_tls_version="TLSv1.2"))
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == "the server accepts TLSv1.1, below the minimum TLSv1.2"


def test_org_minimum_tls13_refuses_a_tls12_only_server(pki):
    ctx = server_context(*pki["good"], max_version=ssl.TLSVersion.TLSv1_2)
    with LocalServer(Behaviour(implicit_tls=ctx)) as server:
        outcome = probe(spec(server.port, pki, min_tls_version="TLSv1.3"))
        assert _never_sent_password(server)
    assert outcome.status == Status.CRITICAL
    assert outcome.summary.startswith("TLS handshake failed")


def test_wrong_probe_password_is_critical(pki):
    with LocalServer(
        Behaviour(implicit_tls=server_context(*pki["good"]), password="other")
    ) as server:
        outcome = probe(spec(server.port, pki))
    assert outcome.status == Status.CRITICAL
    assert outcome.summary.startswith("login refused for probe@lab.test: NO [AUTHENTICATIONFAILED]")


def test_latency_over_warning_threshold_is_warning(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["good"]))) as server:
        outcome = probe(spec(server.port, pki, latency_warn_ms=0, latency_crit_ms=100000))
    assert outcome.status == Status.WARNING
    assert outcome.summary.startswith("slow: ")


def test_connection_refused_is_a_result(pki):
    with LocalServer(Behaviour()) as server:
        port = server.port
    outcome = probe(spec(port, pki))
    assert outcome.status == Status.CRITICAL
    assert outcome.summary == f"connection refused by 127.0.0.1:{port}"


def test_source_address_is_bound(pki):
    with LocalServer(Behaviour(implicit_tls=server_context(*pki["good"]))) as server:
        seen = []
        handler: Any = server.server.RequestHandlerClass
        original = handler.handle

        def handle(self):
            seen.append(self.client_address[0])
            original(self)

        handler.handle = handle
        outcome = probe(spec(server.port, pki, source_address="127.0.0.2", check_downgrade=False))
    assert outcome.status == Status.OK
    assert seen == ["127.0.0.2"]


def test_unresolvable_host_is_critical_not_an_exception(pki):
    outcome = probe(spec(1, pki, host="no-such-host.invalid"))
    assert outcome.status == Status.CRITICAL
    assert outcome.summary.startswith("DNS lookup of no-such-host.invalid failed")


def test_ssl_context_is_built_once_per_bundle_and_version(pki):
    a = probes.ssl_context(str(pki["ca"].path), "TLSv1.2")
    b = probes.ssl_context(str(pki["ca"].path), "TLSv1.2")
    c = probes.ssl_context(str(pki["ca"].path), "TLSv1.3")
    assert a is b
    assert a is not c


@pytest.mark.parametrize(
    ("expected", "sans", "ok"),
    [
        ("mail.lab.test", ["mail.lab.test"], True),
        ("MAIL.lab.test.", ["mail.lab.test"], True),
        ("mail.lab.test", ["*.lab.test"], True),
        ("a.mail.lab.test", ["*.lab.test"], False),
        ("lab.test", ["*.lab.test"], False),
        ("mail.lab.test", ["other.test"], False),
        ("127.0.0.1", ["127.0.0.1"], True),
        ("127.0.0.1", ["127.0.0.2"], False),
    ],
)
def test_hostname_matches(expected, sans, ok):
    assert hostname_matches(expected, sans) is ok


def test_common_name_is_used_only_without_sans():
    assert hostname_matches("mail.lab.test", [], ["mail.lab.test"])
    assert not hostname_matches("mail.lab.test", ["x.test"], ["mail.lab.test"])
