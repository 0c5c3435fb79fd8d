"""Delivering the outbox over SMTP (or into a local folder when no server is configured).

Delivery is at least once: a row is marked sent only after the server accepted it, and its
stored Message-ID makes a repeat recognisable. Temporary failures (SMTP 4xx, network) are retried
with exponential backoff and jitter; permanent ones (5xx) and the last attempt mark it failed.
"""

from __future__ import annotations

import random
import smtplib
import socket
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import message_from_bytes
from email.policy import default as default_policy
from pathlib import Path

import sqlalchemy as sa
from flask import current_app

from ..database import now_utc, unit_of_work
from .models import FAILED, QUEUED, SENT, OutboxMessage

MAX_ATTEMPTS = 8
BATCH = 50
LEASE = timedelta(minutes=10)


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
    base = min(30 * 2 ** (attempts - 1), 3600)
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


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
            self.smtp = smtplib.SMTP_SSL(cfg["MAIL_SERVER"], cfg["MAIL_PORT"],
                                         timeout=timeout, context=context)
        else:
            self.smtp = smtplib.SMTP(cfg["MAIL_SERVER"], cfg["MAIL_PORT"], timeout=timeout)
            if cfg["MAIL_USE_TLS"]:
                self.smtp.starttls(context=context)
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


class FolderSink:
    """Development delivery: each message is written as an .eml file in MAIL_SINK_DIR."""

    def __init__(self, config):
        self.folder = Path(config["MAIL_SINK_DIR"])

    def __enter__(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        return self

    def send(self, item: Claimed) -> None:
        """Write the message to `<id>.eml`."""
        (self.folder / f"{item.id:06d}.eml").write_bytes(item.raw)

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


def _claim_due(now: datetime) -> list[Claimed]:
    """Return due queued rows after leasing them to this worker for LEASE.

    The lease is committed before anything is sent, so a second worker (PostgreSQL skips the
    locked rows; SQLite takes turns on its write lock) never picks the same rows, and a worker
    that dies mid-pass leaves them to be retried when the lease runs out.
    """
    query = (
        sa.select(OutboxMessage)
        .where(OutboxMessage.status == QUEUED, OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.next_attempt_at, OutboxMessage.id)
        .limit(BATCH)
        .with_for_update(skip_locked=True)
    )
    with unit_of_work() as session:
        rows = list(session.scalars(query))
        for row in rows:
            row.next_attempt_at = now + LEASE
        return [Claimed(row.id, row.recipient, row.raw) for row in rows]


def _record(message_id: int, outcome: str, error: str, now: datetime, result: PassResult) -> None:
    """Store one delivery's outcome ("sent", "failed" or "retry") in its own write transaction."""
    with unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        row.attempts += 1
        row.last_error = error[:500]
        if outcome == "retry" and row.attempts >= MAX_ATTEMPTS:
            outcome = "failed"
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


def deliver_due(now: datetime | None = None) -> PassResult:
    """Deliver every due outbox row once; return how many were sent, retried and failed.

    Each row's outcome is committed on its own, so a crash mid-pass forgets at most the one row
    in flight (it is sent again after its lease, with the same Message-ID).
    """
    now = now or now_utc()
    result = PassResult()
    claimed = _claim_due(now)
    if not claimed:
        return result
    try:
        transport = _transport(current_app.config).__enter__()
    except (OSError, smtplib.SMTPException) as exc:
        for item in claimed:
            _record(item.id, "retry", f"cannot reach the mail server: {_describe(exc)}", now,
                    result)
        return result
    try:
        for item in claimed:
            try:
                transport.send(item)
            except PermanentFailure as exc:
                _record(item.id, FAILED, str(exc), now, result)
            except (OSError, smtplib.SMTPException) as exc:
                _record(item.id, "retry", _describe(exc), now, result)
            else:
                _record(item.id, SENT, "", now, result)
    finally:
        transport.__exit__(None, None, None)
    return result


def _describe(exc: BaseException) -> str:
    """Return a short, safe description of a delivery error (no message content)."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "the mail server did not answer in time"
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}"
    return exc.__class__.__name__


def parse(row: OutboxMessage):
    """Return the stored message parsed as an EmailMessage (for the development inbox)."""
    return message_from_bytes(row.raw, policy=default_policy)
