"""The subscription feed itself: a therapist's consultations at a secret address."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request

from ..extensions import limiter
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
