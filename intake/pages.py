"""The practice's public pages: the start page, privacy notice and crisis help."""

import sqlalchemy as sa
from flask import Blueprint, Response, current_app, render_template, session
from sqlalchemy.exc import SQLAlchemyError

from . import i18n
from .extensions import db
from .formatting import accent_colours
from .health import mail_health

bp = Blueprint("pages", __name__)


def _same_for_everyone(template: str) -> str:
    """Return a page that holds nothing personal, rendered once per app and language and then
    reused (rendered afresh when a message is waiting to be shown)."""
    if session.get("_flashes"):
        return render_template(template)
    rendered = current_app.extensions.setdefault("rendered_pages", {})
    key = (template, i18n.current())
    if key not in rendered:
        rendered[key] = render_template(template)
    return rendered[key]


@bp.get("/practice.css")
def practice_css():
    """Return the practice's own colours as CSS variables, over the stylesheet's (a file of
    this site, as the content security policy asks)."""
    colours = accent_colours(current_app.config["PRACTICE_ACCENT"])
    body = f":root {{ --accent: {colours['accent']}; --accent-soft: {colours['soft']}; }}\n"
    return Response(body, mimetype="text/css",
                    headers={"Cache-Control": "public, max-age=3600"})


@bp.get("/")
def home():
    """Return the start page that the practice links to."""
    return _same_for_everyone("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Return the privacy notice the intake asks people to accept."""
    return _same_for_everyone("pages/privacy.html")


@bp.get("/help-now")
def help_now():
    """Return crisis resources, reachable from every page."""
    return _same_for_everyone("pages/help_now.html")


@bp.get("/healthz")
def healthz():
    """Return the database's, the worker's and the mail queue's state for a monitor.

    503 when the database cannot be reached, when an email has waited longer than
    MAIL_STUCK_MINUTES, or when a worker that used to run has gone quiet; 200 otherwise
    ("attention" when some email failed or a job is failing, for staff to look at).
    """
    try:
        db.session.execute(sa.text("SELECT 1"))
        health = mail_health()
    except SQLAlchemyError:
        db.session.rollback()
        return {"status": "down", "database": "unreachable"}, 503, {"Retry-After": "30"}
    body = {
        "status": health.status,
        "database": "ok",
        "worker": {"last_pass_seconds_ago": health.seconds_since(health.last_pass_at),
                   "failing_jobs": [name for name, _ in health.failing_jobs]},
        "mail": {"oldest_waiting_seconds": health.seconds_since(health.oldest_due_at),
                 "failed": health.failed},
    }
    return body, 503 if health.status == "stuck" else 200
