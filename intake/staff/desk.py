"""The front desk: the dashboard (urgent intakes, the queue), search, intakes, appointments."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField
from wtforms.validators import Length

from ..appointments import services as appointments
from ..appointments.models import Appointment
from ..choices import CONCERNS_BY_KEY, FEELS_SAFE_CHOICES, FORMATS, LANGUAGES, MODALITIES, TIMES
from ..clock import now_utc
from ..couples import services as couples
from ..couples.models import Partner
from ..extensions import db
from ..forms import parse_start
from ..health import mail_health
from ..htmx import is_htmx
from ..intakes import services as intakes
from ..intakes.models import Intake
from ..mail import outbox
from ..mail.models import OutboxMessage
from ..redirects import same_site
from ..scheduling.services import next_open_times, upcoming_times
from . import queries
from .auth import role_required
from .models import ADMIN, FRONT_DESK, THERAPIST

bp = Blueprint("desk", __name__, url_prefix="/staff")
DESK = (ADMIN, FRONT_DESK)
EVERYONE = (ADMIN, FRONT_DESK, THERAPIST)


class DeclineForm(FlaskForm):
    """An optional kind note to the client."""

    message = TextAreaField("A kind note to the client (optional)", validators=[
        Length(max=1000, message="Please keep the note under 1,000 characters.")])


class ProposeForm(FlaskForm):
    """Another open time to offer."""

    start = HiddenField()


@bp.get("/")
@role_required(*EVERYONE)
def home():
    """Return the dashboard: urgent intakes first, then requests awaiting confirmation."""
    if current_user.role == THERAPIST:
        return redirect(url_for("desk.schedule"))
    now = now_utc()
    requests, changes = queries.waiting_requests(), queries.change_requests()
    partnered = couples.partners_of([a.intake_id for a in changes])
    soonest = upcoming_times(list({a.therapist for a in requests}), now, 8)
    options = {a.id: soonest[a.therapist_id] for a in requests}
    health = mail_health(now)
    return render_template("staff/dashboard.html", **_urgent_items(),
                           quiet=couples.not_heard_from(),
                           health=health, unattached=queries.failed_unattached_emails()
                           if health.failed_without_appointment else [],
                           changes=changes, together={
                               a.id for a in changes if a.intake_id in partnered},
                           contacts=queries.contact_requests(), requests=requests,
                           partners=couples.partners_of([a.intake_id for a in requests]),
                           options=options, now=now, decline_form=DeclineForm(),
                           propose_form=ProposeForm())


@bp.get("/urgent")
@role_required(*DESK)
def urgent():
    """Return the urgent intakes panel alone (the dashboard asks for it every minute), with
    the tab's title carrying their number; 204 (nothing to swap, so nobody's focus or typing is
    disturbed) while the ones waiting are those the page already shows."""
    items = _urgent_items()
    if request.args.get("seen") == items["seen"]:
        return "", 204
    return render_template("staff/_urgent.html", **items)


def _urgent_items() -> dict:
    """Return what the urgent panel shows: urgent intakes ("urgent"), couples' partners who
    need a call first ("calls"), and the mark of both that its poll sends back ("seen")."""
    urgent, calls = queries.urgent_intakes(), couples.needing_a_call()
    seen = ",".join([str(i.id) for i in urgent] + [f"p{p.id}" for p in calls])
    return {"urgent": urgent, "calls": calls, "seen": seen}


def _counts() -> str:
    """Return the dashboard's panel counts as htmx out-of-band swaps, after a decision in
    place changed one of them."""
    return render_template("staff/_counts.html", counts={
        "urgent-count": len(queries.urgent_intakes()) + len(couples.needing_a_call()),
        "partners-count": len(couples.not_heard_from()),
        "changes-count": len(queries.change_requests()),
        "queue-count": len(queries.waiting_requests()),
        "contact-count": len(queries.contact_requests())})


def _appointment_or_404(appointment_id: int) -> Appointment:
    """Return the appointment when the person signed in may see it; answer 404 otherwise."""
    appointment = db.get_or_404(Appointment, appointment_id)
    if not queries.can_see_appointment(current_user, appointment):
        abort(404)
    return appointment


def _posted(appointment_id: int) -> Appointment:
    """Return the appointment a plain staff form was posted for, once the person may act on it
    (404 otherwise) and the form's token is good (400 otherwise)."""
    appointment = _appointment_or_404(appointment_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    return appointment


def _decide(appointment: Appointment, decision: Callable[[], object], done: str):
    """Make a front-desk decision on the appointment (a lifecycle call) and return its
    outcome, as `_after_action` shows it: `done`, or why it could not be made (409).

    The lifecycle works on this same loaded appointment (one identity in the session), so the
    outcome shows its new state with no second lookup of its own."""
    try:
        decision()
    except appointments.BookingError as exc:
        return _after_action(appointment, exc.message, 409)
    return _after_action(appointment, done)


def _after_action(appointment: Appointment, message: str, status: int = 200):
    """Return the queue row for htmx (the outcome in place), or 303 back for a plain form."""
    if is_htmx():
        return render_template("staff/_request_done.html", appointment=appointment,
                               message=message) + _counts(), status
    flash(message, "error" if status >= 400 else "info")
    return redirect(same_site(request.form.get("back")) or url_for("desk.home"), 303)


@bp.post("/appointments/<int:appointment_id>/confirm")
@role_required(*DESK)
def confirm(appointment_id: int):
    """Confirm a waiting request; both parties get the updated invite."""
    appointment = _posted(appointment_id)
    return _decide(appointment, lambda: appointments.confirm(appointment_id, current_user.id),
                   "Confirmed. Updated invites are on their way.")


@bp.post("/appointments/<int:appointment_id>/decline")
@role_required(*DESK)
def decline(appointment_id: int):
    """Decline a waiting request with an optional kind note; the time is free again."""
    appointment = _appointment_or_404(appointment_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _after_action(appointment, " ".join(form.message.errors) or
                             "Please try again.", 422)
    return _decide(appointment, lambda: appointments.decline(
        appointment_id, current_user.id, form.message.data or ""),
        "Declined. The client has been told kindly and the time is free again.")


@bp.post("/appointments/<int:appointment_id>/propose")
@role_required(*DESK)
def propose(appointment_id: int):
    """Offer the client another open time."""
    appointment = _appointment_or_404(appointment_id)
    form = ProposeForm()
    start = parse_start(form.start.data)
    if not form.validate_on_submit() or start is None:
        return _after_action(appointment, "Choose one of the open times to offer.", 422)
    return _decide(appointment, lambda: appointments.propose(appointment_id, start,
                                                             current_user.id),
                   "Offered. The client can accept it from their email.")


@bp.post("/appointments/<int:appointment_id>/cancel")
@role_required(*DESK)
def cancel(appointment_id: int):
    """Cancel an appointment for the practice; both parties are told and the time is free."""
    _posted(appointment_id)
    try:
        appointments.cancel(appointment_id, current_user.id)
    except appointments.BookingError as exc:
        flash(exc.message, "error")
    else:
        flash("Cancelled. Both have been told and the time is free again.", "info")
    return redirect(url_for("desk.appointment", appointment_id=appointment_id), 303)


@bp.post("/intakes/<int:intake_id>/acknowledge")
@role_required(*DESK)
def acknowledge(intake_id: int):
    """Mark an urgent intake or contact request as taken on (recorded)."""
    db.get_or_404(Intake, intake_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    intakes.acknowledge(intake_id, current_user.id)
    if is_htmx():
        return render_template("staff/_acknowledged.html") + _counts()
    flash("Acknowledged.", "info")
    return redirect(url_for("desk.home"), 303)


@bp.post("/partners/<int:partner_id>/acknowledge")
@role_required(*DESK)
def acknowledge_partner(partner_id: int):
    """Mark a couple's partner who needs a call, or was not heard from, as taken on."""
    partner = db.get_or_404(Partner, partner_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    couples.acknowledge(partner_id, current_user.id)
    if is_htmx():
        return render_template("staff/_acknowledged.html") + _counts()
    flash("Acknowledged.", "info")
    return redirect(url_for("desk.intake", intake_id=partner.intake_id), 303)


@bp.post("/partners/<int:partner_id>/include")
@role_required(*DESK)
def include_partner(partner_id: int):
    """Add a couple's partner to the consultation once staff have talked with them: their own
    invite goes out (and the request is confirmed when it waited only for them)."""
    partner = db.get_or_404(Partner, partner_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        couples.include(partner_id, current_user.id)
    except appointments.BookingError as exc:
        flash(exc.message, "error")
    else:
        flash(f"{partner.name} is on the consultation; their own invite is on its way.", "info")
    return redirect(url_for("desk.intake", intake_id=partner.intake_id), 303)


@bp.get("/intakes/<int:intake_id>")
@role_required(*EVERYONE)
def intake(intake_id: int):
    """Return an intake's answers, beside those of a couple's partner; every view is recorded
    in the audit trail."""
    record = db.get_or_404(Intake, intake_id)
    if not queries.can_see_intake(current_user, intake_id):
        abort(404)
    intakes.record_view(intake_id, current_user.id)
    return render_template("staff/intake.html", intake=record, concerns=CONCERNS_BY_KEY,
                           partner=couples.partner_for(intake_id),
                           feels_safe=dict(FEELS_SAFE_CHOICES),
                           modalities=MODALITIES, formats=FORMATS, languages=LANGUAGES,
                           times=TIMES, appointments=queries.appointments_of(record, current_user))


@bp.get("/appointments/<int:appointment_id>")
@role_required(*EVERYONE)
def appointment(appointment_id: int):
    """Return an appointment with the emails it caused and their state."""
    record = _appointment_or_404(appointment_id)
    active = record.is_active and current_user.role != THERAPIST
    options = next_open_times(record.therapist, now_utc(), 8) if active else []
    return render_template("staff/appointment.html", appointment=record,
                           emails=queries.emails_for(appointment_id), options=options,
                           offered=queries.open_proposal(appointment_id),
                           partner=couples.partner_for(record.intake_id)
                           if queries.can_see_intake(current_user, record.intake_id) else None,
                           location=appointments.location_of(record),
                           zone=current_app.config["PRACTICE_TIMEZONE"], form=FlaskForm())


@bp.post("/emails/<int:message_id>/retry")
@role_required(*DESK)
def retry_email(message_id: int):
    """Queue a failed email again."""
    row = db.get_or_404(OutboxMessage, message_id)
    if not FlaskForm().validate_on_submit():
        abort(400)
    outbox.retry(message_id, current_user.id)
    flash("The email will be sent again in a moment.", "info")
    target = (url_for("desk.appointment", appointment_id=row.appointment_id)
              if row.appointment_id else url_for("desk.home"))
    return redirect(target, 303)


@bp.get("/search")
@role_required(*DESK)
def search():
    """Return intakes and appointments matching a client's name or email."""
    term = (request.args.get("q") or "")[:120]
    found_intakes, found_appointments = queries.search(term)
    return render_template("staff/search.html", term=term, intakes=found_intakes,
                           appointments=found_appointments)


@bp.get("/schedule")
@role_required(*EVERYONE)
def schedule():
    """Return a therapist's upcoming appointments (their own, for a therapist)."""
    if current_user.role == THERAPIST:
        therapist = current_user.therapist
    else:
        slug = request.args.get("therapist")
        therapist = next((t for t in queries.therapists() if t.slug == slug), None)
        if therapist is None:
            return render_template("staff/schedule_pick.html", therapists=queries.therapists())
    now = now_utc()
    return render_template("staff/schedule.html", therapist=therapist, now=now,
                           appointments=queries.upcoming_for(therapist.id, now),
                           zone=therapist.timezone, horizon=now + timedelta(days=60))
