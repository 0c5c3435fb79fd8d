"""One pass of background work; the `worker` command runs it in a loop or once."""

from __future__ import annotations

import logging

from .appointments.services import expire_holds, send_reminders
from .mail.delivery import deliver_due
from .scheduling.imports import sync_due

log = logging.getLogger(__name__)


def run_pass() -> str:
    """Run every job once; return a one-line report, empty when there was nothing to do.

    Therapists' own calendars are read first (so busy times count at once), then holds
    expire and reminders are queued, so their emails go out in the same pass.
    """
    calendars_read, calendars_failed = sync_due()
    expired = expire_holds()
    reminded = send_reminders()
    mail = deliver_due()
    parts = []
    if calendars_read or calendars_failed:
        parts.append(f"calendars: {calendars_read} read, {calendars_failed} failed")
    if expired:
        parts.append(f"holds: {expired} expired")
    if reminded:
        parts.append(f"reminders: {reminded} queued")
    if mail.sent or mail.retried or mail.failed:
        parts.append(f"email: {mail.sent} sent, {mail.retried} to retry, {mail.failed} failed")
    report = "; ".join(parts)
    if report:
        log.info(report)
    return report
