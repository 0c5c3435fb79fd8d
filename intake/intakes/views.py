"""The intake pages: the stepped form, the crisis page and the match page."""

from __future__ import annotations

from flask import (
    Blueprint,
    current_app,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import refresh
from flask_wtf.csrf import generate_csrf
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .. import i18n, links
from ..appointments.candidates import matches_for
from ..appointments.models import Appointment
from ..appointments.views import booked_instead
from ..clock import now_utc, timed_serializer
from ..extensions import limiter
from ..formatting import zone_or
from ..htmx import is_htmx
from ..scheduling.services import upcoming_times
from ..scheduling.weeks import preferred_first, wished
from . import services
from .access import intake_or_404, remember, support_instead
from .forms import IntakeForm, UrgentContactForm
from .models import Intake

bp = Blueprint("intakes", __name__, url_prefix="/intake")


def _rate_limit() -> str:
    """Return the configured limit for public intake posts."""
    return current_app.config["INTAKE_RATE_LIMIT"]


def _stamp() -> URLSafeTimedSerializer:
    """Return the signer for the form's start time (the minimum-fill-time check)."""
    return timed_serializer(current_app.config["SECRET_KEY"], "intake-started")


def _too_fast(form: IntakeForm) -> bool:
    """Return True when the form came back sooner than a person could fill it (or unsigned)."""
    minimum = current_app.config["INTAKE_MIN_SECONDS"]
    if minimum <= 0:
        return False
    try:
        _, signed_at = _stamp().loads(form.started.data or "", return_timestamp=True)
    except BadSignature:
        return True
    return (now_utc() - signed_at).total_seconds() < minimum


def _render_step(form: IntakeForm, step: int, status: int = 200, unsaved: bool = False,
                 whole: bool = False):
    """Return the form at `step`: the whole page, or for htmx the step partial alone (the whole
    page all the same with `whole`, as after the language changed).

    With `unsaved`, a note above the form says the answers could not be saved yet and are
    kept; crisis resources are shown with it when the safety answer signals risk.
    """
    form.step.data = str(step)
    template = "intakes/_step.html" if is_htmx() and not whole else "intakes/form.html"
    crisis = unsaved and services.signals_risk(form.safety.data)
    return render_template(template, form=form, step=step, steps=IntakeForm.STEPS,
                           unsaved=unsaved, crisis=crisis), status


def _first_step(started: str):
    """Return the first step of a fresh intake, started at the signed stamp `started`."""
    form = IntakeForm(default_timezone=current_app.config["PRACTICE_TIMEZONE"])
    form.started.data = started
    return _render_step(form, 0)


@bp.get("")
def start():
    """Return the first step of a fresh intake.

    A fresh first step is the same page for everyone but for two values: the browser's form
    token and the signed start stamp. It is rendered once per app, and each later page is
    that one with this browser's two values put in their place.
    """
    started = _stamp().dumps("started")
    if is_htmx() or session.get("_flashes"):
        return _first_step(started)
    token = generate_csrf()
    key = ("blank_intake", i18n.current())
    blank = current_app.extensions.get(key)
    if blank is None:
        page, _status = _first_step(started)
        blank = current_app.extensions[key] = (page, token, started)
    page, first_token, first_started = blank
    return page.replace(first_token, token).replace(first_started, started)


@bp.post("")
@limiter.limit(_rate_limit, methods=["POST"])
def advance():
    """Move the intake a step forward or back, or finish it.

    Each step is validated with every step before it, so nothing is skipped by tampering; an
    error sends the person to the first step with a problem, with what they typed kept.
    """
    form = IntakeForm(default_timezone=current_app.config["PRACTICE_TIMEZONE"])
    step = form.current_step
    if request.form.get("lang") in i18n.LANGUAGES:  # the switch: the same step, answers kept
        session[i18n.KEY] = request.form["lang"]
        refresh()
        return _render_step(IntakeForm(default_timezone=current_app.config[
            "PRACTICE_TIMEZONE"]), step, whole=True)
    if request.form.get("nav") == "back":
        return _render_step(form, max(step - 1, 0))

    bad = form.validate_through(step)
    if bad is not None:
        return _render_step(form, bad, 422)
    if services.signals_risk(form.safety.data):
        intake = services.record_urgent(form.safety.data, form.timezone.data)
        remember(intake)
        return _go(url_for("intakes.support", reference=intake.reference))
    if step < len(IntakeForm.STEPS) - 1:
        return _render_step(form, step + 1)
    if form.website.data or _too_fast(form):
        form.name.errors.append(_("Something went wrong sending the form. Please wait a "
                                  "moment and send it again."))
        form.started.data = _stamp().dumps("started")
        return _render_step(form, step, 422)
    intake = services.submit(form.data, form.safety.data)
    remember(intake)
    return _go(url_for("intakes.match", reference=intake.reference))


def resume_after_expiry():
    """Return the step the person was on, answers kept, asking them to press the button again."""
    form = IntakeForm(default_timezone=current_app.config["PRACTICE_TIMEZONE"])
    form.csrf_token.errors = [_("For your security this page expired. Please press the "
                                "button again: your answers are kept.")]
    return _render_step(form, form.current_step, 422)


def resume_after_unavailable():
    """Return the step the person was on, answers kept, saying nothing was saved yet (503).

    Shown when the database could not be reached or locked; it needs no database itself.
    """
    form = IntakeForm(default_timezone=current_app.config["PRACTICE_TIMEZONE"])
    return _render_step(form, form.current_step, 503, unsaved=True)


def _go(url: str):
    """Return a 303 to `url`; htmx is asked to load it as a full page."""
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


@bp.route("/<reference>/support", methods=["GET", "POST"])
def support(reference: str):
    """Return crisis resources; optionally take a name and number for a call back."""
    intake = intake_or_404(reference)
    form = UrgentContactForm()
    saved = False
    if form.validate_on_submit():
        services.add_urgent_contact(intake, form.name.data, form.phone.data)
        saved = True
    status = 422 if form.errors else 200
    return render_template("intakes/support.html", form=form, saved=saved), status


@bp.get("/<reference>/match")
def match(reference: str):
    """Return the best-fitting therapists with reasons and each one's next open times; once
    the intake holds a consultation, that instead."""
    intake = intake_or_404(reference)
    if (support := support_instead(intake)) is not None:
        return support
    if (booked := booked_instead(intake)) is not None:
        return booked
    now = now_utc()
    matched = matches_for(intake, now.date())
    # The first times shown are those at the times the person asked for, when there are any.
    upcoming = upcoming_times([therapist for therapist, _ in matched], now)
    wishes = set(intake.preferred_times or ())
    own_zone = intake.timezone or "UTC"
    found = []
    for therapist, match in matched:
        shown = preferred_first(upcoming[therapist.id], wishes, own_zone, 3)
        found.append((therapist, match, shown,
                      bool(shown) and bool(wishes) and wished(shown[0], wishes, own_zone)))
    return render_template("intakes/match.html", intake=intake, found=found,
                           zone=zone_or(request.args.get("tz"), own_zone))


@bp.post("/<reference>/contact")
def contact(reference: str):
    """Record that the person would like the practice to contact them; confirm it kindly."""
    intake = intake_or_404(reference)
    services.request_contact(intake)
    return render_template("intakes/contact_requested.html", intake=intake)


@bp.get("/choose-again/<token>")
def again(token: str):
    """Open the signed link from an email: this browser may continue that intake."""
    intake = links.record_for(links.REBOOK, token, Intake)
    if intake is None or intake.purged_at is not None:
        return render_template("intakes/link_invalid.html"), 404
    remember(intake)
    return redirect(url_for("intakes.match", reference=intake.reference), 303)


@bp.get("/choose-instead/<token>")
def instead(token: str):
    """Open the link from an offer email: choose another time in place of the held one (an
    intake holds one time at most, so booking another withdraws it)."""
    appointment = links.record_for(links.INSTEAD, token, Appointment)
    if appointment is None or appointment.intake.purged_at is not None:
        return render_template("intakes/link_invalid.html"), 404
    intake = appointment.intake
    remember(intake)
    return redirect(url_for("intakes.match", reference=intake.reference), 303)
