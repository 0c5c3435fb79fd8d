"""Open times for stored therapists: time off counts, and only the window is read."""

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from intake.clock import now_utc
from intake.extensions import db
from intake.scheduling.models import TimeOff
from intake.scheduling.services import open_times
from intake.therapists.models import Therapist


def maya():
    return db.session.scalar(sa.select(Therapist).where(Therapist.slug == "maya-chen"))


def test_time_off_removes_open_times_at_once(demo):
    therapist = maya()
    now = now_utc()
    window = (now, now + timedelta(days=14))
    before = open_times(therapist, *window, now)
    first_day = before[0].starts_at
    off = TimeOff(therapist_id=therapist.id, starts_at=first_day - timedelta(hours=1),
                  ends_at=first_day + timedelta(hours=12), note="conference")
    db.session.add(off)
    db.session.commit()
    after = open_times(therapist, *window, now)
    assert after and len(after) < len(before)
    assert all(not (off.starts_at < s.ends_at and s.starts_at < off.ends_at) for s in after)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # reads SQLite's query plan
def test_open_times_read_only_the_window_through_indexes(demo):
    """Every query made for a week's open times is bounded and uses an index (SQLite plan)."""
    therapist = maya()
    statements = []

    def capture(conn, cursor, statement, parameters, context, executemany):
        if "FROM appointment" in statement or "FROM time_off" in statement:
            statements.append((statement, parameters))

    engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", capture)
    try:
        now = datetime(2026, 12, 1, tzinfo=UTC)
        open_times(therapist, now, now + timedelta(days=7), now)
    finally:
        sa.event.remove(engine, "before_cursor_execute", capture)
    assert len(statements) == 1  # appointments, time off, proposals and busy times at once
    with engine.connect() as conn:
        (statement, parameters), = statements
        plan = [str(row[-1]) for row in conn.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + statement, parameters)]
    for table in ("appointment", "time_off", "appointment_proposal", "busy_interval"):
        reads = [step for step in plan if step.split()[1:2] == [table]]
        assert reads and all("USING" in step and "INDEX" in step for step in reads), plan
