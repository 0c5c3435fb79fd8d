"""Speed and memory of the client's hot paths, as ratios against a baseline in the same run.

Run with `make bench`. Nothing here asserts: it prints, so a slower machine gives the same
ratios. Targets (see the README): a week of open times costs the same with 20x the history
(the window is read through an index), and the pages stay within a small multiple of a bare
request.
"""

from __future__ import annotations

import secrets
import statistics
import tempfile
import time
import tracemalloc
from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa
from flask_migrate import upgrade

from intake import create_app
from intake.appointments.models import Appointment
from intake.clock import now_utc
from intake.demo import load_demo
from intake.extensions import db
from intake.intakes.services import submit
from intake.scheduling.services import open_times
from intake.therapists.models import Therapist

from . import served
from .scale import ANSWERS, BENCH_SECRET


def _bare_client():
    """Return a test client of a bare Flask app with one JSON route: the baseline request.

    (The app's own /healthz is no baseline: it reads the database and the mail queue.)
    """
    from flask import Flask

    bare = Flask("bare")
    bare.add_url_rule("/", "ok", lambda: {"status": "ok"})
    return bare.test_client()


def timed(fn, repeat: int) -> float:
    """Return the median seconds of `fn` over `repeat` runs (after one warm-up)."""
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def add_history(therapist: Therapist, intake_id: int, count: int, offset: int) -> None:
    """Add `count` past appointments (the practice's history) for one therapist."""
    start = now_utc() - timedelta(days=3650)
    rows = [dict(therapist_id=therapist.id, intake_id=intake_id, uid=f"h{offset + i}@bench",
                 starts_at=start + timedelta(hours=offset + i),
                 ends_at=start + timedelta(hours=offset + i, minutes=30), status="confirmed",
                 format="telehealth", client_timezone="UTC", sequence=0,
                 idempotency_key=f"bench-{offset + i}", link_version=0, decline_message="",
                 change_request="", created_at=start, updated_at=start)
            for i in range(count)]
    db.session.execute(sa.insert(Appointment), rows)
    db.session.commit()


def main() -> None:
    folder = Path(tempfile.mkdtemp(prefix="intake-bench-"))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{folder / 'bench.db'}",
                      "SECRET_KEY": BENCH_SECRET, "WTF_CSRF_ENABLED": False,
                      "RATELIMIT_ENABLED": False, "INTAKE_MIN_SECONDS": 0,
                      "BOOKINGS_PER_EMAIL_PER_DAY": 10**6})
    bare = _bare_client()
    with app.app_context():
        upgrade()
        load_demo(now_utc())
        intake = submit(ANSWERS, "no")
        maya = db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))
        client = app.test_client()
        with client.session_transaction() as session:
            session["intakes"] = [intake.reference]
        now = now_utc()
        week = (now, now + timedelta(days=7))

        base = timed(lambda: bare.get("/"), 300)
        add_history(maya, intake.id, 1_000, 0)
        small = timed(lambda: open_times(maya, *week, now), 100)
        add_history(maya, intake.id, 19_000, 1_000)
        large = timed(lambda: open_times(maya, *week, now), 100)
        times_page = timed(lambda: client.get(f"/intake/{intake.reference}/times/maya-chen"), 50)
        match_page = timed(lambda: client.get(f"/intake/{intake.reference}/match"), 30)

        def book_once():
            slot = open_times(maya, now, now + timedelta(days=28), now)[0]
            review = client.get(f"/intake/{intake.reference}/book/maya-chen",
                                query_string={"start": slot.starts_at.isoformat()})
            assert review.status_code == 200
            client.post(f"/intake/{intake.reference}/book/maya-chen",
                        data={"start": slot.starts_at.isoformat(),
                              "key": secrets.token_urlsafe(24), "tz": "UTC"})

        booking = timed(book_once, 20)

        tracemalloc.start()
        client.get(f"/intake/{intake.reference}/match")
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

    print(f"baseline: a bare Flask request         {base * 1e3:8.2f} ms  (1.0x)")
    print(f"open times, 1k past appointments      {small * 1e3:8.2f} ms  "
          f"({small / base:5.1f}x baseline)")
    print(f"open times, 20k past appointments     {large * 1e3:8.2f} ms  "
          f"({large / base:5.1f}x baseline; {large / small:4.2f}x the 1k run, target ≤ 1.5x)")
    print(f"times page (a week, full page)        {times_page * 1e3:8.2f} ms  "
          f"({times_page / base:5.1f}x baseline)")
    print(f"match page (ranking + next times)     {match_page * 1e3:8.2f} ms  "
          f"({match_page / base:5.1f}x baseline)")
    print(f"review + book (with outbox emails)    {booking * 1e3:8.2f} ms  "
          f"({booking / base:5.1f}x baseline)")
    print(f"match page peak memory                {peak / 1024:8.0f} KiB")


if __name__ == "__main__":
    main()
    served.main()
