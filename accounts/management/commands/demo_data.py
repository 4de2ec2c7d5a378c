"""An idempotent demo set: domains (one IDN), ~40 mailboxes with usage, aliases, one user per role.

Running it twice changes nothing. The admin login is `admin` with the password from
MAILADMIN_ADMIN_PASSWORD, or one generated once and kept in var/admin-password.txt.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import Alias, Domain, Mailbox, QuotaUsage
from accounts.rules import normalize_domain_name
from accounts.services import alias_create, domain_create, domain_set_administrators, mailbox_create
from audit.context import audit_context
from mailadmin.lib.auth import Role

GB = 1_000_000_000
MB = 1_000_000
DOMAINS = [
    # name, storage quota, default size, max mailboxes
    ("example.com", 60 * GB, 2 * GB, 100),
    ("example.org", 0, 1 * GB, 0),
    ("bücher.example", 10 * GB, 500 * MB, 20),
]
PEOPLE = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "zoe",
]  # fmt: skip
ROLE_USERS = [
    ("mia", Role.MAIL_ADMIN),
    ("dora", Role.DOMAIN_ADMIN),
    ("cora", Role.COMPLIANCE_OFFICER),
    ("audrey", Role.AUDITOR),
]
MAILBOX_PASSWORD = "demo-mailbox-passphrase"  # noqa: S105 - printed demo credentials


class Command(BaseCommand):
    help = "Create the demo data set (idempotent) and print the logins."

    def handle(self, *args: Any, **options: Any) -> None:
        with audit_context(source="command"), transaction.atomic():
            first_run = not User.objects.filter(username="admin").exists()
            admin, admin_password = self._admin()
            if first_run:
                self._demo_two_factor_optional(admin)
            users = {name: self._role_user(name, role) for name, role in ROLE_USERS}
            domains = [self._domain(admin, *spec) for spec in DOMAINS]
            if not domains[0].administrators.exists():
                domain_set_administrators(domain=domains[0], users=[users["dora"]], actor=admin)
            self._mailboxes(admin, domains)
            self._aliases(admin, domains)
        self.stdout.write(f"Admin login: admin / {admin_password}")
        for name, role in ROLE_USERS:
            self.stdout.write(f"{Role(role).label}: {name} / {name}-demo-password")
        self.stdout.write(f"Demo mailboxes use the password {MAILBOX_PASSWORD}")
        self.stdout.write(
            "Two-factor login is optional in this demo; Security → 'Who must use two-factor"
            " login' makes it mandatory per role (the default outside the demo)."
        )

    def _demo_two_factor_optional(self, admin: User) -> None:
        """A newcomer can log in with the printed password alone: on the demo's first run only
        (an operator's later choice is never undone), through the audited service."""
        from security.models import REQUIREMENT_FIELDS
        from security.services import security_policy_update

        security_policy_update(actor=admin, required=dict.fromkeys(REQUIREMENT_FIELDS, False))

    def _admin(self) -> tuple[User, str]:
        password = os.environ.get("MAILADMIN_ADMIN_PASSWORD") or self._stored_password()
        admin = User.objects.filter(username="admin").first()
        if admin is None:
            admin = User.objects.create_superuser("admin", "admin@localhost", password)
        elif os.environ.get("MAILADMIN_ADMIN_PASSWORD") and not admin.check_password(password):
            admin.set_password(password)
            admin.save(update_fields=["password"])
        return admin, password

    def _stored_password(self) -> str:
        path = Path(settings.VAR_DIR) / "admin-password.txt"
        if path.exists():
            return path.read_text().strip()
        path.parent.mkdir(parents=True, exist_ok=True)
        password = secrets.token_urlsafe(12)
        path.write_text(password + "\n")
        path.chmod(0o600)
        return password

    def _role_user(self, name: str, role: str) -> User:
        user = User.objects.filter(username=name).first()
        if user is None:
            user = User.objects.create_user(name, f"{name}@localhost", f"{name}-demo-password")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        return user

    def _domain(self, admin: User, name: str, quota: int, default: int, maximum: int) -> Domain:
        existing = Domain.objects.filter(name=normalize_domain_name(name)).first()
        if existing is not None:
            return existing
        return domain_create(
            name=name,
            actor=admin,
            quota_bytes=quota,
            default_quota_bytes=default,
            max_mailboxes=maximum,
        )

    def _mailboxes(self, admin: User, domains: list[Domain]) -> None:
        sizes = [500 * MB, 1 * GB, 2 * GB, 5 * GB]
        plan = [(domains[0], p, sizes[i % 4]) for i, p in enumerate(PEOPLE)]
        plan += [(domains[1], p, sizes[(i + 1) % 3]) for i, p in enumerate(PEOPLE[:12])]
        plan += [
            (domains[2], p, 500 * MB)
            for p in ("anna", "bernd", "clara", "dieter", "elke", "fritz", "greta", "hans")
        ]
        for index, (domain, local, size) in enumerate(plan):
            address = f"{local}@{domain.name}"
            if not Mailbox.objects.filter(address=address).exists():
                mailbox_create(
                    domain=domain,
                    local_part=local,
                    password=MAILBOX_PASSWORD,
                    display_name=local.title(),
                    quota_bytes=size,
                    actor=admin,
                )
            if index % 3 != 2:
                used = size * ((index * 37) % 100) // 100
                QuotaUsage.objects.get_or_create(
                    username=address, defaults={"bytes": used, "messages": used // 60_000}
                )

    def _aliases(self, admin: User, domains: list[Domain]) -> None:
        com, org, books = (d.name for d in domains)
        wanted = [
            (domains[0], "info", [f"alice@{com}", f"bob@{com}"]),
            (domains[0], "sales", [f"carol@{com}", "partner@outside.example"]),
            (domains[0], "postmaster", [f"alice@{com}"]),
            (domains[1], "hello", [f"info@{com}", f"dave@{org}"]),
            (domains[2], "kontakt", [f"anna@{books}", f"bernd@{books}"]),
        ]
        for domain, local, destinations in wanted:
            if not Alias.objects.filter(address=f"{local}@{domain.name}").exists():
                alias_create(
                    domain=domain, local_part=local, destinations=destinations, actor=admin
                )
