"""After signing in or acting on a request, staff are only ever sent to a page of this site."""

from __future__ import annotations

import pytest

from intake.staff.models import ADMIN, FRONT_DESK
from tests.helpers import PASSWORD, book_directly, csrf_from, sign_in, token

# Each of these leaves the site in some browser, or is not a path at all.
TRICKS = [
    "//evil.example",
    "///evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "/ /evil.example",
    "/\u3000/evil.example",
    "/\x00/evil.example",
    "https://evil.example/phish",
    "http:/evil.example",
    "javascript:alert(1)",
    "evil.example/phish",
    " /staff/",
]


@pytest.mark.parametrize("target", ["/staff/week", "/staff/search?q=a&b=c"])
def test_signing_in_goes_on_to_the_page_asked_for(app, demo, make_user, target):
    user = make_user(FRONT_DESK)
    client = app.test_client()
    page = client.get("/staff/login")
    answer = client.post("/staff/login", query_string={"next": target},
                         data={"email": user.email, "password": PASSWORD,
                               "csrf_token": csrf_from(page.text)})
    assert answer.status_code == 303 and answer.headers["Location"] == target


def test_signing_in_never_sends_anyone_off_the_site(app, demo, make_user):
    user = make_user(ADMIN)
    for target in TRICKS:
        client = app.test_client()
        page = client.get("/staff/login")
        answer = client.post("/staff/login", query_string={"next": target},
                             data={"email": user.email, "password": PASSWORD,
                                   "csrf_token": csrf_from(page.text)})
        assert answer.status_code == 303, target
        assert answer.headers["Location"] == "/staff/", repr(target)
    # The trick from the report, exactly as sent: a tab encoded in the query string.
    client = app.test_client()
    page = client.get("/staff/login")
    answer = client.post("/staff/login?next=/%09/evil.example",
                         data={"email": user.email, "password": PASSWORD,
                               "csrf_token": csrf_from(page.text)})
    assert answer.headers["Location"] == "/staff/"


def test_a_front_desk_decision_goes_back_only_to_a_page_of_this_site(client, demo, make_user):
    sign_in(client, make_user(FRONT_DESK).email)
    appointment = book_directly("sam-whitaker")
    decline = f"/staff/appointments/{appointment.id}/decline"
    page = f"/staff/appointments/{appointment.id}"
    too_long = "x" * 1001  # fails validation: the answer goes "back"
    for target in TRICKS:
        answer = client.post(decline, data={"csrf_token": token(client, page),
                                            "message": too_long, "back": target})
        assert answer.status_code == 303 and answer.headers["Location"] == "/staff/", target
    answer = client.post(decline, data={"csrf_token": token(client, page), "message": too_long,
                                        "back": page})
    assert answer.headers["Location"] == page
