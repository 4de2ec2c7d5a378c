"""Mailbox list page with 100,000 mailboxes in 200 domains on PostgreSQL.

Measures through Django's test client (full middleware, auth, template rendering): the first page,
a search, a domain filter and the last page; median/p95 time and queries per page, and that the
query count does not grow with the page size. Baseline, measured in the same run: the bare ORM
query for the first page's rows (what the page costs at the very least).
Target: p95 <= 60 ms per page with at most 10 queries.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._seed import drop_database, median, p95, seed_mailboxes, setup_django, timed

DB_NAME = "bench_accounts_list"
MAILBOXES = int(os.environ.get("BENCH_MAILBOXES", "100000"))
DOMAINS = 200
REPEAT = int(os.environ.get("BENCH_REPEAT", "40"))


def main() -> None:
    setup_django(DB_NAME)
    try:
        run()
    finally:
        drop_database(DB_NAME)


def run() -> None:
    from django.contrib.auth.models import Group, User
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from accounts.models import Domain, Mailbox
    from accounts.passwords import hash_password

    seed_mailboxes(
        domains=DOMAINS, mailboxes=MAILBOXES, password_hash=hash_password("bench-pass-1")
    )
    user = User.objects.create_user("bench-admin", password="bench-admin-pass")
    user.groups.add(Group.objects.get_or_create(name="mail_admin")[0])
    client = Client()
    client.force_login(user)
    # Past the two-factor step, as after a real login (mail administrators must use one).
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.create(user=user, name="bench", confirmed=True)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()

    domain = Domain.objects.order_by("name")[DOMAINS // 2]
    total = Mailbox.objects.count()
    per_page = 50
    last_page = (total + per_page - 1) // per_page
    pages = {
        "first page": "/accounts/mailboxes/",
        "search 'user0421'": "/accounts/mailboxes/?q=user0421",
        "domain filter": f"/accounts/mailboxes/?domain={domain.pk}",
        "last page": f"/accounts/mailboxes/?page={last_page}",
        "first page (htmx)": "/accounts/mailboxes/?q=",
    }

    def baseline() -> None:
        list(Mailbox.objects.select_related("domain").order_by("address")[:per_page])

    rows = []
    base = timed(baseline, repeat=REPEAT)
    rows.append(("baseline: bare ORM query", median(base), p95(base), 1))
    worst_p95 = 0.0
    max_queries = 0
    for label, url in pages.items():
        headers = {"HX-Request": "true"} if "htmx" in label else {}
        response = client.get(url, headers=headers)
        if response.status_code != 200:
            raise SystemExit(f"{label}: {url} answered {response.status_code}")
        with CaptureQueriesContext(connection) as ctx:
            client.get(url, headers=headers)
        queries = len(ctx.captured_queries)

        def fetch(url: str = url, headers: dict[str, str] = headers) -> None:
            client.get(url, headers=headers)

        samples = timed(fetch, repeat=REPEAT)
        rows.append((label, median(samples), p95(samples), queries))
        worst_p95 = max(worst_p95, p95(samples))
        max_queries = max(max_queries, queries)

    # The query count must not depend on the page size.
    counts = {}
    for size in (10, 50, 100):
        with CaptureQueriesContext(connection) as ctx:
            client.get(f"/accounts/mailboxes/?per_page={size}")
        counts[size] = len(ctx.captured_queries)

    base_median = rows[0][1]
    print(
        f"\nMailbox list, {total:,} mailboxes in {DOMAINS} domains, {REPEAT} runs each (PostgreSQL)\n"
    )
    print(f"{'page':<28}{'median ms':>11}{'p95 ms':>9}{'queries':>9}{'x baseline':>12}")
    for label, med, p, queries in rows:
        print(f"{label:<28}{med:>11.1f}{p:>9.1f}{queries:>9}{med / base_median:>12.1f}")
    print("\nqueries by page size: " + ", ".join(f"{k} rows → {v}" for k, v in counts.items()))
    print(
        f"target: p95 ≤ 60 ms, ≤ 10 queries; worst p95 {worst_p95:.1f} ms, max {max_queries} queries"
    )
    print(
        json.dumps(
            {
                "mailboxes": total,
                "p95_ms": round(worst_p95, 1),
                "max_queries": max_queries,
                "queries_constant_in_page_size": len(set(counts.values())) == 1,
            }
        )
    )


if __name__ == "__main__":
    main()
