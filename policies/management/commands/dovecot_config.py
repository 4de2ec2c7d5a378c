"""Write the Dovecot configuration for the current database: `manage.py dovecot_config --output DIR`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection

from policies.dovecot import DovecotSettings, render_files, write_files
from policies.retention import named_retention_folders
from policies.selectors import org_policy


def default_db_connect() -> str:
    """Dovecot's `connect` string for Django's default database (prefer a least-privilege role)."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return str(db["NAME"])
    parts = {
        "host": db.get("HOST") or "localhost",
        "port": db.get("PORT") or "",
        "dbname": db["NAME"],
        "user": db.get("USER") or "",
        "password": db.get("PASSWORD") or "",
    }
    return " ".join(f"{key}={value}" for key, value in parts.items() if value)


class Command(BaseCommand):
    help = "Write dovecot.conf, dovecot-sql.conf.ext and the quota dict config for this database."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--output", required=True, help="directory to write the files into")
        parser.add_argument("--listen", default="127.0.0.1")
        parser.add_argument("--imaps-port", type=int, default=993)
        parser.add_argument("--imap-port", type=int, default=143, help="STARTTLS only")
        parser.add_argument("--pop3s-port", type=int, default=995)
        parser.add_argument("--pop3-port", type=int, default=110, help="STARTTLS only")
        parser.add_argument("--ssl-cert", default="/etc/dovecot/private/dovecot.pem")
        parser.add_argument("--ssl-key", default="/etc/dovecot/private/dovecot.key")
        parser.add_argument("--mail-location", default="maildir:~/Maildir")
        parser.add_argument("--mail-home", default="/var/vmail/%d/%n")
        parser.add_argument("--mail-uid", default="vmail")
        parser.add_argument("--mail-gid", default="vmail")
        parser.add_argument("--base-dir", default="/run/dovecot")
        parser.add_argument("--state-dir", default="/var/lib/dovecot")
        parser.add_argument("--log-path", default="/var/log/dovecot.log")
        parser.add_argument("--instance-name", default="dovecot")
        parser.add_argument(
            "--db-connect", help="Dovecot connect string; default: this Django database"
        )
        parser.add_argument("--driver", choices=["pgsql", "sqlite"])

    def handle(self, *args: Any, **options: Any) -> None:
        output = Path(options["output"]).resolve()
        driver = options["driver"] or ("sqlite" if connection.vendor == "sqlite" else "pgsql")
        settings = DovecotSettings(
            output_dir=str(output),
            db_connect=options["db_connect"] or default_db_connect(),
            driver=driver,
            min_tls_version=org_policy().min_tls_version,
            listen=options["listen"],
            ports={
                "imaps": options["imaps_port"],
                "imap": options["imap_port"],
                "pop3s": options["pop3s_port"],
                "pop3": options["pop3_port"],
            },
            ssl_cert=options["ssl_cert"],
            ssl_key=options["ssl_key"],
            mail_location=options["mail_location"],
            mail_home=options["mail_home"],
            mail_uid=options["mail_uid"],
            mail_gid=options["mail_gid"],
            base_dir=options["base_dir"],
            state_dir=options["state_dir"],
            log_path=options["log_path"],
            instance_name=options["instance_name"],
            retention_folders=named_retention_folders(),
        )
        try:
            files = render_files(settings)
        except ValueError as error:
            raise CommandError(f"Dovecot configuration not written: {error}") from error
        for path in write_files(output, files):
            self.stdout.write(f"wrote {path}")
