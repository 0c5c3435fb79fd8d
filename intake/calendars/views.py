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
    response.cache_control.private = True
    response.cache_control.max_age = 0
    return response.make_conditional(request)


def _own(slug: str) -> Therapist:
    therapist = db.first_or_404(sa.select(Therapist).where(Therapist.slug == slug))
    if current_user.role == THERAPIST and current_user.therapist_id != therapist.id:
        abort(404)
    return therapist


@bp.route("/staff/therapists/<slug>/calendar", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def settings(slug: str):
    """Return the feed's address (https and webcal); rotate it or change invite emails."""
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
        return redirect(url_for("feeds.settings", slug=slug), 303)
    token = feeds.token_of(therapist)
    url = current_app.config["BASE_URL"] + url_for("feeds.feed", token=token) if token else None
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return render_template("therapists/calendar.html", therapist=therapist, form=form,
                           feed_url=url, webcal_url=webcal)
