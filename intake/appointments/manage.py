"""The client's own appointment page, reached from the signed link in every email."""

from __future__ import annotations

from dataclasses import dataclass, replace
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_wtf import FlaskForm

from .. import links
from ..calendars.invites import build_calendar_file, calendar_links
from ..choices import FORMATS, TELEHEALTH
from ..clock import now_utc
from ..couples.invitations import joined_partner, partner_of
from ..couples.models import Partner
from ..extensions import db
from ..forms import parse_start
from ..htmx import is_htmx
from ..scheduling.services import week_of_times
from ..scheduling.weeks import monday_of, one_day
from . import services
from .models import ACTIVE_STATUSES, Appointment

bp = Blueprint("manage", __name__, url_prefix="/manage")


@dataclass(frozen=True)
class Viewer:
    """Who opened the page: the client, or a couple's partner with their own link."""

    partner: Partner | None = None

    @property
    def role(self) -> str:
        """Return "partner" or "client", as the lifecycle names who asked for a change."""
        return services.PARTNER if self.partner else services.CLIENT

    def zone(self, appointment: Appointment) -> str:
        """Return the zone this person reads times in."""
        return (self.partner.timezone if self.partner else "") or appointment.client_timezone


def _load(token: str) -> tuple[Appointment | None, int, str, Viewer]:
    """Return (appointment, link version, problem, viewer) for a client's or a partner's
    manage token. A partner's link works only while they are part of the consultation."""
    viewer = Viewer()
    found = links.read_manage(token)
    if found is None and (found := links.read_manage(token, partner=True)) is not None:
        appointment = db.session.get(Appointment, found[0])
        partner = appointment and joined_partner(db.session, appointment.intake_id)
        if partner is None:
            return None, 0, "invalid", viewer
        viewer = Viewer(partner)
    if found is None:
        return None, 0, "invalid", viewer
    appointment = db.session.get(Appointment, found[0])
    if appointment is None or appointment.intake.purged_at is not None:
        return None, 0, "invalid", viewer
    if appointment.link_version != found[1]:
        return appointment, found[1], "outdated", viewer
    return appointment, found[1], "", viewer


def _problem_page(problem: str, appointment: Appointment | None):
    """Return the kind page for a link that cannot be used."""
    return render_template("manage/problem.html", problem=problem,
                           appointment=appointment), 404 if problem == "invalid" else 410


def calendar_choices(appointment: Appointment, token: str | None = None) -> dict[str, str]:
    """Return where the client can add the appointment: Google's and Outlook's filled-in "new
    event" pages ("google", "outlook"; never with the video room's address) and the .ics file
    ("ics") behind the manage link."""
    data = services.invite_data(appointment, services.client_summary(appointment))
    if data.conference:  # the video room stays out of other companies' addresses and logs
        data = replace(data, conference="", location=_(
            "%(how)s: the link is in your email", how=_(FORMATS[TELEHEALTH])),
            description=data.description.replace(services.join_line(data.conference) + "\n",
                                                  ""))
    return {**calendar_links(data), "ics": url_for(
        "manage.calendar_file", token=token or links.manage_token(appointment))}


def _page(token: str, appointment: Appointment, viewer: Viewer, **extra):
    now = now_utc()
    return render_template(
        "manage/show.html", token=token, appointment=appointment, viewer=viewer,
        together=_together(appointment, viewer),
        zone=viewer.zone(appointment), form=FlaskForm(),
        active=appointment.status in ACTIVE_STATUSES and appointment.starts_at > now,
        inside_window=services.inside_window(appointment, now),
        window_hours=current_app.config["CANCELLATION_WINDOW_HOURS"],
        location=services.location_of(appointment),
        join_url=services.join_link(appointment),
        add_to=calendar_choices(appointment, token), **extra)


def _together(appointment: Appointment, viewer: Viewer) -> Partner | None:
    """Return the couple's partner when the consultation is a couple's whose partner was
    invited (a new time is then agreed by the front desk), else None. For the first partner
    this never depends on what the partner answered, or whether they answered at all."""
    return viewer.partner or partner_of(db.session, appointment.intake_id)


@bp.get("/<token>")
def show(token: str):
    """Return the appointment in the reader's zone with the choices the practice allows."""
    appointment, _, problem, viewer = _load(token)
    if problem:
        return _problem_page(problem, appointment)
    return _page(token, appointment, viewer)


@bp.get("/<token>/calendar.ics")
def calendar_file(token: str):
    """Return the appointment as an .ics file to add to a calendar (same UID as the invites)."""
    appointment, _, problem, _ = _load(token)
    if problem:
        return _problem_page(problem, appointment)
    body = build_calendar_file(services.invite_data(appointment,
                                                    services.client_summary(appointment)))
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="consultation.ics"'})


@bp.post("/<token>/cancel")
def cancel(token: str):
    """Cancel outside the window; inside it, pass the wish to the front desk. Either of a
    couple may cancel; both are told."""
    appointment, version, problem, viewer = _load(token)
    if problem:
        return _problem_page(problem, appointment)
    if not FlaskForm().validate_on_submit():
        return _page(token, appointment, viewer, message=_("Please try again.")), 400
    together = _together(appointment, viewer)
    try:
        if not services.cancel_or_ask_desk(appointment.id, version, by=viewer.role):
            return _page(token, appointment, viewer, requested="cancel")
    except services.BookingError as exc:
        return _page(token, appointment, viewer, message=exc.message), 409
    return render_template("manage/cancelled.html", appointment=appointment, viewer=viewer,
                           zone=viewer.zone(appointment), together=together,
                           rebook_url=None if viewer.partner else links.rebook_url(
                               appointment.intake_id, external=False))


@bp.route("/<token>/reschedule", methods=["GET", "POST"])
def reschedule(token: str):
    """Show open times of the same therapist; move the appointment to the one chosen. Inside
    the window, and for a couple both on it (the new time is agreed with the other by the
    front desk), the wish goes to the front desk instead."""
    appointment, version, problem, viewer = _load(token)
    if problem:
        return _problem_page(problem, appointment)
    if services.inside_window(appointment) or _together(appointment, viewer):
        if request.method == "POST" and FlaskForm().validate_on_submit():
            services.request_change(appointment.id, version, "reschedule", by=viewer.role)
            return _page(token, appointment, viewer, requested="reschedule")
        return _page(token, appointment, viewer)
    zone = appointment.client_timezone
    now = now_utc()
    if request.method == "POST":
        form = FlaskForm()
        starts_at = parse_start(request.form.get("start"))
        if not form.validate_on_submit() or starts_at is None:
            return _page(token, appointment, viewer,
                         message=_("Please choose one of the open times.")), 422
        try:
            moved = services.reschedule(appointment.id, version, starts_at)
        except services.BookingError as exc:
            return _page(token, appointment, viewer, message=exc.message), 409
        return redirect(links.manage_url(moved, external=False, moved=1), 303)
    monday = monday_of(request.args.get("week"),
                       appointment.starts_at.astimezone(ZoneInfo(zone)).date())
    week = week_of_times(appointment.therapist, zone, monday, now,
                         ignore=appointment.id, leave_out=appointment.starts_at)
    context = {
        "week": week, "zone": zone, "appointment": appointment, "token": token,
        "therapist": appointment.therapist, "form": FlaskForm(),
        "day": one_day(week, zone, request.args.get("day")),
        "day_href": lambda d: url_for("manage.reschedule", token=token,
                                      week=monday.isoformat(), day=d.isoformat()),
        "week_href": lambda d: url_for("manage.reschedule", token=token, week=d.isoformat()),
    }
    if is_htmx():
        return render_template("manage/_week.html", **context)
    return render_template("manage/reschedule.html", **context)
