"""policies.dovecot: generated text, validation of every value, the dovecot_config command."""

from __future__ import annotations

import io
import subprocess
from dataclasses import replace

import pytest
from django.core.management import CommandError, call_command

from policies.dovecot import (
    DICT_QUOTA_CONF,
    GLOBAL_ACL,
    MAIN_CONF,
    QUOTA_WARNING_SCRIPT,
    REASON_POP3_OFF,
    SQL_CONF,
    DovecotSettings,
    password_query,
    render_files,
)
from policies.models import OrgPolicy

SETTINGS = DovecotSettings(
    output_dir="/etc/dovecot/mailadmin",
    db_connect="host=db.internal dbname=mail user=dovecot password=s3cret",
)


def test_main_conf_enforces_tls_and_logs_the_refusal_reason():
    conf = render_files(SETTINGS)[MAIN_CONF]
    for line in (
        "ssl = required",
        "ssl_min_protocol = TLSv1.2",
        "disable_plaintext_auth = yes",
        "auth_cache_size = 0",
        'log_timestamp = "%Y-%m-%d %H:%M:%S "',
        "mail_plugins = $mail_plugins quota quota_clone notify mail_log acl lazy_expunge",
        "  quota_clone_dict = proxy::quotaclone",
        "  quota_warning = storage=95%% quota-warning 95 %u",
        "  quota_warning2 = storage=80%% quota-warning 80 %u",
        "  args = /etc/dovecot/mailadmin/dovecot-sql.conf.ext",
        "  quotaclone = pgsql:/etc/dovecot/mailadmin/dovecot-dict-quota.conf.ext",
    ):
        assert line in conf.splitlines()
    assert "rport=%{rport}" in conf
    assert "%k session=<%{session}> listener=%{listener} reason=<%{passdb:reason}>" in conf


def test_plaintext_ports_are_listeners_without_ssl_and_tls_ports_with_it():
    conf = render_files(
        replace(SETTINGS, ports={"imaps": 1993, "imap": 1143, "pop3s": 1995, "pop3": 1110})
    )[MAIN_CONF]
    assert "inet_listener imap {\n    port = 1143\n  }" in conf
    assert "inet_listener imaps {\n    port = 1993\n    ssl = yes\n  }" in conf
    assert "inet_listener pop3 {\n    port = 1110\n  }" in conf
    assert "inet_listener pop3s {\n    port = 1995\n    ssl = yes\n  }" in conf


def test_min_tls_version_comes_from_the_org_choices():
    conf = render_files(replace(SETTINGS, min_tls_version="TLSv1.3"))[MAIN_CONF]
    assert "ssl_min_protocol = TLSv1.3" in conf.splitlines()


def test_password_query_refuses_with_nologin_and_reason():
    query = password_query()
    assert "FROM dovecot_users WHERE local_part = '%n' AND domain = '%d'" in query
    assert "'%{secured}' <> 'TLS'" in query
    assert f"WHEN '%s' = 'pop3' AND pop3_ok = 0 THEN '{REASON_POP3_OFF}'" in query
    assert "THEN 'Y' END AS nologin" in query
    assert "allow_nets" in query


def test_sql_and_dict_conf_use_the_driver_and_connect_string():
    files = render_files(replace(SETTINGS, driver="sqlite", db_connect="/srv/mailadmin/db.sqlite3"))
    assert "driver = sqlite\nconnect = /srv/mailadmin/db.sqlite3\n" in files[SQL_CONF]
    assert "quota_rule" in files[SQL_CONF]
    assert "connect = /srv/mailadmin/db.sqlite3\n" in files[DICT_QUOTA_CONF]
    assert "pattern = priv/quota/storage\n  table = quota_usage" in files[DICT_QUOTA_CONF]
    assert "value_field = messages" in files[DICT_QUOTA_CONF]
    assert "sqlite:/etc/dovecot/mailadmin/dovecot-dict-quota.conf.ext" in files[MAIN_CONF]
    assert files[QUOTA_WARNING_SCRIPT].startswith("#!/bin/sh\n")


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"min_tls_version": "TLSv1.0"},
            "min_tls_version 'TLSv1.0' is not one of TLSv1.2, TLSv1.3",
        ),
        ({"driver": "mysql"}, "driver 'mysql' is not one of pgsql, sqlite"),
        (
            {"ports": {"imaps": 0, "imap": 143, "pop3s": 995, "pop3": 110}},
            "imaps port 0 is not a port number (1-65535)",
        ),
        (
            {"ports": {"imaps": 993, "imap": 993, "pop3s": 995, "pop3": 110}},
            "ports must differ",
        ),
        ({"listen": "mail.example.org"}, "listen 'mail.example.org' is not an IP address"),
        (
            {"ssl_cert": "cert.pem"},
            "ssl_cert 'cert.pem' must be an absolute path without spaces or quotes",
        ),
        (
            {"db_connect": "host=x\npassword_query = SELECT 1"},
            "must be one line without quotes or braces",
        ),
        ({"mail_uid": "vmail; rm"}, "mail_uid 'vmail; rm' must be a plain name or number"),
    ],
)
def test_every_value_is_validated_before_rendering(change, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        render_files(replace(SETTINGS, **change))


def test_generated_config_is_accepted_by_doveconf(tmp_path):
    settings = replace(
        SETTINGS,
        output_dir=str(tmp_path),
        ssl_cert=str(tmp_path / "cert.pem"),
        ssl_key=str(tmp_path / "key.pem"),
        base_dir=str(tmp_path / "run"),
        state_dir=str(tmp_path / "state"),
        log_path=str(tmp_path / "dovecot.log"),
        mail_uid="nobody",
        mail_gid="nogroup",
    )
    for name, text in render_files(settings).items():
        (tmp_path / name).write_text(text)
    for name in ("cert.pem", "key.pem"):
        (tmp_path / name).write_text("")
    done = subprocess.run(
        ["doveconf", "-c", str(tmp_path / MAIN_CONF), "-h", "ssl"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.stderr == ""
    assert done.stdout.strip() == "required"


@pytest.mark.django_db
def test_command_writes_files_with_the_org_tls_minimum(tmp_path):
    OrgPolicy.objects.update_or_create(pk=1, defaults={"min_tls_version": "TLSv1.3"})
    out = io.StringIO()
    call_command("dovecot_config", output=str(tmp_path), imaps_port=10993, stdout=out)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [MAIN_CONF, SQL_CONF, DICT_QUOTA_CONF, QUOTA_WARNING_SCRIPT, GLOBAL_ACL]
    )
    conf = (tmp_path / MAIN_CONF).read_text()
    assert "ssl_min_protocol = TLSv1.3" in conf
    assert "port = 10993" in conf
    assert f"wrote {tmp_path / SQL_CONF}" in out.getvalue()
    assert (tmp_path / SQL_CONF).stat().st_mode & 0o777 == 0o640
    assert "driver = pgsql\nconnect = host=" in (tmp_path / SQL_CONF).read_text()


@pytest.mark.django_db
def test_command_refuses_a_bad_value_and_writes_nothing(tmp_path):
    target = tmp_path / "conf"
    with pytest.raises(CommandError) as refused:
        call_command("dovecot_config", output=str(target), listen="not-an-ip")
    assert str(refused.value) == (
        "Dovecot configuration not written: listen 'not-an-ip' is not an IP address"
    )
    assert not target.exists()


@pytest.mark.django_db
def test_command_refuses_a_tls_version_outside_the_choices(tmp_path):
    # A row edited behind the dashboard's back must not produce a config.
    OrgPolicy.objects.update_or_create(pk=1, defaults={"min_tls_version": "TLSv1"})
    with pytest.raises(CommandError, match="min_tls_version 'TLSv1' is not one of"):
        call_command("dovecot_config", output=str(tmp_path / "conf"))
    assert not (tmp_path / "conf").exists()
