"""Wiring the web layer: extensions, blueprints, headers, error pages, template helpers."""

from __future__ import annotations

from flask import Flask, current_app, make_response, render_template, request
from flask import Request as FlaskRequest
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from werkzeug.exceptions import HTTPException, ServiceUnavailable
from werkzeug.middleware.proxy_fix import ProxyFix

from . import (
    formatting,
    i18n,
    logs,
    models,  # noqa: F401  (every table known to migrations)
)
from .appointments import views as appointments
from .appointments.manage import bp as manage_bp
from .appointments.offers import bp as offers_bp
from .calendars.views import bp as feeds_bp
from .cli import register
from .couples.views import bp as couples_bp
from .database import install_idle_ping, install_sqlite_locking, keep_sqlite_private
from .extensions import csrf, db, limiter, mail, migrate
from .forms import zone_options
from .htmx import is_htmx, is_poll
from .intakes import views as intakes
from .mail.views import bp as mail_bp
from .pages import bp as pages_bp
from .privacy.views import bp as records_bp
from .staff.admin import bp as admin_bp
from .staff.auth import bp as auth_bp
from .staff.auth import init_login
from .staff.desk import bp as desk_bp
from .staff.week import bp as week_bp
from .therapists.services import PHOTO_MAX
from .therapists.views import bp as therapists_bp
from .waitlist.desk import bp as waitlist_desk_bp
from .waitlist.views import bp as waitlist_bp

# Routes that take more than MAX_CONTENT_LENGTH: the profile form carries a photo of up to
# PHOTO_MAX (as the form says), with room for the other fields.
LARGER_BODIES = {"therapists.edit": PHOTO_MAX + 512 * 1024}


class Request(FlaskRequest):
    """A request whose size limit follows its route, known before anything (the CSRF check
    first) reads the body."""

    @property
    def max_content_length(self) -> int | None:
        endpoint = self.url_rule.endpoint if self.url_rule else None
        return LARGER_BODIES.get(endpoint) or super().max_content_length


def init_app(app: Flask) -> None:
    """Bind extensions, register blueprints, CLI commands, headers and error handlers."""
    app.request_class = Request
    db.init_app(app)
    with app.app_context():
        keep_sqlite_private(db.engine)
        install_sqlite_locking(db.engine, app.config["DATABASE_BUSY_SECONDS"])
        install_idle_ping(db.engine)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"))
    csrf.init_app(app)
    mail.init_app(app)
    limiter.init_app(app)
    # Every limit here is on its own view, checked by that view's decorator; with no limit for
    # all requests, the limiter's check before every request (when enabled) finds nothing, at
    # the cost of a whole bare request.
    checks = app.before_request_funcs.get(None, [])
    if limiter._check_request_limit in checks:
        checks.remove(limiter._check_request_limit)
    if app.config["PROXY_FIX"]:
        hops = app.config["PROXY_FIX"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    i18n.init(app)
    app.register_blueprint(pages_bp)
    app.register_blueprint(intakes.bp)
    app.register_blueprint(appointments.bp)
    app.register_blueprint(offers_bp)
    app.register_blueprint(manage_bp)
    app.register_blueprint(waitlist_bp)
    app.register_blueprint(couples_bp)
    app.register_blueprint(feeds_bp)
    init_login(app)
    app.register_blueprint(auth_bp)
    app.register_blueprint(desk_bp)
    app.register_blueprint(week_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(therapists_bp)
    app.register_blueprint(waitlist_desk_bp)
    app.register_blueprint(records_bp)
    if app.config["DEV_INBOX"]:
        app.register_blueprint(mail_bp)
    register(app)

    logs.install()
    formatting.register(app)
    app.add_template_global(zone_options)
    app.extensions["protective_headers"] = _protective_headers(app.config["HTMX_URL"])
    app.after_request(_security_headers)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.register_error_handler(PoolTimeout, _database_unavailable)


def _protective_headers(htmx_src: str) -> list[tuple[str, str]]:
    """Return the headers every answer carries: CSP and the other protective ones."""
    return [
        ("Content-Security-Policy",
         "default-src 'self'; "
         f"script-src 'self' {htmx_src}; "
         "style-src 'self'; img-src 'self' data:; "
         "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"),
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "same-origin"),
        ("X-Frame-Options", "DENY"),
        ("Permissions-Policy", "camera=(), microphone=(), geolocation=()"),
    ]


def _security_headers(response):
    """Add CSP and the other protective headers; keep health information out of caches."""
    headers = response.headers
    for name, value in current_app.extensions["protective_headers"]:
        headers[name] = value
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if "Cache-Control" not in headers and not request.path.startswith("/static/"):
        headers["Cache-Control"] = "no-store"
    response.vary.add("HX-Request")
    return response


def _csrf_error(error: CSRFError):
    """Answer an expired or missing form token kindly.

    An intake step is shown again with everything the person typed and a fresh token, so a
    slow intake loses nothing; other forms get a page with a way back.
    """
    if request.endpoint == "intakes.advance":
        return intakes.resume_after_expiry()
    return render_template("errors/csrf.html", reason=error.description), 400


def _http_error(error: HTTPException):
    """Render HTTP errors as the product's own pages, not Werkzeug's.

    For htmx the message alone replaces the page's main content, so a refused request is never
    silent.
    """
    if error.code is None or error.code < 400:
        return error
    if is_poll():  # a page part refreshing itself: leave it as it is, and it asks again
        return "", 204
    if is_htmx():
        body = render_template("errors/_message.html", error=error)
        return body, error.code, {"HX-Retarget": "#main", "HX-Reswap": "innerHTML"}
    return render_template("errors/error.html", error=error), error.code


RETRY_AFTER_SECONDS = 30


def cannot_reach_database(error: BaseException) -> bool:
    """Return True when `error` means the database can't be reached or locked just now.

    That is an OperationalError (a refused or dropped connection, SQLite's "database is
    locked"), any driver error that invalidated its connection, or no free connection in the
    pool. Other database errors (a broken constraint, a bug) are not.
    """
    if isinstance(error, PoolTimeout):
        return True
    if not isinstance(error, DBAPIError):
        return False
    return error.connection_invalidated or isinstance(error, OperationalError)


def _rollback() -> None:
    """End the failed transaction; a connection already gone is replaced at the next checkout."""
    try:
        db.session.rollback()
    except SQLAlchemyError:
        current_app.logger.warning("rolling back after a database error failed too")


def _database_unavailable(error: Exception):
    """Answer 503 with Retry-After when the database is busy or gone, never a 500.

    A form being sent (an intake step, a booking) comes back with everything the person typed
    and its idempotency key, so sending it again is safe; anything else gets a calm page. If
    even the form can't be shown without the database, the calm page is shown instead.
    """
    if not cannot_reach_database(error):
        raise error  # not an outage: Flask answers it as before
    cause = getattr(error, "orig", None) or error
    # The driver's own message only: SQLAlchemy's would include the statement's parameters.
    current_app.logger.warning("database unavailable on %s: %s: %s", request.endpoint,
                               type(cause).__name__, str(cause).strip().split("\n")[0])
    _rollback()
    if is_poll():
        return "", 204
    response = None
    resume = _resume_unsaved(request.endpoint)
    if resume is not None:
        try:
            response = make_response(resume())
        except (DBAPIError, PoolTimeout) as again:
            if not cannot_reach_database(again):
                raise
            _rollback()
    if response is None:
        response = make_response(_http_error(ServiceUnavailable()))
    response.status_code = 503
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _resume_unsaved(endpoint: str | None):
    """Return the view function that shows an unsaved form again, for endpoints that have one."""
    return {"intakes.advance": intakes.resume_after_unavailable,
            "appointments.book": appointments.resume_after_unavailable}.get(endpoint or "")
