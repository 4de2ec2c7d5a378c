"""Dovecot authentication against the dovecot_users view, with 100,000 mailboxes on PostgreSQL.

1. The passdb and userdb queries exactly as Dovecot sends them (the generated query text with
   %n/%d/%s/%{secured} expanded), timed over libpq with the least-privilege Dovecot role:
   median and p95, plus EXPLAIN showing the index scans.
2. Real IMAPS logins per second (connect, TLS, LOGIN, LOGOUT; client bound to 127.0.0.2 so the
   TLS rule applies as for a remote client) through a Dovecot using the SQL config, against a
   Dovecot with a passwd-file of the same users and the same password scheme, in the same run
   (alternating rounds, best round each).

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/dovecot_auth.py
Env: BENCH_MAILBOXES (100000), BENCH_LOOKUPS (2000), BENCH_LOGINS (150 per round),
BENCH_ROUNDS (3), BENCH_CLIENTS (4 concurrent), BENCH_SCHEME (BLF-CRYPT).
Targets: passdb/userdb p95 <= 2 ms, login_ratio (SQL / passwd-file) >= 0.9.
The last line is one JSON object.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import drop_database, median, p95, seed_mailboxes, setup_django

DB_NAME = "bench_dovecot"
MAILBOXES = int(os.environ.get("BENCH_MAILBOXES", "100000"))
DOMAINS = 200
LOOKUPS = int(os.environ.get("BENCH_LOOKUPS", "2000"))
LOGINS = int(os.environ.get("BENCH_LOGINS", "150"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "4"))
SCHEME = os.environ.get("BENCH_SCHEME", "BLF-CRYPT")
PASSWORD = "bench-password-1"


def main() -> None:
    setup_django(DB_NAME)
    try:
        run()
    finally:
        drop_database(DB_NAME)


def run() -> None:
    from accounts.passwords import hash_password

    password_hash = hash_password(PASSWORD, scheme=SCHEME)
    domains = seed_mailboxes(
        domains=DOMAINS, mailboxes=MAILBOXES, password_hash=password_hash, usage=True
    )
    seed_policies()
    users = active_users()
    print(f"{MAILBOXES} mailboxes in {len(domains)} domains; scheme {SCHEME}")

    passdb, userdb, plans = time_queries(users)
    print()
    print("query (as Dovecot sends it)       median ms   p95 ms")
    print(f"passdb password_query (IMAP+POP3) {median(passdb):9.3f} {p95(passdb):8.3f}")
    print(f"userdb user_query                {median(userdb):9.3f} {p95(userdb):8.3f}")
    for name, plan in plans.items():
        print(f"\nEXPLAIN {name}:\n{plan}")
        if "Index" not in plan:
            print(f"WARNING: {name} does not use an index")

    sql_rate, file_rate = compare_logins(users, password_hash)
    ratio = sql_rate / file_rate if file_rate else 0.0
    print()
    print("IMAPS logins/s (best of rounds)  SQL view   passwd-file   ratio")
    print(
        f"{CLIENTS} concurrent clients            {sql_rate:8.1f}   {file_rate:11.1f}   {ratio:5.2f}"
    )
    print(
        f"targets: lookups p95 <= 2 ms ({'ok' if max(p95(passdb), p95(userdb)) <= 2 else 'MISSED'}), "
        f"login_ratio >= 0.9 ({'ok' if ratio >= 0.9 else 'MISSED'})"
    )
    print(
        json.dumps(
            {
                "mailboxes": MAILBOXES,
                "passdb_p95_ms": round(p95(passdb), 3),
                "userdb_p95_ms": round(p95(userdb), 3),
                "login_ratio": round(ratio, 3),
            }
        )
    )


def seed_policies() -> None:
    """Realistic policy rows: some domain/mailbox overrides, networks and POP3 exceptions."""
    from django.contrib.auth.models import User
    from django.db import connection

    approver = User.objects.create(username="bench-approver", is_superuser=True)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO policies_domainpolicy (domain_id, imap_enabled, updated_at) "
            "SELECT id, (mod(id, 2) = 0), now() FROM accounts_domain WHERE mod(id, 10) = 0"
        )
        cursor.execute(
            "INSERT INTO policies_mailboxpolicy (mailbox_id, imap_enabled, allowed_networks,"
            " updated_at) SELECT id, NULL, '10.0.0.0/8', now() FROM accounts_mailbox"
            " WHERE mod(id, 97) = 0"
        )
        cursor.execute(
            "INSERT INTO policies_pop3exception (mailbox_id, reason, approver_id, granted_by_id,"
            " starts_at, expires_at, revoke_reason, created_at)"
            " SELECT id, 'bench', %s, %s, now() - interval '1 day', now() + interval '30 days',"
            " '', now() FROM accounts_mailbox WHERE mod(id, 20) = 0",
            [approver.pk, approver.pk],
        )
        cursor.execute("ANALYZE")


def active_users() -> list[str]:
    """Mailboxes that can log in over IMAP from 127.0.0.2 (so every bench login succeeds)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT username FROM dovecot_users WHERE login_ok = 1 AND imap_ok = 1"
            " AND allow_nets IS NULL ORDER BY username"
        )
        return [row[0] for row in cursor.fetchall()]


def expand(query: str, user: str, *, service: str = "imap") -> str:
    """The query text after Dovecot's variable expansion (values SQL-escaped like the driver)."""
    local, _, domain = user.partition("@")
    values = {"%n": local, "%d": domain, "%s": service, "%{secured}": "TLS"}
    for key, value in values.items():
        query = query.replace(key, value.replace("'", "''"))
    return query.replace("%%", "%")


def dovecot_connection():
    import psycopg
    from django.db import connection

    from tests.dovecot_fixtures import DOVECOT_DB_PASSWORD, DOVECOT_DB_ROLE, ensure_dovecot_role

    ensure_dovecot_role(connection)
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or "127.0.0.1",
        port=db["PORT"] or 5432,
        dbname=db["NAME"],
        user=DOVECOT_DB_ROLE,
        password=DOVECOT_DB_PASSWORD,
        autocommit=True,
    )


def time_queries(users: list[str]) -> tuple[list[float], list[float], dict[str, str]]:
    """passdb timings mix IMAP and POP3 logins (POP3 adds the active-exception subquery)."""
    from policies.dovecot import password_query, user_query

    rng = random.Random(42)
    sample = [(rng.choice(users), rng.choice(["imap", "pop3"])) for _ in range(LOOKUPS)]
    queries = ((password_query(), "passdb"), (user_query(), "userdb"))
    results: dict[str, list[float]] = {"passdb": [], "userdb": []}
    with dovecot_connection() as conn:
        for template, key in queries:
            for user, service in sample[:20]:  # warm-up
                conn.execute(expand(template, user, service=service)).fetchall()
            for user, service in sample:
                text = expand(template, user, service=service)
                start = time.perf_counter()
                rows = conn.execute(text).fetchall()
                results[key].append((time.perf_counter() - start) * 1000)
                if len(rows) != 1:
                    raise SystemExit(f"{key} returned {len(rows)} rows for: {text}")
        plans = {}
        for template, key in queries:
            for service in ("imap", "pop3") if key == "passdb" else ("imap",):
                text = expand(template, sample[0][0], service=service)
                explain = conn.execute("EXPLAIN " + text).fetchall()
                plans[f"{key} ({service})"] = "\n".join(row[0] for row in explain)
    return results["passdb"], results["userdb"], plans


def compare_logins(users: list[str], password_hash: str) -> tuple[float, float]:
    from tests.dovecot_fixtures import make_certificate

    root = Path(tempfile.mkdtemp(prefix="bench-dovecot-"))
    root.chmod(0o755)
    try:
        cert, key = make_certificate(root)
        sql = start_dovecot(root / "sql", cert, key, passwd_file=None)
        passwd = root / "users.passwd"
        passwd.write_text(
            "".join(
                f"{u}:{password_hash}::::::userdb_quota_rule=*:bytes=1000000000\n" for u in users
            )
        )
        passwd.chmod(0o644)
        file = start_dovecot(root / "file", cert, key, passwd_file=passwd)
        processes = [sql[0], file[0]]
        try:
            rng = random.Random(7)
            for _, port in (sql, file):  # warm-up: login processes, auth workers, DB connections
                login_rate(port, cert, [rng.choice(users) for _ in range(2 * CLIENTS)])
            best = {"sql": 0.0, "file": 0.0}
            for _ in range(ROUNDS):
                for name, (_, port) in (("sql", sql), ("file", file)):
                    sample = [rng.choice(users) for _ in range(LOGINS)]
                    best[name] = max(best[name], login_rate(port, cert, sample))
            return best["sql"], best["file"]
        finally:
            for process in processes:
                process.send_signal(signal.SIGTERM)
                process.wait(timeout=15)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def start_dovecot(home: Path, cert: Path, key: Path, *, passwd_file: Path | None):
    """Start a Dovecot from our generated config (passdb/userdb swapped for a passwd-file)."""
    from django.db import connection

    from policies.dovecot import DovecotSettings, render_files, write_files
    from tests.dovecot_fixtures import (
        DOVECOT_DB_PASSWORD,
        DOVECOT_DB_ROLE,
        _wait_for_ports,
        free_ports,
    )

    for name in ("conf", "run", "state", "mail"):
        (home / name).mkdir(parents=True)
    shutil.chown(home / "mail", "nobody", "nogroup")
    home.chmod(0o755)
    ports = dict(zip(("imaps", "imap", "pop3s", "pop3"), free_ports(4), strict=True))
    db = connection.settings_dict
    settings = DovecotSettings(
        output_dir=str(home / "conf"),
        db_connect=(
            f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} dbname={db['NAME']} "
            f"user={DOVECOT_DB_ROLE} password={DOVECOT_DB_PASSWORD}"
        ),
        ports=ports,
        ssl_cert=str(cert),
        ssl_key=str(key),
        mail_home=f"{home}/mail/%d/%n",
        mail_uid="nobody",
        mail_gid="nogroup",
        base_dir=str(home / "run"),
        state_dir=str(home / "state"),
        log_path=str(home / "dovecot.log"),
        instance_name=f"bench-{home.name}",
    )
    files = render_files(settings)
    if passwd_file is not None:
        sql_args = f"args = {home}/conf/dovecot-sql.conf.ext"
        files["dovecot.conf"] = files["dovecot.conf"].replace(
            "driver = sql\n  " + sql_args, f"driver = passwd-file\n  args = {passwd_file}"
        )
        if "driver = sql" in files["dovecot.conf"]:
            raise SystemExit("could not swap the SQL passdb/userdb for the passwd-file")
    write_files(home / "conf", files)
    process = subprocess.Popen(
        ["dovecot", "-F", "-c", str(home / "conf" / "dovecot.conf")],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _wait_for_ports(
        "127.0.0.1", list(ports.values()), time.monotonic() + 15, home / "dovecot.log", process
    )
    return process, ports["imaps"]


def login_rate(port: int, cert: Path, sample: list[str]) -> float:
    import ssl

    from tests.dovecot_fixtures import SourceIMAP4_SSL

    context = ssl.create_default_context(cafile=str(cert))

    def one(user: str) -> None:
        client = SourceIMAP4_SSL("127.0.0.1", port, ssl_context=context, source="127.0.0.2")
        try:
            client.login(user, PASSWORD)
        finally:
            client.logout()

    start = time.perf_counter()
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        list(pool.map(one, sample))
    return len(sample) / (time.perf_counter() - start)


if __name__ == "__main__":
    main()
