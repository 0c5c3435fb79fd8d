"""Requests made by htmx, which want a piece of a page rather than the whole of it."""

from __future__ import annotations

from flask import request


def is_htmx() -> bool:
    """Return True when the current request was made by htmx (it sends `HX-Request`)."""
    return bool(request.headers.get("HX-Request"))


# Elements that ask for themselves again in the background (their id, which htmx sends as
# `HX-Trigger`): such a request is not the person doing anything.
POLLING = {"urgent-panel"}


def is_poll() -> bool:
    """Return True when the current request is a page part refreshing itself in the background
    (it neither keeps a staff session awake nor takes over the page when it fails)."""
    return is_htmx() and request.headers.get("HX-Trigger") in POLLING
