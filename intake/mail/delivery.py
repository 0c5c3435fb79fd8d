"""Delivering the outbox over SMTP (or into a local folder when no server is configured).

Delivery is at least once: a row is marked sent only after the server accepted it, and its
stored Message-ID makes a repeat recognisable. Temporary failures (SMTP 4xx, timeouts, a lost
connection) are retried with exponential backoff and jitter for MAIL_GIVE_UP_HOURS; permanent
ones (5xx) mark it failed at once, for staff to see and retry.

Several workers may run at once. Each leases the rows it is about to send: the lease names the
worker and ends at a stored time, is renewed while that worker is still sending, and only the
worker holding a row may record its outcome. A worker that stops releases what it has not
tried; a crashed one's rows come back when its lease ends (MAIL_LEASE_SECONDS).
"""

from __future__ import annotations

import logging
import os
import random
import secrets
import smtplib
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..clock import now_utc, pause
from ..database import unit_of_work
from .models import FAILED, QUEUED, SENT, OutboxMessage

BATCH = 50
log = logging.getLogger(__name__)


class PermanentFailure(Exception):
    """The mail server refused the message for good."""


@dataclass
class PassResult:
    """What one delivery pass did."""

    sent: int = 0
    retried: int = 0
    failed: int = 0


def backoff(attempts: int) -> timedelta:
    """Return the wait before retry number `attempts` (1-based): 30 s doubling to 1 h, jittered."""
    base = min(30 * 2 ** (min(attempts, 12) - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def worker_name() -> str:
    """Return a name for this worker process, unique among running workers."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{secrets.token_hex(4)}"


class _FinalReplyMixin:
    """Wait MAIL_DATA_TIMEOUT (not the short socket timeout) for the reply to the final ".".

    The server may take its time to accept a message; giving up early would make us send
    again a message it did accept (RFC 5321 4.5.3.2.6 allows ten minutes).
    """

    data_timeout: float = 600

    def send(self, s):
        super().send(s)
        if isinstance(s, bytes) and s.endswith(b"\r\n.\r\n") and self.sock is not None:
            self.sock.settimeout(self.data_timeout)

    def getreply(self):
        try:
            return super().getreply()
        finally:
            if self.sock is not None:
                self.sock.settimeout(self.timeout)


class _SMTP(_FinalReplyMixin, smtplib.SMTP):
    pass


class _SMTPSSL(_FinalReplyMixin, smtplib.SMTP_SSL):
    pass


class Transport:
    """An open SMTP connection made from the MAIL_* settings, with a timeout and verified TLS."""

    def __init__(self, config):
        self.config = config
        self.smtp: smtplib.SMTP | None = None

    def __enter__(self):
        cfg = self.config
        context = ssl.create_default_context()
        timeout = cfg["MAIL_TIMEOUT"]
        if cfg["MAIL_USE_SSL"]:
            self.smtp = _SMTPSSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout,
                                 context=context)
        else:
            self.smtp = _SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
            if cfg["MAIL_USE_TLS"]:
                self.smtp.starttls(context=context)
        self.smtp.data_timeout = cfg["MAIL_DATA_TIMEOUT"]
        if cfg["MAIL_USERNAME"]:
            self.smtp.login(cfg["MAIL_USERNAME"], cfg["MAIL_PASSWORD"] or "")
        return self

    def send(self, item: Claimed) -> None:
        """Hand one message to the server; raise PermanentFailure on a 5xx refusal."""
        assert self.smtp is not None
        try:
            self.smtp.sendmail(self.config["MAIL_DEFAULT_SENDER"], [item.recipient], item.raw)
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            if 500 <= code < 600:
                raise PermanentFailure(f"recipient refused ({code})") from exc
            raise
        except smtplib.SMTPResponseException as exc:
            if 500 <= exc.smtp_code < 600:
                raise PermanentFailure(f"refused ({exc.smtp_code})") from exc
            raise

    def __exit__(self, *exc):
        if self.smtp is not None:
            try:
                self.smtp.quit()
            except (smtplib.SMTPException, OSError):
                self.smtp.close()
            self.smtp = None


class FolderSink:
    """Development delivery: each message is written as an .eml file in MAIL_SINK_DIR."""

    def __init__(self, config):
        self.folder = Path(config["MAIL_SINK_DIR"])

    def __enter__(self):
        self.folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return self

    def send(self, item: Claimed) -> None:
        """Write the message to `<id>.eml`, readable by its owner only."""
        path = self.folder / f"{item.id:06d}.eml"
        with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as f:
            f.write(item.raw)

    def __exit__(self, *exc):
        return None


def _transport(config):
    """Return the configured transport: SMTP when MAIL_SERVER is set, else the folder sink."""
    return Transport(config) if config["MAIL_SERVER"] else FolderSink(config)


@dataclass(frozen=True)
class Claimed:
    """A leased outbox row, as plain values: what the transport needs to send it."""

    id: int
    recipient: str
    raw: bytes


def _lease_length() -> timedelta:
    return timedelta(seconds=current_app.config["MAIL_LEASE_SECONDS"])


def _claim_due(now: datetime, worker: str) -> list[Claimed]:
    """Return due queued rows after leasing them to `worker`.

    The lease is committed before anything is sent, so a second worker (PostgreSQL skips the
    locked rows; SQLite takes turns on its write lock) never picks the same rows while it holds.
    """
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now,
               sa.or_(OutboxMessage.lease_until.is_(None), OutboxMessage.lease_until <= now))
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work() as session:
        rows = list(session.scalars(query))
        for row in rows:
            row.leased_by = worker
            row.lease_until = now + _lease_length()
        return [Claimed(row.id, row.recipient, row.raw) for row in rows]


def _release(worker: str, ids: list[int]) -> None:
    """Give back rows this worker leased but did not try: due again at once, nothing charged."""
    if not ids:
        return
    with unit_of_work() as session:
        session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id.in_(ids), OutboxMessage.leased_by == worker,
            OutboxMessage.status == QUEUED).values(leased_by=None, lease_until=None))


class _Renewal:
    """Renews this worker's leases every third of a lease while it is still sending."""

    def __init__(self, worker: str, now: datetime):
        self.app = current_app._get_current_object()
        self.worker, self.started, self.now = worker, time.monotonic(), now
        self.lease = _lease_length()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True, name="lease-renewal")

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.done = True
        self.thread.join()

    def _run(self) -> None:
        while not pause(self.lease.total_seconds() / 3, lambda: self.done):
            # The pass's own clock moved on by the time spent, so a test's future "now" holds.
            until = self.now + timedelta(seconds=time.monotonic() - self.started) + self.lease
            try:
                with self.app.app_context(), unit_of_work() as session:
                    session.execute(sa.update(OutboxMessage).where(
                        OutboxMessage.leased_by == self.worker,
                        OutboxMessage.status == QUEUED).values(lease_until=until))
            except Exception:
                log.exception("could not renew this worker's email leases")


def _still_mine(item: Claimed, worker: str, now: datetime) -> bool:
    """Extend this worker's lease on one row just before sending it; return False when the
    lease was lost meanwhile (a worker paused past its lease): then another worker owns it."""
    with unit_of_work() as session:
        changed = session.execute(sa.update(OutboxMessage).where(
            OutboxMessage.id == item.id, OutboxMessage.leased_by == worker,
            OutboxMessage.status == QUEUED).values(
                lease_until=max(now, now_utc()) + _lease_length()))
        return changed.rowcount == 1


def _record(item: Claimed, worker: str, outcome: str, error: str, now: datetime,
            result: PassResult) -> None:
    """Store one delivery's outcome ("sent", "failed" or "retry") in its own write transaction.

    Only while this worker still holds the row: one whose lease was lost is left to its new
    holder (and logged).
    """
    with unit_of_work() as session:
        row = session.get(OutboxMessage, item.id)
        if row is None or row.leased_by != worker or row.status != QUEUED:
            log.warning("email %s: lease lost before its outcome (%s) was recorded", item.id,
                        outcome)
            return
        row.attempts += 1
        row.last_error = error[:500]
        row.leased_by = row.lease_until = None
        give_up = timedelta(hours=current_app.config["MAIL_GIVE_UP_HOURS"])
        if outcome == "retry" and now - row.queued_at >= give_up:
            outcome = FAILED
            row.last_error = f"gave up after {row.attempts} tries: {error}"[:500]
        if outcome == SENT:
            row.status = SENT
            row.sent_at = now_utc()
            result.sent += 1
        elif outcome == FAILED:
            row.status = FAILED
            result.failed += 1
        else:
            row.next_attempt_at = now + backoff(row.attempts)
            result.retried += 1


def deliver_due(now: datetime | None = None,
                should_stop: Callable[[], bool] = lambda: False) -> PassResult:
    """Deliver every due outbox row once; return how many were sent, retried and failed.

    Each row's outcome is committed on its own, so a crash mid-pass forgets at most the one row
    in flight (sent again after its lease, with the same Message-ID). After a timeout or a lost
    connection the worker reconnects and goes on, charging an attempt only to the message that
    failed. When `should_stop()` turns true, the rows not yet tried are released at once.
    """
    now = now or now_utc()
    worker = worker_name()
    result = PassResult()
    claimed = _claim_due(now, worker)
    if not claimed:
        return result
    config = current_app.config
    transport = None
    done = 0
    try:
        with _Renewal(worker, now):
            for item in claimed:
                if should_stop():
                    break
                if not _still_mine(item, worker, now):
                    log.warning("email %s: lease lost before sending; left to its holder", item.id)
                    done += 1
                    continue
                if transport is None:
                    try:
                        transport = _transport(config).__enter__()
                    except (OSError, smtplib.SMTPException) as exc:
                        error = f"cannot reach the mail server: {_describe(exc)}"
                        for rest in claimed[done:]:
                            _record(rest, worker, "retry", error, now, result)
                        done = len(claimed)
                        break
                try:
                    transport.send(item)
                except PermanentFailure as exc:
                    _record(item, worker, FAILED, str(exc), now, result)
                except smtplib.SMTPResponseException as exc:
                    # A 4xx answer: the connection is still good (smtplib reset it).
                    _record(item, worker, "retry", _describe(exc), now, result)
                except (OSError, smtplib.SMTPException) as exc:
                    # A timeout or a lost connection: this one is charged, the rest go on
                    # over a new connection.
                    _record(item, worker, "retry", _describe(exc), now, result)
                    transport.smtp.close()
                    transport = None
                else:
                    _record(item, worker, SENT, "", now, result)
                done += 1
    finally:
        if transport is not None:
            transport.__exit__(None, None, None)
        _release(worker, [item.id for item in claimed[done:]])
    return result


def _describe(exc: BaseException) -> str:
    """Return a short, safe description of a delivery error (no message content)."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "the mail server did not answer in time"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return f"recipient refused for now (SMTP {next(iter(exc.recipients.values()))[0]})"
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        # smtplib reports a timeout while reading a reply as a closed connection.
        if "timed out" in str(exc):
            return "the mail server did not answer in time"
        return "the mail server closed the connection"
    return exc.__class__.__name__
