"""One pass of background work; the `worker` command runs it in a loop or once."""

from __future__ import annotations

import logging

from .mail.delivery import deliver_due

log = logging.getLogger(__name__)


def run_pass() -> str:
    """Run every job once; return a one-line report, empty when there was nothing to do."""
    mail = deliver_due()
    parts = []
    if mail.sent or mail.retried or mail.failed:
        parts.append(f"email: {mail.sent} sent, {mail.retried} to retry, {mail.failed} failed")
    report = "; ".join(parts)
    if report:
        log.info(report)
    return report
