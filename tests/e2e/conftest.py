"""Browser harness: Debian's Chromium driven by pytest-playwright against `live_server`.

Browser tests never skip: without /usr/bin/chromium they error, so a broken machine shows up
as a failure. Screenshots go to $MAILADMIN_ARTIFACTS_DIR (default artifacts/), one stable file
name per page, so a run can be compared with the previous one.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.factories import UserFactory

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
STAFF_PASSWORD = "staff-password-1"  # what UserFactory gives every user


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    if not (CHROMIUM.is_file() and os.access(CHROMIUM, os.X_OK)):
        raise RuntimeError(
            f"{CHROMIUM} is missing or not executable. Install Debian's chromium package "
            "(make test does it as root); browser tests do not skip."
        )
    return {**browser_type_launch_args, "executable_path": str(CHROMIUM), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    path = Path(os.environ.get("MAILADMIN_ARTIFACTS_DIR", "artifacts"))
    path.mkdir(parents=True, exist_ok=True)
    return path


@pytest.fixture
def screenshot(artifacts_dir):
    """screenshot(page, "audit-list") writes artifacts/audit-list.png (overwriting the last run)."""

    def take(page: Page, name: str) -> Path:
        if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", name):
            raise ValueError(f"Screenshot names are kebab-case file names, not {name!r}.")
        path: Path = artifacts_dir / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def log_in(page: Page, base_url: str, username: str, password: str = STAFF_PASSWORD) -> None:
    """Sign in through the real login page and wait until the dashboard has loaded."""
    response = page.goto(f"{base_url}/login/")
    assert response is not None
    assert response.ok, f"The login page answered {response.status}: {page.content()[:2000]}"
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    if "/security/verify/" in page.url:  # the two-factor step (see browser_user)
        page.get_by_label("Verification code").fill(totp_code(username))
        page.get_by_role("button", name="Verify").click()
        expect(page).not_to_have_url(re.compile(r"/security/verify/"))
    expect(page.get_by_role("button", name="Log out", exact=True)).to_be_visible()


def totp_code(username: str) -> str:
    """The code the user's authenticator shows now, never one already used (no replay)."""
    from binascii import unhexlify

    from django_otp.oath import TOTP
    from django_otp.plugins.otp_totp.models import TOTPDevice

    device = TOTPDevice.objects.get(user__username=username, confirmed=True)
    totp = TOTP(unhexlify(device.key))
    totp.drift = max(0, device.last_t + 1 - totp.t())  # the next step is accepted too
    return f"{totp.token():06d}"


@pytest.fixture
def browser_user(transactional_db):
    """browser_user("mia", "mail_admin"): a staff user who can log in with STAFF_PASSWORD and
    has an authenticator (two_factor=False: none, so a role that needs one enrols first)."""

    def make(username: str, *roles: str, two_factor: bool = True, **fields):
        from django_otp.plugins.otp_totp.models import TOTPDevice

        user = UserFactory(username=username, roles=list(roles), **fields)
        if two_factor:  # enrolled already: log_in passes the code step with totp_code()
            TOTPDevice.objects.create(user=user, name="test device", confirmed=True)
        return user

    return make
