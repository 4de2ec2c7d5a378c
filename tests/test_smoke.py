from __future__ import annotations

import pytest

from tests.conftest import login_client


@pytest.mark.django_db
def test_overview_needs_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_overview_shows_counts(mail_admin, domain):
    response = login_client(mail_admin).get("/")
    assert response.status_code == 200
    assert b"domains" in response.content


def test_overview_refuses_user_without_role(norole):
    assert login_client(norole).get("/").status_code == 403
