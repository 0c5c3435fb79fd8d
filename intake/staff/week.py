"""The week at a glance: a grid per therapist, or the whole practice by therapist and day."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import Blueprint, abort, current_app, render_template, request
from flask_login import current_user

from ..clock import now_utc
from ..scheduling.services import hours_for
from ..scheduling.slots import working_intervals
from ..scheduling.weeks import monday_of, week_span
from . import queries
from .auth import role_required
from .models import ADMIN, FRONT_DESK, THERAPIST

bp = Blueprint("week", __name__, url_prefix="/staff/week")
STEP = timedelta(minutes=15)
FIRST_HOUR, LAST_HOUR = 7, 21  # widened to fit anything outside


@dataclass(frozen=True)
class Block:
    """One thing drawn on the grid: a day column, a first row and a row span."""

    kind: str  # hours, off, held, confirmed
    day: int  # 0 = Monday
    row: int  # 1-based, in STEP rows from the grid's first hour
    span: int
    starts_at: datetime
    ends_at: datetime
    label: str = ""
    appointment_id: int | None = None


def _pieces(start: datetime, end: datetime, tz: ZoneInfo, monday: date):
    """Yield (day index, local start, local end) for each local day an interval touches."""
    local_start, local_end = start.astimezone(tz), end.astimezone(tz)
    day = local_start.date()
    while day <= local_end.date():
        index = (day - monday).days
        lo = max(local_start, datetime.combine(day, time(0), tzinfo=tz))
        hi = min(local_end, datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz))
        if 0 <= index < 7 and lo < hi:
            yield index, lo, hi
        day += timedelta(days=1)


def layout(intervals, zone: str, monday: date) -> tuple[list[Block], int, int]:
    """Return the blocks for (kind, start, end, label, appointment id) intervals, and the
    grid's first and last hour (widened from 7–21 to fit everything)."""
    tz = ZoneInfo(zone)
    pieces = [(kind, label, ident, piece) for kind, s, e, label, ident in intervals
              for piece in _pieces(s, e, tz, monday)]
    first = min([FIRST_HOUR, *[p[1].hour for *_, p in pieces]])
    last = max([LAST_HOUR, *[(p[2] - timedelta(seconds=1)).hour + 1 for *_, p in pieces]])
    blocks = []
    for kind, label, ident, (day, lo, hi) in pieces:
        offset = (lo.hour - first) * 60 + lo.minute
        length = max((hi - lo).total_seconds() // 60, 15)
        blocks.append(Block(kind, day, int(offset // 15) + 1, int(-(-length // 15)),
                            lo.astimezone(UTC), hi.astimezone(UTC), label, ident))
    order = {"hours": 0, "off": 1, "held": 2, "confirmed": 2}
    blocks.sort(key=lambda b: (order[b.kind], b.day, b.row))
    return blocks, first, last


@bp.get("")
@role_required(ADMIN, FRONT_DESK, THERAPIST)
def show():
    """Return one therapist's week as a time grid, or the whole practice's by therapist."""
    everyone = queries.therapists()
    slug = request.args.get("therapist")
    if current_user.role == THERAPIST:
        if slug and slug != current_user.therapist.slug:
            abort(404)
        slug = current_user.therapist.slug
    therapist = next((t for t in everyone if t.slug == slug), None)
    if slug and therapist is None:
        abort(404)
    zone = therapist.timezone if therapist else current_app.config["PRACTICE_TIMEZONE"]
    tz = ZoneInfo(zone)
    monday = monday_of(request.args.get("week"), now_utc().astimezone(tz).date())
    start, end = week_span(monday, zone)
    shown = [therapist] if therapist else everyone
    appointments, time_off = queries.week_items([t.id for t in shown], start, end)
    context = dict(everyone=everyone, therapist=therapist, zone=zone, monday=monday,
                   days=[monday + timedelta(days=i) for i in range(7)],
                   previous=monday - timedelta(days=7), next=monday + timedelta(days=7))
    if therapist is None:
        by_cell: dict[tuple[int, int], list] = {}
        for a in appointments:
            day = (a.starts_at.astimezone(tz).date() - monday).days
            by_cell.setdefault((a.therapist_id, day), []).append(("appointment", a))
        for off in time_off:
            for day, _, _ in _pieces(off.starts_at, off.ends_at, tz, monday):
                by_cell.setdefault((off.therapist_id, day), []).append(("off", off))
        hours: dict[tuple[int, int], list] = {}
        for t in shown:
            for s, e in working_intervals(hours_for(t), t.timezone, start, end):
                for day, lo, hi in _pieces(s, e, tz, monday):
                    hours.setdefault((t.id, day), []).append((lo, hi))
        context["hours"] = hours
        return render_template("staff/week_practice.html", cells=by_cell, **context)
    intervals = [("hours", s, e, "", None)
                 for s, e in working_intervals(hours_for(therapist), zone, start, end)]
    intervals += [("off", o.starts_at, o.ends_at, "Time off", None) for o in time_off]
    intervals += [(a.status, a.starts_at, a.ends_at, a.intake.initials, a.id)
                  for a in appointments]
    blocks, first, last = layout(intervals, zone, monday)
    return render_template("staff/week.html", blocks=blocks, first_hour=first, last_hour=last,
                           rows=(last - first) * 4, **context)
