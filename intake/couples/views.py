"""The partner's own pages: their short intake from the signed email link, and what they see
after answering. Nothing of the first partner's answers is ever shown here."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from .. import links
from ..appointments.services import current_booking
from ..choices import RISK_ANSWERS
from ..clock import now_utc
from ..extensions import csrf
from ..formatting import zone_or
from . import services
from .forms import PartnerForm
from .models import UNANSWERED, Partner

bp = Blueprint("couples", __name__, url_prefix="/together")


def _partner(token: str) -> Partner | None:
    """Return the partner the link was made for, or None for a bad or expired link (or one
    whose couple's intake, or their own answers, were erased)."""
    partner = links.record_for(links.PARTNER_INTAKE, token, Partner)
    if partner is None or partner.intake.purged_at is not None or (
            partner.answered_at is not None and not partner.email):
        return None
    return partner


def _form_page(partner: Partner, form: PartnerForm, status: int = 200):
    """Return the partner's form, with every problem beside its field and in a summary."""
    return render_template("couples/form.html", partner=partner, form=form), status


def _answered(partner: Partner):
    """Return the page for a form already answered: the same words whatever the answers were,
    so whoever opens the link later learns nothing from it."""
    return render_template("couples/answered.html", partner=partner)


@bp.route("/<token>", methods=["GET", "POST"])
@csrf.exempt  # the signed link is the authority: an expired form token must never lose an answer
def answer(token: str):
    """Return the partner's own intake; store their answers when sent.

    A sign of risk in either safety answer is stored at once, even with other answers still to
    fix (or sent again after a first answer), and support is shown: never a form error in its
    way.
    """
    partner = _partner(token)
    if partner is None:
        return render_template("couples/link_invalid.html"), 404
    if partner.status not in UNANSWERED and request.method == "GET":
        return _answered(partner)
    if request.method == "GET":
        form = PartnerForm(meta={"csrf": False}, data={
                           "name": partner.name, "email": partner.email,
                                 "timezone": zone_or(partner.timezone, partner.timezone)})
        return _form_page(partner, form)
    form = PartnerForm(meta={"csrf": False})
    ok = form.check()
    if partner.status not in UNANSWERED and not form.signals_risk():
        return _answered(partner)
    if not form.signals_risk() and not ok:
        return _form_page(partner, form, 422)
    try:
        partner = services.answer(partner.id, form.kept() if form.signals_risk() else form.data)
    except services.AlreadyAnswered:
        return _answered(partner)
    if partner.status == "flagged":
        return render_template("couples/safe.html", partner=partner,
                               crisis=partner.safety in RISK_ANSWERS)
    return render_template("couples/joined.html", partner=partner,
                           booked=current_booking(partner.intake_id, now_utc()) is not None)
