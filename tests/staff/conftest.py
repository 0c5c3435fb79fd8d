"""Staff fixtures: accounts of each role, and signing in through the real login form."""

from __future__ import annotations

import re

import pytest

from tests.conftest import PASSWORD  # noqa: F401  (re-exported for staff tests)


@pytest.fixture
def with_csrf(settings):
    settings["WTF_CSRF_ENABLED"] = True


def csrf_from(html: str) -> str:
    match = re.search(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"', html)
    return match.group(1) if match else ""


def sign_in(client, email: str, password: str = PASSWORD):
    """Sign in through the login form; return the response."""
    page = client.get("/staff/login")
    return client.post("/staff/login", data={"email": email, "password": password,
                                             "csrf_token": csrf_from(page.text)})


def token(client, path: str = "/staff/") -> str:
    """Return a CSRF token from a staff page, for the next post."""
    return csrf_from(client.get(path).text)
