"""The practice's public pages: the start page, privacy notice and crisis help."""

from flask import Blueprint, render_template

bp = Blueprint("pages", __name__)


@bp.get("/")
def home():
    """Return the start page that the practice links to."""
    return render_template("pages/home.html")


@bp.get("/privacy")
def privacy():
    """Return the privacy notice the intake asks people to accept."""
    return render_template("pages/privacy.html")


@bp.get("/help-now")
def help_now():
    """Return crisis resources, reachable from every page."""
    return render_template("pages/help_now.html")


@bp.get("/healthz")
def healthz():
    """Return a plain OK for load balancers."""
    return {"status": "ok"}
