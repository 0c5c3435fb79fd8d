"""Every public query parameter, walked with hostile values from inside a finished intake and a
booking: never a server error, and a page in the product's own words."""

from __future__ import annotations

import re

import sqlalchemy as sa

from intake import links
from intake.appointments.models import Appointment
from intake.extensions import db
from tests.helpers import fill_intake, slot_links

HOSTILE = [
    "Bad/Zone", "😀" * 20, "../../../../etc/passwd", "\x00", "A" * 5000, "<script>x</script>",
    "9999-12-31", "0001-01-01", "2026-02-30", "-1", "1e309", "UTC\n", " ", "[]", "Etc/GMT+99",
    "posix/Europe/London", "localtime", "2026-W01", "2026-11-30T09:00:00", "%",
    "2038-01-19T03:14:08+00:00", "9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00",
    "2026-11-30T09:00:00+99:00", "nan", "{{7*7}}", "Europe/London%00",
]


def test_hostile_query_values_never_break_a_public_page(app, client, demo):
    reference = fill_intake(client)
    match = client.get(f"/intake/{reference}/match")
    review = slot_links(match.text)[0]
    slug = re.search(r"/book/([^?]+)\?", review).group(1)
    booked = client.post(review.split("?")[0], data=dict(
        re.findall(r'name="([^"]+)" type="hidden" value="([^"]*)"',
                   client.get(review).text)))
    assert booked.status_code == 303
    appointment = db.session.scalar(sa.select(Appointment))
    with app.test_request_context():
        manage = links.manage_url(appointment, external=False)
    # The pages that list times, for someone who has not booked yet (a booked intake sees its
    # booking there instead, walked too).
    browser = app.test_client()
    fresh = fill_intake(browser, email="fresh@client.example")
    choosing = {f"/intake/{fresh}/match": ["tz"],
                f"/intake/{fresh}/times/{slug}": ["tz", "week", "day"],
                f"/intake/{fresh}/book/{slug}": ["start", "tz"]}
    pages = {
        f"/intake/{reference}/match": ["tz"],
        f"/intake/{reference}/times/{slug}": ["tz", "week"],
        f"/intake/{reference}/book/{slug}": ["start", "tz"],
        manage: ["tz", "week"],
        f"{manage}/reschedule": ["week", "tz", "day"],
        f"/intake/{reference}/waitlist": ["with"],
        "/": ["tz"], "/intake": ["tz", "step"], "/help-now": ["tz"],
    }
    failures = []
    for path, names in [*pages.items(), *choosing.items()]:
        who = browser if path in choosing else client
        for name in names:
            for value in HOSTILE:
                for headers in ({}, {"HX-Request": "true"}):
                    answer = who.get(path, query_string={name: value}, headers=headers)
                    if answer.status_code >= 500 or "Traceback" in answer.text:
                        failures.append((path, name, value[:20], answer.status_code))
            # Bytes that are not UTF-8 at all.
            answer = who.get(f"{path}?{name}=%ED%A0%80%FF")
            if answer.status_code >= 500:
                failures.append((path, name, "not UTF-8", answer.status_code))
    # The waitlist's form, each field sent hostile in turn (the others good).
    good = {"who": "any", "days": "1", "parts": "morning", "until": "2026-12-30"}
    for name in good:
        for value in HOSTILE:
            answer = client.post(f"/intake/{reference}/waitlist", data={**good, name: value})
            if answer.status_code >= 500 or "Traceback" in answer.text:
                failures.append(("waitlist form", name, value[:20], answer.status_code))
    assert failures == []
