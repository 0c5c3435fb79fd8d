"""The feed URL itself, and the therapist's page that shows, copies and rotates it."""

from __future__ import annotations

import sqlalchemy as sa
from flask import (
    Blueprint,
    Response,
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

from ..database import unit_of_work
from ..extensions import db, limiter
from ..scheduling import imports
from ..staff.auth import role_required
from ..staff.models import ADMIN, THERAPIST
from ..therapists.models import Therapist
from . import feeds

bp = Blueprint("feeds", __name__)


@bp.get("/feeds/<token>.ics")
@limiter.limit(lambda: current_app.config["FEED_RATE_LIMIT"])
def feed(token: str):
    """Return the therapist's calendar feed (no login: the token is the secret)."""
    therapist = feeds.therapist_for(token)
    if therapist is None:
        return Response("Not found\n", status=404, mimetype="text/plain")
    body, changed = feeds.feed_for(therapist)
    response = Response(body, mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="consultations.ics"'
    response.last_modified = changed
    response.add_etag()
    # Calendar servers may keep it, but must ask again (with its ETag) before using it.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    return response.make_conditional(request)


def _own(slug: str) -> Therapist:
    therapist = db.first_or_404(sa.select(Therapist).where(Therapist.slug == slug))
    if current_user.role == THERAPIST and current_user.therapist_id != therapist.id:
        abort(404)
    return therapist


@bp.route("/staff/therapists/<slug>/calendar", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def settings(slug: str):
    """Return the calendars page; rotate the feed, change invite emails, or connect, read and
    remove the therapist's own calendars."""
    therapist = _own(slug)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("action") == "rotate":
            feeds.rotate(therapist.id, current_user.id)
            flash("You have a new feed address. The old one no longer works: update your "
                  "calendar app.", "info")
        elif request.form.get("action") == "emails":
            with unit_of_work() as session:
                session.get(Therapist, therapist.id).invite_emails = \
                    request.form.get("invite_emails") == "y"
            flash("Saved.", "info")
        else:
            problem = _calendar_action(therapist)
            if problem is not None:
                return _page(therapist, form, problem), 422
        return redirect(url_for("feeds.settings", slug=slug), 303)
    return _page(therapist, form)


def _calendar_action(therapist: Therapist) -> dict | None:
    """Connect, read or remove one of the therapist's own calendars; return form errors."""
    action = request.form.get("action")
    try:
        if action == "connect":
            imports.connect(therapist.id, request.form.get("kind", ""),
                            request.form.get("url", ""), request.form.get("username", ""),
                            request.form.get("password", ""), current_user.id)
            flash("Connected. We're reading it now; its busy times appear here in a minute.",
                  "info")
        elif action in ("sync", "disconnect"):
            calendar_id = request.form.get("calendar_id", type=int)
            if calendar_id not in {c.id for c in imports.calendars_of(therapist.id)}:
                abort(404)
            if action == "sync":
                imports.request_read(therapist.id, calendar_id)
                flash("We'll read it again in a moment.", "info")
            else:
                imports.disconnect(therapist.id, calendar_id, current_user.id)
                flash("Removed, with the busy times read from it.", "info")
    except imports.ImportProblem as problem:
        return {"url": problem.message, "kind": request.form.get("kind", ""),
                "value": request.form.get("url", ""),
                "username": request.form.get("username", "")}
    return None


def _page(therapist: Therapist, form: FlaskForm, problem: dict | None = None):
    """Return the calendars page: the feed out, and the calendars read in."""
    token = feeds.token_of(therapist)
    url = current_app.config["BASE_URL"] + url_for("feeds.feed", token=token) if token else None
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return render_template("therapists/calendar.html", therapist=therapist, form=form,
                           feed_url=url, webcal_url=webcal, problem=problem or {},
                           calendars=imports.calendars_of(therapist.id))
