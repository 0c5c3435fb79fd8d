"""One pass of background work; the `worker` command runs it in a loop or once.

A pass runs independent jobs: deliver due mail first, expire holds, note couples' partners
not heard from, queue reminders, read therapists' calendars (within a time budget), offer
freed times to the waitlist, erase once a day what is past its time, then deliver again what
those jobs queued. A job that fails is logged with its traceback and recorded (see
`health.py`), and never stops the others; the pass ends with a heartbeat.
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Callable

from . import health
from .appointments.services import expire_holds, send_join_reminders, send_reminders
from .calendars.busy import sync_due
from .clock import now_utc
from .couples import services as couples
from .extensions import db
from .mail.delivery import deliver_due, worker_name
from .privacy import retention
from .waitlist import services as waitlist

log = logging.getLogger(__name__)


class Stopping:
    """Turns true when the process is asked to stop (SIGTERM, Ctrl-C), so a pass can end early
    and release what it has not started."""

    def __init__(self):
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def install(self) -> None:
        """Catch SIGTERM and SIGINT: finish the message in flight, then stop."""
        def handler(signum, _frame):
            log.info("stopping after the email in flight (signal %s)", signum)
            self.requested = True

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)


def _mail(should_stop: Callable[[], bool]) -> str:
    result = deliver_due(should_stop=should_stop)
    if result.sent or result.retried or result.failed:
        return f"email: {result.sent} sent, {result.retried} to retry, {result.failed} failed"
    return ""


def _holds() -> str:
    expired = expire_holds()
    return f"holds: {expired} expired" if expired else ""


def _reminders() -> str:
    reminded, join = send_reminders(), send_join_reminders()
    return f"reminders: {reminded} queued, {join} to join" if reminded or join else ""


def _waitlist() -> str:
    ended, offered = waitlist.tidy(), waitlist.offer_freed_times()
    return f"waitlist: {offered} offered, {ended} ended" if ended or offered else ""


def _partners() -> str:
    followed = couples.lapse()
    return f"couples: {followed} followed up" if followed else ""


def _retention() -> str:
    erased = retention.daily()
    return f"retention: erased {erased}" if erased else ""


def _calendars() -> str:
    read, failed = sync_due()
    return f"calendars: {read} read, {failed} failed" if read or failed else ""


def run_pass(should_stop: Callable[[], bool] = lambda: False) -> str:
    """Run every job once; return a one-line report, empty when there was nothing to do.

    Mail goes first, so nothing another job does can delay it by more than one pass; it goes
    again last, so the emails of expired holds and reminders leave in the same pass.
    """
    worker = worker_name()
    began = now_utc()
    jobs: list[tuple[str, Callable[[], str]]] = [
        ("mail", lambda: _mail(should_stop)),
        ("holds", _holds),
        ("partners", _partners),
        ("reminders", _reminders),
        ("calendars", _calendars),
        ("waitlist", _waitlist),
        ("retention", _retention),
        ("mail", lambda: _mail(should_stop)),
    ]
    parts, failed = [], []
    try:
        was_failing = health.failing()
    except Exception:
        log.exception("could not read the worker's job records")
        db.session.rollback()
        was_failing = set()
    for name, job in jobs:
        if should_stop():
            break
        started = now_utc()
        try:
            part = job()
        except Exception as exc:
            log.exception("worker job %r failed", name)
            db.session.rollback()
            failed.append(name)
            # Only the kind of error: its text may quote stored values; the log has the rest.
            health.note(name, worker, started, exc.__class__.__name__)
            was_failing.add(name)
            continue
        if name in was_failing:  # recovered: say so (a good run otherwise writes nothing)
            health.note(name, worker, started)
            was_failing.discard(name)
        if part:
            parts.append(part)
    if failed:
        parts.append(f"failed: {', '.join(failed)} (see the log)")
    health.note(health.HEARTBEAT, worker, began,
                f"jobs failed: {', '.join(failed)}" if failed else "")
    report = "; ".join(parts)
    if report:
        log.info(report)
    return report
