"""Keeping secrets out of logs: tokens in request paths, and what staff search for (clients'
names and email addresses), are masked before any handler sees them."""

from __future__ import annotations

import logging
import re

SECRET_PATHS = re.compile(
    r"(/(?:feeds|manage|offer|intake/choose-again|intake/choose-instead|together"
    r"|waitlist/(?:confirm|leave|offer)|staff/password/reset)/)[^/\s?\"]+")
# What staff search for, the address whose record an admin looks up, and a sign-in's way back
# to a page (which may be either).
SEARCHES = re.compile(r"(/staff/(?:search\?(?:[^\s\"]*&)?q|admin/records[^?\s\"]*\?"
                      r"(?:[^\s\"]*&)?email|login\?(?:[^\s\"]*&)?next)=)[^&\s\"]*")


class RedactTokens(logging.Filter):
    """Replace the token in secret-bearing paths (feeds, manage links, offers) and the terms of
    staff searches with "…"."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if SECRET_PATHS.search(message) or SEARCHES.search(message):
            record.msg = SEARCHES.sub(r"\1…", SECRET_PATHS.sub(r"\1…", message))
            record.args = ()
        return True


def install() -> None:
    """Attach the filter to the loggers that print request lines (dev server and gunicorn)."""
    for name in ("werkzeug", "gunicorn.access", "gunicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactTokens) for f in logger.filters):
            logger.addFilter(RedactTokens())
