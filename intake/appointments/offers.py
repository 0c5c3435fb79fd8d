"""The client's answer to a time the front desk proposed, reached from a signed email link."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_wtf import FlaskForm

from .. import links
from . import services
from .models import OPEN, Proposal

bp = Blueprint("proposals", __name__, url_prefix="/offer")


def _proposal(token: str) -> Proposal | None:
    """Return the proposal the link points to, or None for a bad or expired link."""
    return links.record_for(links.PROPOSAL, token, Proposal)


@bp.get("/<token>")
def show(token: str):
    """Return the offered time with a button to accept it and a way to pick another."""
    proposal = _proposal(token)
    if proposal is None:
        return render_template("intakes/link_invalid.html"), 404
    return _offer_page(proposal, FlaskForm(), proposal.status == OPEN)


def _offer_page(proposal: Proposal, form: FlaskForm, is_open: bool, message: str = ""):
    """Return the offer page: the offered time, and a way to pick a different one."""
    appointment = proposal.appointment
    # Choosing a different time replaces this request rather than adding a second one.
    return render_template("appointments/offer.html", proposal=proposal, appointment=appointment,
                           zone=appointment.client_timezone, form=form, is_open=is_open,
                           message=message,
                           rebook_url=links.instead_url(appointment.id, external=False))


@bp.post("/<token>")
def accept(token: str):
    """Accept the offered time; the appointment moves there and is confirmed."""
    proposal = _proposal(token)
    form = FlaskForm()
    if proposal is None or not form.validate_on_submit():
        return render_template("intakes/link_invalid.html"), 404
    try:
        appointment = services.accept_proposal(proposal.id)
    except services.BookingError as exc:
        return _offer_page(proposal, form, False, exc.message), 409
    return redirect(url_for("proposals.accepted", token=token, uid=appointment.uid), 303)


@bp.get("/<token>/accepted")
def accepted(token: str):
    """Return the confirmation after accepting an offered time."""
    proposal = _proposal(token)
    if proposal is None:
        return render_template("intakes/link_invalid.html"), 404
    appointment = proposal.appointment
    return render_template("appointments/offer_accepted.html", appointment=appointment,
                           zone=appointment.client_timezone,
                           location=services.location_of(appointment))
