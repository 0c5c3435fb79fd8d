"""Choosing a time and booking it: open times by week, the review page, the booking."""

from __future__ import annotations

import secrets
from datetime import timedelta

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _

from .. import links
from ..clock import now_utc
from ..couples.invitations import partner_of
from ..extensions import db, limiter
from ..formatting import zone_or
from ..forms import parse_start
from ..htmx import is_htmx
from ..intakes.access import intake_or_404, support_instead
from ..intakes.models import Intake
from ..scheduling.services import is_open, next_open_times, week_to_show
from ..scheduling.weeks import one_day
from ..therapists.access import therapist_or_404
from ..therapists.models import Therapist
from . import services
from .forms import BookingForm
from .manage import calendar_choices
from .models import Appointment

bp = Blueprint("appointments", __name__, url_prefix="/intake/<reference>")


def _zone(intake) -> str:
    """Return the zone to show times in: `?tz=` when valid, else the intake's own."""
    return zone_or(request.args.get("tz") or request.form.get("tz"), intake.timezone or "UTC")


def _choosing(reference: str, slug: str) -> tuple[Intake, Therapist, str]:
    """Return the intake, the therapist and the zone to show times in, for the pages where a
    client chooses a time; someone whose safety answer signalled risk goes to the help page."""
    intake = intake_or_404(reference)
    if (support := support_instead(intake)) is not None:
        abort(support)
    return intake, therapist_or_404(slug), _zone(intake)


def booked_instead(intake: Intake, status: int = 200):
    """Return the page that shows the consultation the intake already holds, with a way to see
    or change it, in place of times to book (None when it holds none). For htmx, a full
    reload that shows it."""
    appointment = services.current_booking(intake.id, now_utc())
    if appointment is None:
        return None
    if is_htmx():
        return "", 200, {"HX-Refresh": "true"}
    zone = zone_or(request.args.get("tz"), appointment.client_timezone)
    return render_template("appointments/already_booked.html", intake=intake,
                           appointment=appointment, zone=zone,
                           location=services.location_of(appointment),
                           manage_url=links.manage_url(appointment, external=False)), status


@bp.get("/times/<slug>")
def times(reference: str, slug: str):
    """Return a week of the therapist's open times in the client's zone (partial for htmx);
    without a week asked for, the first week that has any. Once the intake holds a
    consultation, that instead."""
    intake, therapist, zone = _choosing(reference, slug)
    if (booked := booked_instead(intake)) is not None:
        return booked
    week = week_to_show(therapist, zone, request.args.get("week"), now_utc())

    def day_href(day):
        return url_for("appointments.times", reference=reference, slug=slug,
                       week=week["monday"].isoformat(), day=day.isoformat(), tz=zone)

    context = {
        "intake": intake, "therapist": therapist, "zone": zone, "week": week,
        "day": one_day(week, zone, request.args.get("day"),
                       set(intake.preferred_times or ())), "day_href": day_href,
        "week_href": lambda d: url_for("appointments.times", reference=reference, slug=slug,
                                       week=d.isoformat(), tz=zone),
        "slot_href": review_links(reference, slug, zone),
    }
    if is_htmx():
        return render_template("appointments/_week.html", **context)
    return render_template("appointments/times.html", **context)


@bp.app_template_global()
def review_links(reference: str, slug: str, zone: str):
    """Return a function giving the review page's address of each of one therapist's open
    times, shown in `zone`.

    One url_for serves them all: each time adds only its start, encoded as url_for encodes it
    (the only character of an ISO time that needs it is the offset's "+").
    """
    base = url_for("appointments.review", reference=reference, slug=slug, tz=zone)
    return lambda slot: f"{base}&start={slot.starts_at.isoformat().replace('+', '%2B')}"


def _unavailable(intake, therapist, zone: str, message: str, status: int):
    """Return the kind page for a time that cannot be booked, with other open times."""
    now = now_utc()
    others = next_open_times(therapist, now, 6) if therapist else []
    return render_template("appointments/unavailable.html", intake=intake, therapist=therapist,
                           zone=zone, message=message, others=others), status


@bp.get("/book/<slug>")
def review(reference: str, slug: str):
    """Return the review page for one open time, with the booking form (once the intake holds
    a consultation, that instead: the browser's Back after booking lands here)."""
    intake, therapist, zone = _choosing(reference, slug)
    if (booked := booked_instead(intake)) is not None:
        return booked
    starts_at = parse_start(request.args.get("start"))
    if starts_at is None or not is_open(therapist, starts_at, now_utc()):
        return _unavailable(intake, therapist, zone,
                            _("That time isn't available any more. Here are other open times."),
                            409)
    form = BookingForm(start=starts_at.isoformat(), key=secrets.token_urlsafe(24), tz=zone)
    earlier = [db.session.get(Appointment, i)
               for i in services.active_ahead(intake.id, now_utc())]
    ways = services.meeting_formats(intake, therapist)
    return render_template("appointments/review.html", intake=intake, therapist=therapist,
                           zone=zone, starts_at=starts_at, form=form, earlier=earlier,
                           ways=ways, how=ways[0],
                           ends_at=starts_at + timedelta(minutes=therapist.consultation_minutes))


def _booking_limit() -> str:
    """Return the configured limit for booking posts."""
    return current_app.config["INTAKE_RATE_LIMIT"]


def _booked(response) -> bool:
    """Count only bookings made against the per-address cap."""
    return response.status_code == 303


@bp.post("/book/<slug>")
@limiter.limit(_booking_limit)
@limiter.limit(lambda: current_app.config["BOOKINGS_PER_ADDRESS_PER_DAY"], deduct_when=_booked,
               error_message=lambda: _("Many consultations were booked from your connection "
                                       "today."))
def book(reference: str, slug: str):
    """Book the reviewed time; on success 303 to the confirmation page. An intake that holds a
    consultation already is shown it (409), unless this is the same booking sent again."""
    intake = intake_or_404(reference)
    therapist = therapist_or_404(slug)
    zone = _zone(intake)
    form = BookingForm()
    starts_at = parse_start(form.start.data)
    if not form.validate_on_submit() or starts_at is None:
        problem = (_("We couldn't read how you'd like to meet. Please pick it again.")
                   if form.how.errors else
                   _("We couldn't read the time you chose. Please pick it again."))
        return _unavailable(intake, therapist, zone, problem, 422)
    try:
        booked = services.book(intake, therapist, starts_at, form.key.data,
                               how=form.how.data or None, replace=False)
    except services.AlreadyBooked as exc:
        return (booked_instead(intake, 409)
                or _unavailable(intake, therapist, zone, exc.message, 409))
    except services.TimeTaken as exc:
        return _unavailable(intake, therapist, zone, exc.message, 409)
    except services.TooManyBookings as exc:
        return _unavailable(intake, therapist, zone, exc.message, 429)
    except services.BookingError as exc:
        return _unavailable(intake, therapist, zone, exc.message, 422)
    return redirect(url_for("appointments.booked", reference=reference,
                            uid=booked.appointment.uid), 303)


def resume_after_unavailable():
    """Return the booking form as it was sent, with its time and idempotency key (503).

    Shown when the database could not be reached or locked. It needs no database itself: the
    time comes from the form, so pressing "Book this time" again is safe and books once.
    """
    form = BookingForm()
    zone = zone_or(form.tz.data, current_app.config["PRACTICE_TIMEZONE"])
    return render_template("errors/book_again.html", form=form, zone=zone,
                           starts_at=parse_start(form.start.data),
                           reference=request.view_args["reference"],
                           slug=request.view_args["slug"]), 503


@bp.get("/booked/<uid>")
def booked(reference: str, uid: str):
    """Return the confirmation page: what was booked and what happens next."""
    intake = intake_or_404(reference)
    appointment = db.first_or_404(sa.select(Appointment).where(
        Appointment.uid == uid, Appointment.intake_id == intake.id))
    return render_template("appointments/booked.html", intake=intake, appointment=appointment,
                           partner=partner_of(db.session, intake.id),
                           zone=appointment.client_timezone,
                           location=services.location_of(appointment),
                           manage_url=links.manage_url(appointment, external=False),
                           add_to=calendar_choices(appointment))
