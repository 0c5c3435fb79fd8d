"""The front desk's view of each therapist's waitlist, and offering a time by hand."""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField

from ..appointments.services import BookingError
from ..clock import now_utc
from ..forms import parse_start
from ..staff import queries
from ..staff.auth import role_required
from ..staff.models import ADMIN, FRONT_DESK
from . import services
from .models import WAITING

bp = Blueprint("waitlist_desk", __name__, url_prefix="/staff/waitlist")


class OfferForm(FlaskForm):
    """A time to offer one waiting person (chosen among the therapist's open times)."""

    therapist = HiddenField()
    start = HiddenField()


def _therapist(slug: str | None):
    """Return the therapist with `slug` and the list of every therapist."""
    everyone = queries.therapists()
    return next((t for t in everyone if t.slug == slug), None), everyone


@bp.get("")
@role_required(ADMIN, FRONT_DESK)
def show():
    """Return one therapist's waitlist (how long each person has waited, what they were
    offered, and times that could be offered by hand), or the list of therapists to pick."""
    therapist, everyone = _therapist(request.args.get("therapist"))
    if therapist is None:
        return render_template("staff/waitlist.html", therapist=None, therapists=everyone)
    services.record_view(therapist.id, current_user.id)
    now = now_utc()
    places = services.waitlist_of(therapist, now)
    times = {entry.id: services.fitting_times(
                 entry, therapist, now, offered={o.starts_at for o in offers
                                                 if o.therapist_id == therapist.id})
             for entry, offers in places if entry.status == WAITING}
    return render_template("staff/waitlist.html", therapist=therapist, therapists=everyone,
                           places=places, times=times, now=now, form=OfferForm(),
                           zone=current_app.config["PRACTICE_TIMEZONE"],
                           suits=services.suits)


@bp.post("/<int:entry_id>/offer")
@role_required(ADMIN, FRONT_DESK)
def offer(entry_id: int):
    """Offer one open time to one waiting person by email; back to the list with the outcome."""
    form = OfferForm()
    therapist, _ = _therapist(form.therapist.data)
    starts_at = parse_start(form.start.data)
    back = url_for("waitlist_desk.show", therapist=therapist.slug if therapist else None)
    if not form.validate_on_submit() or therapist is None or starts_at is None:
        flash("Choose one of the open times shown.", "error")
        return redirect(back, 303)
    try:
        services.offer_by_hand(entry_id, therapist, starts_at, current_user.id)
    except (services.WaitlistError, BookingError) as exc:
        flash(exc.message, "error")
    else:
        flash("Offered. They have an email with a link that books it; the first to take a time "
              "gets it.", "info")
    return redirect(back, 303)
