"""The languages clients read: English and Spanish (Flask-Babel).

A client's pages are in the language they chose with the switch on every page (kept in their
session), else the first their browser asks for that we have. Staff pages stay in English.
The emails, reminders and invites of an intake go out in the language it asked for sessions in,
when we have it, else English.
"""

from __future__ import annotations

from flask import Blueprint, Flask, has_request_context, redirect, request, session
from flask_babel import Babel, get_locale, gettext

from .choices import LANGUAGE_NAMES
from .matching import Match, describe
from .redirects import same_site

LANGUAGES = {"en": "English", "es": "Español"}
DEFAULT = "en"
KEY = "lang"
# Pages only staff see: always in English.
STAFF = {"auth", "desk", "week", "admin", "therapists", "waitlist_desk", "dev_mail", "records"}

babel = Babel()
bp = Blueprint("language", __name__)


def select_locale() -> str:
    """Return the language of this request's page (see the module's docstring); English
    outside a request (the worker writes each email in its reader's language itself)."""
    if not has_request_context() or request.blueprint in STAFF:
        return DEFAULT
    chosen = session.get(KEY)
    if chosen in LANGUAGES:
        return chosen
    return request.accept_languages.best_match(list(LANGUAGES)) or DEFAULT


def current() -> str:
    """Return the language code in use ("en" or "es"): the page's, or an email's while it is
    composed in its reader's language."""
    locale = get_locale()
    return locale.language if locale is not None and locale.language in LANGUAGES else DEFAULT


def for_intake(intake) -> str:
    """Return the language an intake's emails and invites are written in: the one it asked
    for sessions in, when we have it, else English."""
    language = getattr(intake, "language", "") or ""
    return language if language in LANGUAGES else DEFAULT


def explain(match: Match) -> list[str]:
    """Return why a therapist fits, in the page's language."""
    return describe(match.because, gettext)


@bp.get("/language/<code>")
def choose(code: str):
    """Remember the language chosen with the switch, and go back to the page it was on."""
    if code in LANGUAGES:
        session[KEY] = code
    return redirect(same_site(request.args.get("next")) or "/", 303)


def init(app: Flask) -> None:
    """Bind Flask-Babel (catalogues in intake/translations) and the switch."""
    babel.init_app(app, locale_selector=select_locale, default_locale=DEFAULT)
    app.jinja_env.policies["ext.i18n.trimmed"] = True
    app.register_blueprint(bp)
    app.add_template_global(explain)

    @app.context_processor
    def languages():
        return {"languages": LANGUAGES, "lang": current(), "language_names": LANGUAGE_NAMES}
