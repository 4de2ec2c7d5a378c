from __future__ import annotations

import csv
import io

import pytest
import time_machine
from django.urls import reverse

from audit.forms import EventFilterForm
from audit.models import Action, AuditEvent
from tests.conftest import login_client
from tests.factories import MailboxFactory

LIST = reverse("audit:event_list")
EXPORT = reverse("audit:event_export")


@pytest.fixture
def trail(record_event, mail_admin, compliance_officer, domain):
    """Five events over three days, by two actors, from the web and a command."""
    ann = MailboxFactory(domain=domain, local_part="ann")
    bob = MailboxFactory(domain=domain, local_part="bob")
    events = {}
    with time_machine.travel("2026-03-01 10:00:00Z", tick=False):
        events["ann_created"] = record_event(
            actor=mail_admin, action=Action.MAILBOX_CREATED, target=ann
        )
        events["bob_created"] = record_event(
            actor=mail_admin, action=Action.MAILBOX_CREATED, target=bob, source="command"
        )
    with time_machine.travel("2026-03-02 23:59:00Z", tick=False):
        events["ann_quota"] = record_event(
            actor=mail_admin,
            action=Action.MAILBOX_QUOTA_CHANGED,
            target=ann,
            details={"quota_bytes": {"old": 1_000, "new": 2_000}},
        )
    with time_machine.travel("2026-03-03 08:00:00Z", tick=False):
        events["ann_suspended"] = record_event(
            actor=compliance_officer,
            action=Action.MAILBOX_SUSPENDED,
            target=ann,
            details={"reason": "<script>alert(1)</script>"},
            client_ip="2001:db8::7",
        )
        events["import"] = record_event(
            actor=None, action=Action.MAILBOXES_IMPORTED, details={"count": 12}, source="command"
        )
    return events


def listed_ids(response):
    return [event.pk for event in response.context["page_obj"].object_list]


def test_list_shows_newest_first_with_every_column(trail, auditor):
    response = login_client(auditor).get(LIST)

    assert response.status_code == 200
    ids = listed_ids(response)
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == 5
    html = response.content.decode()
    assert "2026-03-03 08:00:00" in html
    assert "Mailbox suspended" in html
    assert "cora" in html
    assert "ann@example.test" in html
    assert "2001:db8::7" in html
    assert "<del>1000</del> → <ins>2000</ins>" in html
    assert "command" in html


def test_details_are_escaped(trail, auditor):
    html = login_client(auditor).get(LIST).content.decode()

    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"actor": "cora"}, ["ann_suspended"]),
        ({"actor": "system"}, ["import"]),
        ({"action": Action.MAILBOX_CREATED.value}, ["bob_created", "ann_created"]),
        ({"target": "BOB@"}, ["bob_created"]),
        ({"source": "command"}, ["import", "bob_created"]),
        ({"date_from": "2026-03-02", "date_to": "2026-03-02"}, ["ann_quota"]),
        ({"date_from": "2026-03-03"}, ["import", "ann_suspended"]),
        ({"date_to": "2026-03-01"}, ["bob_created", "ann_created"]),
        ({"actor": "mia", "target": "ann"}, ["ann_quota", "ann_created"]),
    ],
)
def test_filters(trail, auditor, query, expected):
    response = login_client(auditor).get(LIST, query)

    assert response.status_code == 200
    assert listed_ids(response) == [trail[name].pk for name in expected]


def test_target_history_lists_one_targets_events(trail, domain_admin):
    ann = trail["ann_created"]
    response = login_client(domain_admin).get(
        LIST, {"target_type": "accounts.mailbox", "target_id": ann.target_id}
    )

    assert listed_ids(response) == [
        trail["ann_suspended"].pk,
        trail["ann_quota"].pk,
        trail["ann_created"].pk,
    ]
    assert "History of ann@example.test" in response.content.decode()


def test_each_row_links_to_its_targets_history(trail, auditor):
    ann = trail["ann_created"]
    html = login_client(auditor).get(LIST).content.decode()

    assert f"?target_type=accounts.mailbox&amp;target_id={ann.target_id}" in html


def test_reversed_dates_are_refused_with_a_message(trail, auditor):
    count = AuditEvent.objects.count()
    response = login_client(auditor).get(LIST, {"date_from": "2026-03-03", "date_to": "2026-03-01"})

    assert response.status_code == 200
    message = EventFilterForm.error_messages["dates_reversed"] % {
        "date_from": "2026-03-03",
        "date_to": "2026-03-01",
    }
    assert response.context["form"].non_field_errors() == [message]
    assert message in response.content.decode()
    assert listed_ids(response) == []
    assert AuditEvent.objects.count() == count


@pytest.mark.parametrize(
    ("query", "field", "message"),
    [
        (
            {"date_from": "03/01/2026"},
            "date_from",
            "Write the date as YYYY-MM-DD, for example 2026-01-31.",
        ),
        (
            {"action": "accounts.nonsense"},
            "action",
            "“accounts.nonsense” is not an action the audit trail records. Pick one from the list.",
        ),
    ],
)
def test_bad_filter_values_are_refused_with_a_message(trail, auditor, query, field, message):
    response = login_client(auditor).get(LIST, query)

    assert response.context["form"].errors[field] == [message]
    assert listed_ids(response) == []
    assert AuditEvent.objects.count() == 5


def test_half_a_target_is_refused(trail, auditor):
    response = login_client(auditor).get(LIST, {"target_type": "accounts.mailbox"})

    assert response.context["form"].non_field_errors() == [
        EventFilterForm.error_messages["target_half"]
    ]


def test_htmx_request_renders_only_the_table(trail, auditor, htmx_headers):
    response = login_client(auditor).get(LIST, {"actor": "cora"}, headers=htmx_headers)

    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="event-table">')
    assert "<html" not in html
    assert "Mailbox suspended" in html
    assert "Mailbox created" not in html
    assert "HX-Request" in response["Vary"]


def test_history_restore_renders_the_full_page(trail, auditor):
    response = login_client(auditor).get(
        LIST, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    assert "<html" in response.content.decode()


def test_pagination_keeps_the_filters(record_event, auditor):
    for _ in range(55):
        record_event(action=Action.ALIAS_CREATED)
    record_event(action=Action.ALIAS_DELETED)

    client = login_client(auditor)
    first = client.get(LIST, {"action": Action.ALIAS_CREATED.value})
    second = client.get(LIST, {"action": Action.ALIAS_CREATED.value, "page": "2"})

    assert len(listed_ids(first)) == 50
    assert len(listed_ids(second)) == 5
    assert "?action=accounts.alias_created&amp;page=2" in first.content.decode()
    assert set(listed_ids(first)).isdisjoint(listed_ids(second))


def test_list_query_count_does_not_grow_with_rows(
    record_event, auditor, django_assert_max_num_queries
):
    for _ in range(30):
        record_event(details={"a": {"old": 1, "new": 2}})
    client = login_client(auditor)

    with django_assert_max_num_queries(6):
        assert client.get(LIST).status_code == 200


def test_list_needs_login(client, db):
    response = client.get(LIST)

    assert response.status_code == 302
    assert response["Location"] == f"/login/?next={LIST}"


def test_list_refuses_users_without_a_role(norole):
    assert login_client(norole).get(LIST).status_code == 403


def test_list_refuses_posts(auditor):
    assert login_client(auditor).post(LIST).status_code == 405


def test_there_is_no_edit_or_delete_path():
    from django.urls import get_resolver

    audit_patterns = get_resolver().namespace_dict["audit"][1].url_patterns
    assert sorted(str(getattr(p, "name", p)) for p in audit_patterns) == [
        "event_export",
        "event_list",
    ]


# --- export ---------------------------------------------------------------------------------


def export_rows(response):
    body = b"".join(response.streaming_content).decode()
    return list(csv.reader(io.StringIO(body)))


def test_export_streams_the_filtered_events_as_csv(trail, compliance_officer):
    response = login_client(compliance_officer).get(EXPORT, {"target": "ann"})

    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv"
    assert response["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = export_rows(response)
    assert rows[0][:5] == ["id", "created_at", "actor", "action", "action_label"]
    assert [row[0] for row in rows[1:]] == [
        str(trail[name].pk) for name in ("ann_suspended", "ann_quota", "ann_created")
    ]
    quota = rows[2]
    assert quota[1] == "2026-03-02T23:59:00+00:00"
    assert quota[2:5] == ["mia", "accounts.mailbox_quota_changed", "Mailbox quota changed"]
    assert quota[8] == '{"quota_bytes": {"new": 2000, "old": 1000}}'
    assert quota[-1] == trail["ann_quota"].hash


def test_export_neutralises_spreadsheet_formulas(record_event, auditor):
    record_event(target_repr='=HYPERLINK("http://evil")')

    rows = export_rows(login_client(auditor).get(EXPORT))

    assert rows[1][7] == '\'=HYPERLINK("http://evil")'


def test_export_with_bad_filters_goes_back_to_the_page(trail, auditor):
    response = login_client(auditor).get(EXPORT, {"date_from": "yesterday"})

    assert response.status_code == 302
    assert response["Location"] == f"{LIST}?date_from=yesterday"


def test_export_link_carries_the_filters(trail, auditor):
    html = login_client(auditor).get(LIST, {"actor": "mia"}).content.decode()

    assert f'href="{EXPORT}?actor=mia"' in html


def test_export_is_for_exporting_roles_only(trail, domain_admin, norole):
    assert login_client(domain_admin).get(EXPORT).status_code == 403
    assert login_client(norole).get(EXPORT).status_code == 403
    assert "Export CSV" not in login_client(domain_admin).get(LIST).content.decode()


def test_export_needs_login(client, db):
    response = client.get(EXPORT)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")
