"""Writing email into the outbox, inside the caller's unit of work."""

from __future__ import annotations

from .compose import compose
from .models import OutboxMessage


def enqueue(
    session,
    kind: str,
    template: str,
    to_name: str,
    to_email: str,
    context: dict,
    *,
    invite: bytes | None = None,
    method: str | None = None,
    appointment_id: int | None = None,
    intake_id: int | None = None,
) -> OutboxMessage:
    """Compose a message and add it to the session's outbox; return the (unflushed) row.

    Nothing is sent here: the worker delivers after the surrounding transaction commits, so a
    rolled-back change sends nothing and a committed one cannot lose its email.
    """
    composed = compose(template, to_name, to_email, context, invite=invite, method=method)
    row = OutboxMessage(
        kind=kind,
        recipient=to_email,
        subject=composed.subject,
        message_id=composed.message_id,
        raw=composed.raw,
        appointment_id=appointment_id,
        intake_id=intake_id,
    )
    session.add(row)
    return row
