"""Staff fixtures: accounts of each role, and signing in through the real login form."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa

from intake.extensions import db
from intake.staff.accounts import create_user
from intake.therapists.models import Therapist

PASSWORD = "correct horse battery staple"


@pytest.fixture
def with_csrf(settings):
    settings["WTF_CSRF_ENABLED"] = True


@pytest.fixture
def make_user(app):
    """Return a function that creates an account: role, and a therapist slug for therapists."""
    counter = iter(range(1000))

    def make(role: str, slug: str | None = None, email: str | None = None):
        therapist_id = None
        if slug:
            therapist_id = db.session.scalar(sa.select(Therapist.id).where(Therapist.slug == slug))
        email = email or f"{role}{next(counter)}@harbor.example"
        return create_user(email, PASSWORD, role, name=role.title(), therapist_id=therapist_id)

    return make


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
