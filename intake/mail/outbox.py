"""Writing email into the outbox, inside the caller's unit of work."""

from __future__ import annotations

import sqlalchemy as sa

from .. import audit
from ..clock import now_utc
from ..database import unit_of_work
from ..extensions import db
from .compose import compose
from .models import FAILED, QUEUED, OutboxMessage


def enqueue(
    session,
    template: str,
    to_name: str,
    to_email: str,
    context: dict,
    *,
    kind: str | None = None,
    invite: bytes | None = None,
    method: str | None = None,
    appointment_id: int | None = None,
    intake_id: int | None = None,
    headers: dict[str, str] | None = None,
    language: str = "en",
) -> OutboxMessage:
    """Compose a message and add it to the session's outbox; return the (unflushed) row.

    `template` names the email's templates (see `compose`); `kind` is what the outbox lists it
    as, the template's name unless given. `appointment_id` or `intake_id` ties it to the record
    whose staff page shows it; `headers` go into the message as they are; `language` is the
    one it is written in (the reader's: see `i18n.for_intake`).

    Nothing is sent here: the worker delivers after the surrounding transaction commits, so a
    rolled-back change sends nothing and a committed one cannot lose its email.
    """
    composed = compose(template, to_name, to_email, context, invite=invite, method=method,
                       headers=headers, language=language)
    row = OutboxMessage(
        kind=kind or template,
        recipient=to_email,
        subject=composed.subject,
        message_id=composed.message_id,
        raw=composed.raw,
        appointment_id=appointment_id,
        intake_id=intake_id,
    )
    session.add(row)
    return row


def retry(message_id: int, user_id: int | None) -> OutboxMessage | None:
    """Put a failed message back in the queue for the next worker pass; return it (None when
    there is no such message). `user_id` is None when done from the command line."""
    with unit_of_work() as session:
        row = session.get(OutboxMessage, message_id)
        if row is not None and row.status == FAILED and row.body_purged_at is None:
            row.status = QUEUED
            row.queued_at = row.next_attempt_at = now_utc()
            row.last_error = ""
            row.attempts = 0
            audit.record(session, "retry_email", user_id, "outbox_message", message_id)
    return row


def retry_failed(user_id: int | None) -> int:
    """Put every failed message back in the queue; return how many."""
    ids = db.session.scalars(sa.select(OutboxMessage.id).where(
        OutboxMessage.status == FAILED).order_by(OutboxMessage.id)).all()
    for message_id in ids:
        retry(message_id, user_id)
    return len(ids)
