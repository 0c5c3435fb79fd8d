"""The development inbox: every email the outbox holds, readable without a mail server.

Registered only when DEV_INBOX is on (`make run` turns it on); never in production.
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, render_template

from ..extensions import db
from .models import OutboxMessage, parse

bp = Blueprint("dev_mail", __name__, url_prefix="/dev/mail")


@bp.get("")
def inbox():
    """Return the newest 200 messages with their delivery state."""
    rows = db.session.scalars(
        sa.select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(200)).all()
    return render_template("dev/inbox.html", rows=rows)


@bp.get("/<int:message_id>")
def show(message_id: int):
    """Return one message: headers, text body and its invite, if any."""
    row = db.get_or_404(OutboxMessage, message_id)
    message = parse(row)
    text = message.get_body(("plain",))
    invite = _calendar_part(message)
    return render_template("dev/message.html", row=row, message=message,
                           text=text.get_content() if text else "",
                           invite=invite.decode("utf-8") if invite else None)


@bp.get("/<int:message_id>/invite.ics")
def invite(message_id: int):
    """Return the message's invite.ics attachment."""
    row = db.get_or_404(OutboxMessage, message_id)
    body = _calendar_part(parse(row))
    if body is None:
        abort(404)
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": 'attachment; filename="invite.ics"'})


@bp.get("/<int:message_id>.eml")
def raw(message_id: int):
    """Return the message exactly as it is (or was) sent."""
    row = db.get_or_404(OutboxMessage, message_id)
    return Response(row.raw, mimetype="message/rfc822",
                    headers={"Content-Disposition": f'attachment; filename="{row.id}.eml"'})


def _calendar_part(message) -> bytes | None:
    """Return the bytes of the message's invite.ics attachment, if it has one."""
    for part in message.walk():
        if part.get_filename() == "invite.ics":
            return part.get_payload(decode=True)
    return None
