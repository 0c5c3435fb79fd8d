"""The worker's heartbeat and the state of the mail queue, as the monitor and staff see them.

Each job of a worker pass records when it last ran and how it went, so `/healthz`, the front
desk's dashboard and `flask outbox` can say when mail is stuck, and why, without reading logs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from .clock import now_utc
from .database import UTCDateTime, unit_of_work
from .extensions import db
from .mail.models import FAILED, QUEUED, OutboxMessage

HEARTBEAT = "pass"  # one row for the whole pass, beside one per job
log = logging.getLogger(__name__)


class WorkerJob(db.Model):
    """When a job of the worker (or the pass as a whole) last ran, and how it went."""

    __tablename__ = "worker_job"

    name: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    worker: Mapped[str] = mapped_column(sa.String(80), default="")
    last_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_ok_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    last_error: Mapped[str] = mapped_column(sa.String(500), default="")
    failures: Mapped[int] = mapped_column(default=0)  # in a row; 0 after a good run


def failing() -> set[str]:
    """Return the names of jobs whose last run failed."""
    return set(db.session.scalars(sa.select(WorkerJob.name).where(WorkerJob.failures > 0)))


def note(name: str, worker: str, started: datetime, error: str = "") -> None:
    """Record that job `name` ran from `started` until now, and how it went.

    Never raises: when the database itself is the problem, the log is all there is.
    """
    finished = now_utc()
    for attempt in (1, 2):  # two workers writing a job's first row at once: one waits, retries
        try:
            with unit_of_work() as session:
                row = session.get(WorkerJob, name) or WorkerJob(name=name, failures=0)
                session.add(row)
                row.worker = worker[:80]
                row.last_started_at, row.last_finished_at = started, finished
                if error:
                    row.failures = (row.failures or 0) + 1
                    row.last_error = error[:500]
                else:
                    row.failures, row.last_error, row.last_ok_at = 0, "", finished
            return
        except IntegrityError:
            db.session.rollback()
            if attempt == 2:
                log.exception("could not record how the worker's %s job went", name)
        except Exception:
            log.exception("could not record how the worker's %s job went", name)
            db.session.rollback()
            return


@dataclass(frozen=True)
class MailHealth:
    """What a monitor and the front desk need to know about the worker and the mail queue."""

    last_pass_at: datetime | None
    oldest_due_at: datetime | None  # when the oldest email still waiting to go out was queued
    failed: int  # emails that gave up, waiting for someone to retry them
    failed_without_appointment: int  # of those: staff notes and others no appointment shows
    failing_jobs: list[tuple[str, str]]  # (job, last error) for jobs whose last run failed
    now: datetime

    @property
    def worker_silent(self) -> bool:
        """True when no pass finished for a while (no worker running, or one hung)."""
        limit = timedelta(minutes=current_app.config["MAIL_STUCK_MINUTES"])
        return self.last_pass_at is None or self.now - self.last_pass_at > limit

    @property
    def oldest_due_minutes(self) -> int | None:
        """Minutes the oldest due email has waited, or None when none is waiting."""
        if self.oldest_due_at is None:
            return None
        return max(int((self.now - self.oldest_due_at).total_seconds() // 60), 0)

    def seconds_since(self, at: datetime | None) -> int | None:
        """Return whole seconds from `at` to now, or None."""
        return None if at is None else int((self.now - at).total_seconds())

    @property
    def status(self) -> str:
        """Return "stuck" (mail waiting too long, or a worker that ran has gone quiet),
        "attention" (failed email, or a job failing) or "ok"."""
        if self.stuck or (self.worker_silent and self.last_pass_at is not None):
            return "stuck"
        return "attention" if self.failed or self.failing_jobs else "ok"

    @property
    def stuck(self) -> bool:
        """True when an email has waited longer than MAIL_STUCK_MINUTES to go out."""
        waited = self.oldest_due_minutes
        return waited is not None and waited >= current_app.config["MAIL_STUCK_MINUTES"]


def mail_health(now: datetime | None = None) -> MailHealth:
    """Return the worker's heartbeat and the queue's state, in four small queries."""
    now = now or now_utc()
    last_pass = db.session.scalar(sa.select(WorkerJob.last_finished_at).where(
        WorkerJob.name == HEARTBEAT))
    oldest = db.session.scalar(sa.select(sa.func.min(OutboxMessage.queued_at)).where(
        OutboxMessage.status == QUEUED))
    failed = db.session.execute(sa.select(
        sa.func.count(), sa.func.count().filter(OutboxMessage.appointment_id.is_(None)))
        .where(OutboxMessage.status == FAILED)).one()
    failing = db.session.execute(sa.select(WorkerJob.name, WorkerJob.last_error).where(
        WorkerJob.failures > 0, WorkerJob.name != HEARTBEAT).order_by(WorkerJob.name)).all()
    return MailHealth(last_pass, oldest, failed[0], failed[1],
                      [(name, error) for name, error in failing], now)
