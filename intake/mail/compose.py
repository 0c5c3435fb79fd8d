"""Composing an email from its template: text, HTML and, when given, an iTIP invite.

Layout (CalConnect iMIP practice):
multipart/mixed
  multipart/alternative: text/plain, text/html, text/calendar; method=...
  application/ics attachment "invite.ics"
"""

from __future__ import annotations

from dataclasses import dataclass
from email.headerregistry import Address
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid

from flask import current_app, render_template
from flask_babel import force_locale
from jinja2 import Template

from ..clock import now_utc

LONG_LINES = SMTP.clone(max_line_length=998)


@dataclass(frozen=True)
class Composed:
    """A finished message: its subject, Message-ID and the bytes to send."""

    subject: str
    message_id: str
    raw: bytes


def _render(name: str, context: dict) -> tuple[str, str]:
    """Return (subject, body) from `templates/emails/<name>`; the subject is a `{% set %}`."""
    env = current_app.jinja_env
    template: Template = env.get_template(f"emails/{name}")
    current_app.update_template_context(context)
    module = template.make_module(context)
    subject = " ".join(str(getattr(module, "subject", "")).split())
    return subject, str(module).strip() + "\n"


def sender() -> Address:
    """Return the practice's booking mailbox as the From address (also the ORGANIZER)."""
    cfg = current_app.config
    local, _, domain = cfg["MAIL_DEFAULT_SENDER"].rpartition("@")
    return Address(display_name=cfg["MAIL_SENDER_NAME"] or cfg["PRACTICE_NAME"],
                   username=local, domain=domain)


def compose(
    template: str,
    to_name: str,
    to_email: str,
    context: dict,
    invite: bytes | None = None,
    method: str | None = None,
    headers: dict[str, str] | None = None,
    language: str = "en",
) -> Composed:
    """Return a composed message for one recipient, written in `language` (its words, dates
    and times).

    `template` names `emails/<template>.txt` (with the subject) and `.html`. With an
    `invite`, the calendar part's `method` parameter is set to `method`, which must equal the
    METHOD inside the invite. `headers` are added as they are (List-Unsubscribe, for one).
    """
    context = {**context, "recipient_name": to_name, "lang": language}
    with force_locale(language):
        subject, text = _render(f"{template}.txt", context)
        html = render_template(f"emails/{template}.html", subject=subject, **context)

    from_address = sender()
    local, _, domain = to_email.rpartition("@")
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = from_address
    message["To"] = Address(display_name=to_name, username=local, domain=domain)
    message["Date"] = format_datetime(now_utc())
    message_id = make_msgid(domain=from_address.domain)
    message["Message-ID"] = message_id
    message["Auto-Submitted"] = "auto-generated"
    for name, value in (headers or {}).items():
        message[name] = value

    message.set_content(text, subtype="plain", cte="quoted-printable")
    message.make_alternative()
    message.add_alternative(html, subtype="html", cte="quoted-printable")
    if invite is not None:
        if not method:
            raise ValueError("an invite needs its iTIP method")
        message.add_alternative(invite, maintype="text", subtype="calendar",
                                params={"method": method, "charset": "UTF-8"}, cte="base64")
        message.make_mixed()
        message.add_attachment(invite, maintype="application", subtype="ics",
                               filename="invite.ics", cte="base64")
    # Headers fold at whitespace up to SMTP's 998 characters: a long address with none in it
    # (List-Unsubscribe's) stays a plain address, not an encoded word mail programs ignore.
    return Composed(subject, message_id, message.as_bytes(policy=LONG_LINES))
