"""The partner's own pages: their short intake from the signed email link, and what they see
after answering. Nothing of the first partner's answers is ever shown here."""

from __future__ import annotations

from flask import Blueprint, current_app, render_template, request

from .. import links
from ..appointments.services import current_booking
from ..choices import RISK_ANSWERS
from ..clock import now_utc
from ..formatting import zone_or
from . import services
from .forms import PartnerForm
from .models import UNANSWERED, Partner

bp = Blueprint("couples", __name__, url_prefix="/together")


def _partner(token: str) -> Partner | None:
    """Return the partner the link was made for, or None for a bad or expired link."""
    return links.record_for(links.PARTNER_INTAKE, token, Partner)


def _form_page(partner: Partner, form: PartnerForm, status: int = 200, unsaved: bool = False,
               expired: bool = False):
    """Return the partner's form, with every problem beside its field and in a summary; with
    `unsaved`, a note that nothing was saved yet (and crisis resources for a risky answer)."""
    return render_template("couples/form.html", partner=partner, form=form, unsaved=unsaved,
                           expired=expired,
                           crisis=unsaved and form.signals_risk(),
                           days=current_app.config["PARTNER_INTAKE_DAYS"]), status


def _answered(partner: Partner):
    """Return the page for a form already answered: the same words whatever the answers were,
    so whoever opens the link later learns nothing from it."""
    return render_template("couples/answered.html", partner=partner)


@bp.route("/<token>", methods=["GET", "POST"])
def answer(token: str):
    """Return the partner's own intake; store their answers when sent.

    A sign of risk in either safety answer is stored at once, even with other answers still to
    fix, and support is shown (never a form error in its way).
    """
    partner = _partner(token)
    if partner is None:
        return render_template("couples/link_invalid.html"), 404
    if partner.status not in UNANSWERED:
        return _answered(partner)
    if request.method == "GET":
        form = PartnerForm(data={"name": partner.name, "email": partner.email,
                                 "timezone": zone_or(partner.timezone, partner.timezone)})
        return _form_page(partner, form)
    form = PartnerForm()
    ok = form.check()
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


def resume_after_expiry():
    """Return the partner's form as they sent it when its token expired: answers kept, a
    fresh token, crisis resources beside a risky answer, nothing saved yet."""
    partner = _partner((request.view_args or {}).get("token", ""))
    if partner is None or partner.status not in UNANSWERED:
        return render_template("couples/link_invalid.html"), 404
    form = PartnerForm(meta={"csrf": False})
    form.check()
    return _form_page(partner, form, 422, unsaved=True, expired=True)
