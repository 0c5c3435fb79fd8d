"""Signed, expiring links in emails: an opaque id, a salt per purpose, always a `max_age`."""

from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeTimedSerializer

REBOOK = "rebook"  # an intake id: choose a time again after a decline, cancel or expiry
INSTEAD = "instead"  # a held appointment id: choose another time in its place
PROPOSAL = "proposal"  # a proposal id: accept the time the front desk offered
MAX_AGE = {REBOOK: 14 * 24 * 3600, INSTEAD: 7 * 24 * 3600, PROPOSAL: 7 * 24 * 3600}


def _signer(purpose: str) -> URLSafeTimedSerializer:
    """Return the signer for one purpose (a link made for one never works for another)."""
    return URLSafeTimedSerializer(current_app.config["SECRET_KEY"], salt=f"link:{purpose}")


def make(purpose: str, record_id: int) -> str:
    """Return a token for a record id and purpose."""
    return _signer(purpose).dumps(record_id)


def read(purpose: str, token: str) -> int | None:
    """Return the record id in a valid, unexpired token for `purpose`, or None."""
    if not token or len(token) > 200:
        return None
    try:
        value = _signer(purpose).loads(token, max_age=MAX_AGE[purpose])
    except BadSignature:
        return None
    return value if isinstance(value, int) else None


def external(endpoint: str, **values) -> str:
    """Return an absolute link for an email, on the configured BASE_URL.

    Works in requests and in the worker alike (no request needed).
    """
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path
