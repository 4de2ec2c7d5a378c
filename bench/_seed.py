"""Shared set-up for the benchmarks: a throwaway PostgreSQL database, migrated, bulk-seeded with COPY.

Every benchmark runs against PostgreSQL (DATABASE_URL names the server; the benchmark creates and
drops its own database on it, so it never touches real data).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(db_name: str) -> None:
    """Point Django at a fresh database `db_name` on the DATABASE_URL server and migrate it."""
    import dj_database_url
    import psycopg

    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    params = dj_database_url.parse(url)
    if params["ENGINE"] != "django.db.backends.postgresql":
        raise SystemExit("Benchmarks run against PostgreSQL: set DATABASE_URL=postgres://…")
    admin = psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"] or "postgres",
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    admin.execute(f'CREATE DATABASE "{db_name}"')
    admin.close()
    base = url.rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = f"{base}/{db_name}"
    os.environ.setdefault("SECRET_KEY", "bench-only-secret-key")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mailadmin.settings")
    os.environ["ALLOWED_HOSTS"] = "testserver,127.0.0.1,localhost"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def drop_database(db_name: str) -> None:
    from django.db import connections

    connections.close_all()
    import dj_database_url
    import psycopg

    params = dj_database_url.parse(os.environ["DATABASE_URL"])
    admin = psycopg.connect(
        host=params["HOST"] or "127.0.0.1",
        port=params["PORT"] or 5432,
        user=params["USER"] or "postgres",
        dbname="postgres",
        autocommit=True,
    )
    admin.execute(f'DROP DATABASE IF EXISTS "{db_name}" WITH (FORCE)')
    admin.close()


def seed_mailboxes(
    *, domains: int, mailboxes: int, password_hash: str, usage: bool = True
) -> list[str]:
    """COPY `mailboxes` spread over `domains` (and quota usage rows); returns the domain names."""
    from django.db import connection

    names = [f"bench{d:04d}.test" for d in range(domains)]
    per_domain = mailboxes // domains
    with connection.cursor() as cursor:
        raw = cursor.cursor  # psycopg 3 cursor: COPY support
        with raw.copy(
            "COPY accounts_domain (name, is_active, default_quota_bytes, default_quota_messages,"
            " quota_bytes, max_mailboxes, created_at, updated_at) FROM STDIN"
        ) as copy:
            for name in names:
                copy.write_row((name, True, 1_000_000_000, 0, 0, 0, "now", "now"))
        cursor.execute("SELECT id, name FROM accounts_domain WHERE name LIKE 'bench%%'")
        ids = dict(cursor.fetchall())
        with raw.copy(
            "COPY accounts_mailbox (domain_id, local_part, address, display_name, password_hash,"
            " is_active, quota_bytes, quota_messages, created_at, updated_at) FROM STDIN"
        ) as copy:
            for domain_id, name in ids.items():
                for i in range(per_domain):
                    local = f"user{i:05d}"
                    copy.write_row(
                        (domain_id, local, f"{local}@{name}", f"User {i} of {name}",
                         password_hash, i % 50 != 0, 1_000_000_000, 0, "now", "now")
                    )  # fmt: skip
        if usage:
            with raw.copy("COPY quota_usage (username, bytes, messages) FROM STDIN") as copy:
                for name in names:
                    for i in range(0, per_domain, 3):
                        copy.write_row((f"user{i:05d}@{name}", (i * 7919) % 1_000_000_000, i))
        cursor.execute("ANALYZE")
    return names


def timed(fn: Callable[[], object], *, repeat: int, warmup: int = 3) -> list[float]:
    """Milliseconds per call over `repeat` calls after `warmup` untimed calls."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return samples


def median(samples: list[float]) -> float:
    return statistics.median(samples)


def p95(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    holder: list[float] = []
    start = time.perf_counter()
    yield holder
    holder.append(time.perf_counter() - start)
