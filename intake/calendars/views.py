"""The subscription feed itself: a therapist's consultations at a secret address."""

from __future__ import annotations

from flask import Blueprint, Response, current_app, request
from werkzeug.http import is_resource_modified

from ..extensions import limiter
from . import feeds

bp = Blueprint("feeds", __name__)


@bp.get("/feeds/<token>.ics")
@limiter.limit(lambda: current_app.config["FEED_RATE_LIMIT"])
def feed(token: str):
    """Return the therapist's calendar feed (no login: the token is the secret)."""
    version = feeds.version_for(token)
    if version is None:
        return Response("Not found\n", status=404, mimetype="text/plain")
    response = Response(mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="consultations.ics"'
    response.set_etag(version.etag)
    response.last_modified = version.changed
    # Calendar servers may keep it, but must ask again (with its ETag) before using it.
    response.cache_control.private = True
    response.cache_control.no_cache = True
    if not is_resource_modified(request.environ, etag=version.etag,
                                last_modified=version.changed):
        response.status_code = 304  # decided without building the feed
        return response
    response.set_data(feeds.feed_for(version.therapist_id))
    return response
