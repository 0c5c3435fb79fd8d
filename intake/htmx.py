"""Requests made by htmx, which want a piece of a page rather than the whole of it."""

from __future__ import annotations

from flask import request


def is_htmx() -> bool:
    """Return True when the current request was made by htmx (it sends `HX-Request`)."""
    return bool(request.headers.get("HX-Request"))
