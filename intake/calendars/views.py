"""The subscription feed itself: a therapist's consultations at a secret address."""

from __future__ import annotations

import math

from flask import Blueprint, Response, current_app, request
from limits import parse
from werkzeug.http import is_resource_modified

from ..clock import now_utc
from ..extensions import address_key, limiter
from . import feeds

bp = Blueprint("feeds", __name__)


@bp.get("/feeds/<token>.ics")
def feed(token: str):
    """Return the therapist's calendar feed (no login: the token is the secret)."""
    version = feeds.version_for(token)
    if version is None:
        return _not_found()
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


def _not_found() -> Response:
    """Return a plain 404 for a feed address that opens nothing, or 429 (with Retry-After)
    once the asking address has tried FEED_RATE_LIMIT of them.

    Only addresses that open nothing are counted: a calendar service fetching many
    therapists' feeds from one address is never refused, and guessing is.
    """
    if current_app.config["RATELIMIT_ENABLED"]:
        item, who = parse(current_app.config["FEED_RATE_LIMIT"]), address_key()
        if not limiter.limiter.hit(item, "feed-not-found", who):
            reset = limiter.limiter.get_window_stats(item, "feed-not-found", who).reset_time
            wait = max(1, math.ceil(reset - now_utc().timestamp()))
            return Response("Too many requests\n", status=429, mimetype="text/plain",
                            headers={"Retry-After": str(wait)})
    return Response("Not found\n", status=404, mimetype="text/plain")
