"""The client's waitlist pages: asking to hear of sooner times, confirming from the email,
leaving in one click, and booking a freed time that was offered."""

from __future__ import annotations

import re
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import (
    Blueprint,
    abort,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import RadioField, StringField

from .. import links
from ..appointments.candidates import candidate_for, matches_for, wish_for
from ..appointments.models import Appointment
from ..appointments.services import (
    BookingError,
    TimeNotOpen,
    TimeTaken,
    TooManyBookings,
    active_ahead,
)
from ..choices import N_
from ..clock import now_utc
from ..extensions import csrf, db, limiter
from ..forms import MultiCheckboxField, options
from ..intakes.access import intake_or_404, remember, support_instead
from ..intakes.models import Intake
from ..matching import passes_filters
from ..scheduling.services import is_open, next_open_times
from ..therapists.models import Therapist
from . import services
from .models import OFFERED, TAKEN, WAITING, WaitlistEntry, WaitlistOffer

bp = Blueprint("waitlist", __name__)
ANY = "any"
SLUG = re.compile(r"[a-z0-9-]{1,80}")


bp.add_app_template_global(services.describe_days, "waitlist_days")
bp.add_app_template_global(services.describe_parts, "waitlist_parts")
bp.add_app_template_global(services.last_day, "waitlist_last_day")


class WaitlistForm(FlaskForm):
    """What a person waiting for a sooner time chooses."""

    who = RadioField(_l("Who would you like to see?"), choices=options([(ANY, ANY)]))
    days = MultiCheckboxField(_l("Days that suit you"), coerce=int,
                              choices=options(enumerate(services.DAYS)))
    parts = MultiCheckboxField(_l("Times of day that suit you"),
                               choices=options(services.PARTS.items()))
    until = StringField(_l("Keep me on the list until"))


def _rate_limit() -> str:
    """Return the configured limit for public posts."""
    return current_app.config["INTAKE_RATE_LIMIT"]


def _choices(intake: Intake, asked: Therapist | None) -> list:
    """Return whom the person may wait for: each therapist suggested to them (and the one whose
    times they were looking at, when that one fits them too), or any of them."""
    matched = [t for t, _ in matches_for(intake, now_utc().date())]
    if (asked is not None and asked.id not in {t.id for t in matched}
            and passes_filters(candidate_for(asked), wish_for(intake))):
        matched.insert(0, asked)
    return [*options([(t.slug, _("Only %(name)s", name=t.display_name)) for t in matched]),
            *options([(ANY, N_("Any of the therapists suggested for me"))])]


def _defaults(form: WaitlistForm, intake: Intake, asked: Therapist | None, zone: str) -> None:
    """Fill a fresh form from what the intake said about times."""
    wished = set(intake.preferred_times or ())
    offered = {choice.value for choice in form.who.choices}
    form.who.data = asked.slug if asked and asked.slug in offered else ANY
    weekdays, weekend = [0, 1, 2, 3, 4], [5, 6]
    days = (weekdays if "weekday" in wished else []) + (weekend if "weekend" in wished else [])
    form.days.data = days or weekdays + weekend
    form.parts.data = [p for p in services.PARTS if p in wished] or list(services.PARTS)
    today = now_utc().astimezone(ZoneInfo(zone)).date()
    form.until.data = (today + timedelta(days=current_app.config["WAITLIST_DAYS"])).isoformat()


def _date(text: str | None) -> date | None:
    """Return a typed date (YYYY-MM-DD, as a date field sends it), or None."""
    try:
        return date.fromisoformat((text or "").strip()[:10])
    except ValueError:
        return None


@bp.route("/intake/<reference>/waitlist", methods=["GET", "POST"])
@limiter.limit(_rate_limit, methods=["POST"])
def join(reference: str):
    """Return the form for hearing of sooner times; on a good post, put the person on the list
    (pending their email confirmation) and 303 to the page that says to check their email."""
    intake = intake_or_404(reference)
    if (support := support_instead(intake)) is not None:
        return support
    zone = intake.timezone or current_app.config["PRACTICE_TIMEZONE"]
    slug = request.values.get("with", "")
    asked = (db.session.scalar(sa.select(Therapist).where(Therapist.slug == slug))
             if SLUG.fullmatch(slug) else None)
    form = WaitlistForm()
    form.who.choices = _choices(intake, asked)
    if request.method == "GET":
        _defaults(form, intake, asked, zone)
        return _form_page(intake, form, zone, asked)
    valid = form.validate_on_submit()
    today = now_utc().astimezone(ZoneInfo(zone)).date()
    for field, message in services.wish_errors(
            form.days.data or [], form.parts.data or [], _date(form.until.data), today,
            current_app.config["WAITLIST_MAX_DAYS"]):
        if not form[field].errors:
            form[field].errors = [*form[field].errors, message]
            valid = False
    if valid:
        therapist = None
        if form.who.data != ANY:
            therapist = db.session.scalar(sa.select(Therapist).where(
                Therapist.slug == form.who.data))
        try:
            joined = services.join(intake, therapist, form.days.data, form.parts.data,
                                   _date(form.until.data), zone)
        except services.WaitlistError as exc:
            form[exc.field or "until"].errors = [exc.message]
        else:
            return redirect(url_for("waitlist.sent", reference=reference,
                                    **({} if joined.emailed else {"again": 1})), 303)
    return _form_page(intake, form, zone, asked, 422)


def _form_page(intake: Intake, form: WaitlistForm, zone: str, asked: Therapist | None,
               status: int = 200):
    """Return the waitlist form, its date limited to the days that can be chosen."""
    today = now_utc().astimezone(ZoneInfo(zone)).date()
    return render_template(
        "waitlist/join.html", intake=intake, form=form, zone=zone, asked=asked,
        first_day=(today + timedelta(days=1)).isoformat(),
        last_day=(today + timedelta(days=current_app.config["WAITLIST_MAX_DAYS"])).isoformat(),
        max_days=current_app.config["WAITLIST_MAX_DAYS"]), status


@bp.get("/intake/<reference>/waitlist/sent")
def sent(reference: str):
    """Return the page asking the person to confirm from the email just sent."""
    intake = intake_or_404(reference)
    return render_template("waitlist/sent.html", intake=intake, again="again" in request.args)


def _entry(purpose: str, token: str) -> WaitlistEntry:
    """Return the place a waitlist link points to; answer 404 for a bad or expired link."""
    entry = links.record_for(purpose, token, WaitlistEntry)
    if entry is None:
        abort(make_response(render_template("intakes/link_invalid.html"), 404))
    return entry


@bp.route("/waitlist/confirm/<token>", methods=["GET", "POST"])
def confirm(token: str):
    """Return the confirmation page; its button confirms the place (a link alone does not,
    since mail scanners open links)."""
    entry = _entry(links.WAITLIST_CONFIRM, token)
    form = FlaskForm()
    if request.method == "POST" and form.validate_on_submit():
        entry = services.confirm(entry.id)
    return render_template("waitlist/confirm.html", entry=entry, form=form,
                           leave_url=links.waitlist_leave_url(entry.id))


@bp.route("/waitlist/leave/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the authority; mail programs post to it (RFC 8058)
def leave(token: str):
    """Return the page with the one button that takes the person off the list; a post (the
    button, or a mail program's own "unsubscribe") takes them off at once."""
    entry = _entry(links.WAITLIST_LEAVE, token)
    if request.method == "POST":
        entry = services.leave(entry.id)
    return render_template("waitlist/leave.html", entry=entry)


def _offer(token: str) -> WaitlistOffer:
    """Return the offer a link points to (this browser may then continue its intake); answer
    404 for a bad or expired link."""
    offer = links.record_for(links.WAITLIST_OFFER, token, WaitlistOffer)
    if offer is None:
        abort(make_response(render_template("intakes/link_invalid.html"), 404))
    remember(offer.entry.intake)
    return offer


def _offer_page(offer: WaitlistOffer, form: FlaskForm, message: str = "", status: int = 200):
    """Return the offer: the time with a button that books it, or, once it can't be booked,
    kind words, the person's place on the list and other open times."""
    entry = offer.entry
    now = now_utc()
    if offer.status == TAKEN and offer.appointment_id:
        appointment = db.session.get(Appointment, offer.appointment_id)
        return render_template("waitlist/offer_taken.html", offer=offer, zone=entry.timezone,
                               therapist=offer.therapist, appointment=appointment,
                               manage_url=links.manage_url(appointment, external=False))
    bookable = (not message and offer.status == OFFERED and entry.status == WAITING
                and is_open(offer.therapist, offer.starts_at, now))
    others = [] if bookable else next_open_times(offer.therapist, now, 6)
    replaces = bookable and bool(active_ahead(entry.intake_id, now))
    return render_template("waitlist/offer.html", offer=offer, entry=entry, form=form,
                           therapist=offer.therapist, intake=entry.intake, zone=entry.timezone,
                           bookable=bookable, message=message, others=others,
                           replaces=replaces,
                           how=_l(services.FORMATS[services.meeting_format(
                               entry.intake, offer.therapist)]),
                           leave_url=links.waitlist_leave_url(entry.id)), status


@bp.get("/waitlist/offer/<token>")
def offer(token: str):
    """Return the time offered, in the person's own zone, with a button that books it."""
    return _offer_page(_offer(token), FlaskForm())


@bp.post("/waitlist/offer/<token>")
@limiter.limit(_rate_limit)
def take(token: str):
    """Book the offered time in one step; 303 to the booking's confirmation page. When someone
    else was first, the kind page says so (409) and the person stays on the list."""
    offer = _offer(token)
    form = FlaskForm()
    if not form.validate_on_submit():
        return _offer_page(offer, form)
    try:
        appointment = services.book_offer(offer.id)
    except (TimeTaken, TimeNotOpen):
        return _offer_page(db.session.get(WaitlistOffer, offer.id), form, services.TAKEN_NOW,
                           409)
    except TooManyBookings as exc:
        return _offer_page(offer, form, exc.message, 429)
    except BookingError as exc:
        return _offer_page(offer, form, exc.message, 409)
    return redirect(url_for("appointments.booked", reference=appointment.intake.reference,
                            uid=appointment.uid), 303)
