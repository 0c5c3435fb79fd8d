"""Therapist pages for staff: the profile, weekly hours and rules, time off, calendars; and
the photo clients see."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

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

from ..calendars import busy, feeds
from ..extensions import db
from ..staff.auth import role_required
from ..staff.models import ADMIN, THERAPIST
from . import services
from .access import editable_or_404, therapist_or_404
from .forms import DAYS, RANGES_PER_DAY, HoursForm, ProfileForm, TimeOffForm
from .models import Therapist

bp = Blueprint("therapists", __name__)


@bp.get("/staff/therapists")
@role_required(ADMIN)
def index():
    """Return every therapist, with links to their settings."""
    therapists = db.session.scalars(sa.select(Therapist).order_by(Therapist.name)).all()
    return render_template("therapists/index.html", therapists=therapists)


@bp.route("/staff/therapists/<slug>", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def edit(slug: str):
    """Return the profile form; save it when posted."""
    therapist = editable_or_404(slug)
    form = ProfileForm(obj=therapist if request.method == "GET" else None)
    if form.validate_on_submit():
        upload = request.files.get("photo")
        data = upload.read(services.PHOTO_MAX + 1) if upload and upload.filename else None
        values = {key: form[key].data for key in services.PROFILE_FIELDS}
        try:
            services.update_profile(therapist.id, values, data, current_user.id,
                                    remove_photo=form.remove_photo.data)
        except services.ChangeError as exc:
            form[exc.field or "name"].errors.append(exc.message)
        else:
            flash("Profile saved.", "info")
            return redirect(url_for("therapists.edit", slug=slug), 303)
    status = 422 if request.method == "POST" else 200
    return render_template("therapists/profile.html", therapist=therapist, form=form), status


def _ranges(form: HoursForm) -> tuple[list, list[str]]:
    """Return the (weekday, start, end) ranges filled in, and errors for half-filled ones."""
    ranges, errors = [], []
    for day in range(7):
        for slot in range(RANGES_PER_DAY):
            start, end = form[f"d{day}s{slot}"].data, form[f"d{day}e{slot}"].data
            if start and end:
                ranges.append((day, start, end))
            elif start or end:
                errors.append(f"{DAYS[day]}: give both a start and an end, or neither.")
    return ranges, errors


def _hours_form(therapist: Therapist) -> HoursForm:
    """Return the hours form filled from the therapist's current hours and rules."""
    form = HoursForm(obj=therapist)
    by_day: dict[int, list] = {}
    for item in therapist.hours:
        by_day.setdefault(item.weekday, []).append(item)
    for day, items in by_day.items():
        for slot, item in enumerate(items[:RANGES_PER_DAY]):
            form[f"d{day}s{slot}"].data = item.starts
            form[f"d{day}e{slot}"].data = item.ends
    return form


@bp.route("/staff/therapists/<slug>/hours", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def hours(slug: str):
    """Return the weekly hours and rules; save them, warning first about stranded bookings."""
    therapist = editable_or_404(slug)
    if request.method == "GET":
        return render_template("therapists/hours.html", therapist=therapist,
                               form=_hours_form(therapist), days=DAYS, per_day=RANGES_PER_DAY,
                               day_errors={}, stranded=[])
    form = HoursForm()
    ranges, half = _ranges(form)
    day_errors: dict[str, list[str]] = {}
    stranded = []
    if form.validate_on_submit() and not half:
        rules = {key: form[key].data for key in services.RULE_FIELDS}
        try:
            services.set_hours(therapist.id, ranges, rules, current_user.id,
                               accept_stranded=request.form.get("accept_stranded") == "yes")
        except services.ChangeError as exc:
            target = form._fields.get(exc.field)
            if target is not None:
                target.errors = [*target.errors, exc.message]
            else:
                day_errors.setdefault(exc.field, []).append(exc.message)
        except services.Stranded as exc:
            stranded = exc.appointments
        else:
            flash("Hours saved. Open times for clients have changed.", "info")
            return redirect(url_for("therapists.hours", slug=slug), 303)
    if half:
        day_errors["ranges"] = half
    return render_template("therapists/hours.html", therapist=therapist, form=form, days=DAYS,
                           per_day=RANGES_PER_DAY, day_errors=day_errors,
                           stranded=stranded), 409 if stranded else 422


def _local(value: datetime | None, zone: str) -> datetime | None:
    """Return a wall-clock datetime from a form as an aware datetime in `zone` (None stays None)."""
    return value.replace(tzinfo=ZoneInfo(zone)) if value else None


@bp.route("/staff/therapists/<slug>/time-off", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def time_off(slug: str):
    """Return the time off list with a form to add more."""
    therapist = editable_or_404(slug)
    form = TimeOffForm()
    stranded = []
    status = 200
    if form.validate_on_submit():
        try:
            services.add_time_off(
                therapist.id, _local(form.starts.data, therapist.timezone),
                _local(form.ends.data, therapist.timezone), form.note.data or "",
                current_user.id, accept_stranded=request.form.get("accept_stranded") == "yes")
        except services.ChangeError as exc:
            form[exc.field or "ends"].errors.append(exc.message)
            status = 422
        except services.Stranded as exc:
            stranded = exc.appointments
            status = 409
        else:
            flash("Time off added. Those times are no longer offered.", "info")
            return redirect(url_for("therapists.time_off", slug=slug), 303)
    elif request.method == "POST":
        status = 422
    return render_template("therapists/time_off.html", therapist=therapist, form=form,
                           periods=services.upcoming_time_off(therapist.id),
                           stranded=stranded), status


@bp.post("/staff/therapists/<slug>/time-off/<int:time_off_id>/delete")
@role_required(ADMIN, THERAPIST)
def delete_time_off(slug: str, time_off_id: int):
    """Remove a period of time off."""
    therapist = editable_or_404(slug)
    if not FlaskForm().validate_on_submit():
        abort(400)
    try:
        services.remove_time_off(therapist.id, time_off_id, current_user.id)
    except services.ChangeError as exc:
        flash(exc.message, "error")
    else:
        flash("Time off removed.", "info")
    return redirect(url_for("therapists.time_off", slug=slug), 303)


@bp.route("/staff/therapists/<slug>/calendar", methods=["GET", "POST"])
@role_required(ADMIN, THERAPIST)
def calendars(slug: str):
    """Return the calendars page; rotate the feed, change invite emails, or connect, read and
    remove the therapist's own calendars."""
    therapist = editable_or_404(slug)
    form = FlaskForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        if request.form.get("action") == "rotate":
            feeds.rotate(therapist.id, current_user.id)
            flash("You have a new feed address. The old one no longer works: update your "
                  "calendar app.", "info")
        elif request.form.get("action") == "emails":
            services.set_invite_emails(therapist.id, request.form.get("invite_emails") == "y",
                                       current_user.id)
            flash("Saved.", "info")
        else:
            problem = _calendar_action(therapist)
            if problem is not None:
                return _calendars_page(therapist, form, problem), 422
        return redirect(url_for("therapists.calendars", slug=slug), 303)
    return _calendars_page(therapist, form)


def _calendar_action(therapist: Therapist) -> dict | None:
    """Connect, read or remove one of the therapist's own calendars; return form errors."""
    action = request.form.get("action")
    try:
        if action == "connect":
            busy.connect(therapist.id, request.form.get("kind", ""),
                         request.form.get("url", ""), request.form.get("username", ""),
                         request.form.get("password", ""), current_user.id)
            flash("Connected. We're reading it now; its busy times appear here in a minute.",
                  "info")
        elif action in ("sync", "disconnect"):
            calendar_id = request.form.get("calendar_id", type=int)
            if calendar_id not in {c.id for c in busy.calendars_of(therapist.id)}:
                abort(404)
            if action == "sync":
                busy.request_read(therapist.id, calendar_id)
                flash("We'll read it again in a moment.", "info")
            else:
                busy.disconnect(therapist.id, calendar_id, current_user.id)
                flash("Removed, with the busy times read from it.", "info")
    except busy.CalendarProblem as problem:
        return {"url": problem.message, "kind": request.form.get("kind", ""),
                "value": request.form.get("url", ""),
                "username": request.form.get("username", "")}
    return None


def _calendars_page(therapist: Therapist, form: FlaskForm, problem: dict | None = None):
    """Return the calendars page: the feed out, and the calendars read in."""
    token = feeds.token_of(therapist)
    url = current_app.config["BASE_URL"] + url_for("feeds.feed", token=token) if token else None
    webcal = "webcal://" + url.split("://", 1)[1] if url else None
    return render_template("therapists/calendar.html", therapist=therapist, form=form,
                           feed_url=url, webcal_url=webcal, problem=problem or {},
                           calendars=busy.calendars_of(therapist.id))


@bp.get("/therapists/<slug>/photo")
def photo(slug: str):
    """Return a therapist's photo (public: it is shown to clients on the match page)."""
    therapist = therapist_or_404(slug, sa.orm.undefer(Therapist.photo))
    if not therapist.photo:
        abort(404)
    response = Response(therapist.photo, mimetype=therapist.photo_type)
    response.headers["Content-Disposition"] = "inline"
    return response
