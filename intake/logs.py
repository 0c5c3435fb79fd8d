"""Keeping secrets out of logs: tokens in request paths are masked before any handler sees them."""

from __future__ import annotations

import logging
import re

SECRET_PATHS = re.compile(
    r"(/(?:feeds|manage|offer|intake/choose-again|intake/choose-instead)/)[^/\s?\"]+")


class RedactTokens(logging.Filter):
    """Replace the token in secret-bearing paths (feeds, manage links, offers) with "…"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET_PATHS.search(message):
            record.msg = SECRET_PATHS.sub(r"\1…", message)
            record.args = ()
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines (dev server and gunicorn)."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
