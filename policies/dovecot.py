"""Dovecot configuration generated from our database policy (the Dovecot contract, DESIGN.md).

Pure text generation (`render_files`) is separate from writing (`write_files`). Every value that
ends up in a config file is validated first: a bad value raises ValueError naming it, so a
broken config is never written.

The generated SQL reads the `dovecot_users` view (policies/migrations/0003_dovecot_users_view.py)
by '%n' and '%d'; the same text works on the pgsql and sqlite drivers. The passdb query always
returns the row and sets nologin + reason when a rule says no, so the client sees why.
"""

from __future__ import annotations

import grp
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from policies.models import TlsVersion

SQL_CONF = "dovecot-sql.conf.ext"
GLOBAL_ACL = "dovecot-global-acl"
DICT_QUOTA_CONF = "dovecot-dict-quota.conf.ext"
MAIN_CONF = "dovecot.conf"
QUOTA_WARNING_SCRIPT = "quota-warning.sh"
DRIVERS = ("pgsql", "sqlite")

# What the client sees after IMAP "NO [CONTACTADMIN]" / POP3 "-ERR [AUTH]" (and the log as reason=<…>).
REASON_SUSPENDED = "This account is suspended."
REASON_NOT_TLS = "Logins require TLS: use IMAPS/POP3S or STARTTLS first."
REASON_IMAP_OFF = "IMAP access is not enabled for this account."
REASON_POP3_OFF = "POP3 access is not enabled for this account."
REASON_SERVICE_OFF = "This service is not enabled for this account."

MAIL_LOG_EVENTS = (
    "delete undelete expunge copy save mailbox_create mailbox_delete mailbox_rename flag_change"
)
MAIL_LOG_FIELDS = "uid box msgid size vsize flags from subject"
LOGIN_LOG_FORMAT = (
    "user=<%u> method=%m rip=%r rport=%{rport} lip=%l lport=%{lport} mpid=%e %c %k "
    "session=<%{session}> listener=%{listener} reason=<%{passdb:reason}>"
)
QUOTA_WARNING_PERCENTS = (95, 80)  # highest first: Dovecot runs only the first that matches

# Legal hold (DESIGN.md): lazy_expunge copies every expunged message here first. Maildir++ with
# separator "/" cannot start a name with a dot. The owner has no rights on it (global ACL), so
# the user can neither list, open nor delete it, and its mail does not count against the quota.
PRESERVED_FOLDER = "EXPUNGED"
# Folders whose retention the dovecot_users view carries as columns; other named folders are
# read from the dovecot_retention view (listed in DovecotSettings.retention_folders).
VIEW_RETENTION_COLUMNS = {"Trash": "autoexpunge_trash", "Junk": "autoexpunge_junk"}
_FOLDER_NAME = re.compile(
    r"^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63}(/[A-Za-z0-9_-][A-Za-z0-9_.-]{0,63})*$"
)

_SAFE_TEXT = re.compile(r"^[^\x00-\x1f\"\\{}]*$")
_SAFE_NAME = re.compile(r"^[A-Za-z0-9._-]+$")


@dataclass(frozen=True)
class DovecotSettings:
    """Everything the generated configuration depends on (command options + OrgPolicy)."""

    output_dir: str
    db_connect: str
    driver: str = "pgsql"
    min_tls_version: str = TlsVersion.TLS1_2.value
    listen: str = "127.0.0.1"
    ports: dict[str, int] = field(
        default_factory=lambda: {"imaps": 993, "imap": 143, "pop3s": 995, "pop3": 110}
    )
    ssl_cert: str = "/etc/dovecot/private/dovecot.pem"
    ssl_key: str = "/etc/dovecot/private/dovecot.key"
    mail_location: str = "maildir:~/Maildir"
    mail_home: str = "/var/vmail/%d/%n"
    mail_uid: str = "vmail"
    mail_gid: str = "vmail"
    base_dir: str = "/run/dovecot"
    state_dir: str = "/var/lib/dovecot"
    log_path: str = "/var/log/dovecot.log"
    instance_name: str = "dovecot"
    # Named folders (besides Trash and Junk) with a retention rule: one userdb field each.
    retention_folders: tuple[str, ...] = ()


def validate(s: DovecotSettings) -> None:
    """Raise ValueError naming the first value that cannot go into a config file."""
    if s.min_tls_version not in TlsVersion.values:
        raise ValueError(
            f"min_tls_version {s.min_tls_version!r} is not one of {', '.join(TlsVersion.values)}"
        )
    if s.driver not in DRIVERS:
        raise ValueError(f"driver {s.driver!r} is not one of {', '.join(DRIVERS)}")
    for name in ("imaps", "imap", "pop3s", "pop3"):
        port = s.ports.get(name)
        if not isinstance(port, int) or not 1 <= port <= 65535:
            raise ValueError(f"{name} port {port!r} is not a port number (1-65535)")
    if len(set(s.ports.values())) != len(s.ports):
        raise ValueError(f"ports must differ: {s.ports}")
    for address in s.listen.replace(",", " ").split():
        if address not in ("*", "::"):
            try:
                ipaddress.ip_address(address)
            except ValueError:
                raise ValueError(f"listen {address!r} is not an IP address") from None
    for name in ("ssl_cert", "ssl_key", "base_dir", "state_dir", "log_path", "output_dir"):
        value = getattr(s, name)
        if not value.startswith("/") or not _SAFE_TEXT.match(value) or " " in value:
            raise ValueError(f"{name} {value!r} must be an absolute path without spaces or quotes")
    for name in ("mail_location", "mail_home", "db_connect"):
        value = getattr(s, name)
        if not value or not _SAFE_TEXT.match(value):
            raise ValueError(f"{name} {value!r} must be one line without quotes or braces")
    for folder in s.retention_folders:
        if not is_valid_folder_name(folder) or folder == PRESERVED_FOLDER:
            raise ValueError(f"retention folder {folder!r} is not a folder name we can configure")
    for name in ("mail_uid", "mail_gid", "instance_name"):
        value = getattr(s, name)
        if not _SAFE_NAME.match(value):
            raise ValueError(f"{name} {value!r} must be a plain name or number")


def is_valid_folder_name(name: str) -> bool:
    """Letters, digits, `_ - .`, `/` between levels; no leading dot (Maildir++), <= 100 chars."""
    return len(name) <= 100 and _FOLDER_NAME.match(name) is not None


def render_files(s: DovecotSettings) -> dict[str, str]:
    """File name -> content for every generated file (validated first)."""
    validate(s)
    return {
        MAIN_CONF: render_main_conf(s),
        SQL_CONF: render_sql_conf(s),
        DICT_QUOTA_CONF: render_dict_quota_conf(s),
        QUOTA_WARNING_SCRIPT: render_quota_warning_script(),
        GLOBAL_ACL: render_global_acl(),
    }


def write_files(output_dir: Path, files: dict[str, str], *, group: str = "dovecot") -> list[Path]:
    """Write the files, readable by root and `group` only (they may hold a database password).

    The dict service (quota_clone) runs as Dovecot's internal user, so its config must be
    readable by that user's group; the group is set only if it exists and we may set it.
    """
    output_dir.mkdir(parents=True, exist_ok=True)
    gid = _group_id(group)
    written = []
    for name, text in files.items():
        path = output_dir / name
        path.write_text(text, encoding="utf-8")
        path.chmod(_file_mode(name))
        if gid is not None and os.geteuid() == 0:
            os.chown(path, -1, gid)
        written.append(path)
    return written


def _file_mode(name: str) -> int:
    if name.endswith(".sh"):
        return 0o755
    # Mail processes (as the mail user) read the global ACL; it holds no secret.
    return 0o644 if name == GLOBAL_ACL else 0o640


def _group_id(name: str) -> int | None:
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return None


def _sql_literal(text: str) -> str:
    # Dovecot expands %-variables in queries: a literal % must be doubled too.
    return "'" + text.replace("'", "''").replace("%", "%%") + "'"


def password_query() -> str:
    """The passdb query: always the row; nologin + reason when a rule refuses."""
    refusals = [
        ("login_ok = 0", REASON_SUSPENDED),
        ("'%{secured}' <> 'TLS'", REASON_NOT_TLS),
        ("'%s' = 'imap' AND imap_ok = 0", REASON_IMAP_OFF),
        ("'%s' = 'pop3' AND pop3_ok = 0", REASON_POP3_OFF),
        ("'%s' NOT IN ('imap', 'pop3')", REASON_SERVICE_OFF),
    ]
    any_refusal = " OR ".join(f"({condition})" for condition, _ in refusals)
    reasons = " ".join(
        f"WHEN {condition} THEN {_sql_literal(reason)}" for condition, reason in refusals
    )
    return (
        "SELECT username AS user, password, "  # noqa: S608 - our constants, no user input
        f"CASE WHEN {any_refusal} THEN 'Y' END AS nologin, "
        f"CASE {reasons} END AS reason, "
        "allow_nets "
        "FROM dovecot_users WHERE local_part = '%n' AND domain = '%d'"
    )


def _autoexpunge_key(folder: str) -> str:
    return f'"namespace/inbox/mailbox/{folder}/autoexpunge"'


def user_query(retention_folders: tuple[str, ...] = ()) -> str:
    """The userdb query: quota rules (0 = no limit in Dovecot), retention per folder
    (autoexpunge in days, 0 = off; 0 while on hold) and, for a held mailbox, lazy_expunge
    (a NULL field is not returned, so other mailboxes get none)."""
    fields = [
        "username AS user",
        "'*:bytes=' || quota_bytes AS quota_rule",
        "'*:messages=' || quota_messages AS quota_rule2",
        f"CASE WHEN on_hold = 1 THEN '{PRESERVED_FOLDER}' END AS lazy_expunge",
    ]
    for folder, column in VIEW_RETENTION_COLUMNS.items():
        fields.append(f"{column} || 'd' AS {_autoexpunge_key(folder)}")
    for folder in retention_folders:
        if folder in VIEW_RETENTION_COLUMNS:
            continue
        fields.append(
            "(SELECT r.days FROM dovecot_retention r "  # noqa: S608 - validated folder names
            "WHERE r.mailbox_id = dovecot_users.mailbox_id "
            f"AND r.folder = {_sql_literal(folder)}) || 'd' AS {_autoexpunge_key(folder)}"
        )
    return (
        f"SELECT {', '.join(fields)} "  # noqa: S608 - our constants and validated folder names
        "FROM dovecot_users WHERE local_part = '%n' AND domain = '%d'"
    )


def iterate_query() -> str:
    return "SELECT username AS user FROM dovecot_users"


def render_sql_conf(s: DovecotSettings) -> str:
    return (
        "# Generated by `manage.py dovecot_config`: do not edit, regenerate.\n"
        f"driver = {s.driver}\n"
        f"connect = {s.db_connect}\n"
        "# The hash carries its scheme prefix ({ARGON2ID} or {BLF-CRYPT}).\n"
        "default_pass_scheme = ARGON2ID\n"
        f"password_query = {password_query()}\n"
        f"user_query = {user_query(s.retention_folders)}\n"
        f"iterate_query = {iterate_query()}\n"
    )


def render_dict_quota_conf(s: DovecotSettings) -> str:
    """quota_clone writes usage into accounts.QuotaUsage (INSERT … ON CONFLICT … DO UPDATE)."""
    maps = "".join(
        "map {\n"
        f"  pattern = priv/quota/{key}\n"
        "  table = quota_usage\n"
        "  username_field = username\n"
        f"  value_field = {column}\n"
        "  value_type = uint\n"
        "}\n"
        for key, column in (("storage", "bytes"), ("messages", "messages"))
    )
    return (
        "# Generated by `manage.py dovecot_config`: do not edit, regenerate.\n"
        f"connect = {s.db_connect}\n" + maps
    )


def render_global_acl() -> str:
    """The owner gets no rights at all on the preservation folder (an empty rights list)."""
    return f"{PRESERVED_FOLDER} owner \n"


def render_quota_warning_script() -> str:
    # Dovecot logs a script's stderr as Error; a line starting "\\001\\002PID " is logged as Info
    # (its internal log protocol, as lib/failures.c parses it).
    return (
        "#!/bin/sh\n"
        "# Called by Dovecot's quota_warning with: PERCENT USER. Only logs (stderr -> Dovecot log).\n"
        'printf "\\001\\002%s user=<%s> reached %s%% of the storage quota\\n" '
        '"$$" "$2" "$1" >&2\n'
        "exit 0\n"
    )


def render_main_conf(s: DovecotSettings) -> str:
    out = s.output_dir.rstrip("/")
    listeners = _listeners(s)
    warnings = "".join(
        f"  quota_warning{'' if i == 0 else i + 1} = storage={p}%% quota-warning {p} %u\n"
        for i, p in enumerate(QUOTA_WARNING_PERCENTS)
    )
    return f"""# Generated by `manage.py dovecot_config`: do not edit, regenerate.
# TLS is always required: there is no setting that turns it off (DESIGN.md, Policy model).
instance_name = {s.instance_name}
base_dir = {s.base_dir}
state_dir = {s.state_dir}
log_path = {s.log_path}
log_timestamp = "%Y-%m-%d %H:%M:%S "
protocols = imap pop3
listen = {s.listen}

ssl = required
ssl_cert = <{s.ssl_cert}
ssl_key = <{s.ssl_key}
ssl_min_protocol = {s.min_tls_version}
ssl_prefer_server_ciphers = yes
disable_plaintext_auth = yes

auth_mechanisms = plain login
auth_username_format = %Lu
auth_verbose = yes
# Policy changes apply at the next login: no auth cache.
auth_cache_size = 0
login_log_format_elements = {LOGIN_LOG_FORMAT}

passdb {{
  driver = sql
  args = {out}/{SQL_CONF}
}}
userdb {{
  driver = sql
  args = {out}/{SQL_CONF}
}}

mail_home = {s.mail_home}
mail_location = {s.mail_location}
mail_uid = {s.mail_uid}
mail_gid = {s.mail_gid}
mail_plugins = $mail_plugins quota quota_clone notify mail_log acl lazy_expunge

# Retention (autoexpunge) and legal hold (lazy_expunge) come per user from the userdb.
namespace inbox {{
  inbox = yes
  separator = /
  mailbox Trash {{
    special_use = \\Trash
  }}
  mailbox Junk {{
    special_use = \\Junk
  }}
}}

{listeners}
protocol imap {{
  mail_plugins = $mail_plugins imap_quota
}}

service dict {{
  unix_listener dict {{
    mode = 0660
    user = {s.mail_uid}
    group = {s.mail_gid}
  }}
}}
dict {{
  quotaclone = {s.driver}:{out}/{DICT_QUOTA_CONF}
}}
service quota-warning {{
  executable = script {out}/{QUOTA_WARNING_SCRIPT}
  user = {s.mail_uid}
  unix_listener quota-warning {{
    mode = 0660
    user = {s.mail_uid}
    group = {s.mail_gid}
  }}
}}
service stats {{
  unix_listener stats-writer {{
    mode = 0666
  }}
}}

plugin {{
  quota = count:User quota
  quota_vsizes = yes
{warnings}  quota_clone_dict = proxy::quotaclone
  mail_log_events = {MAIL_LOG_EVENTS}
  mail_log_fields = {MAIL_LOG_FIELDS}
  acl = vfile:{out}/{GLOBAL_ACL}
  quota_rule3 = {PRESERVED_FOLDER}:ignore
}}
"""


def _listeners(s: DovecotSettings) -> str:
    """Plaintext ports exist only for STARTTLS (ssl = required refuses a login before it)."""
    blocks = []
    for service, plain, tls in (("imap-login", "imap", "imaps"), ("pop3-login", "pop3", "pop3s")):
        blocks.append(
            f"service {service} {{\n"
            f"  inet_listener {plain} {{\n    port = {s.ports[plain]}\n  }}\n"
            f"  inet_listener {tls} {{\n    port = {s.ports[tls]}\n    ssl = yes\n  }}\n"
            "}\n"
        )
    return "\n".join(blocks)
