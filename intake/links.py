"""Signed, expiring links to the client's own pages (an opaque id, a salt per purpose, always a
`max_age`): every such link, in an email or on a page, is made here. Pages reached through one
link to each other with the token they already have. Also the staff page of an appointment, for
the therapist's feed (no token: it needs a sign-in)."""

from __future__ import annotations

from flask import current_app, url_for
from itsdangerous import BadSignature, URLSafeTimedSerializer

from .clock import timed_serializer
from .extensions import db

REBOOK = "rebook"  # an intake id: choose a time again after a decline, cancel or expiry
INSTEAD = "instead"  # a held appointment id: choose another time in its place
PROPOSAL = "proposal"  # a proposal id: accept the time the front desk offered
MANAGE = "manage"  # [appointment id, link version]: the client's own appointment page
RESET = "password-reset"  # [staff user id, fingerprint of the password hash]
WAITLIST_CONFIRM = "waitlist-confirm"  # a waitlist entry id: confirm joining the list
WAITLIST_LEAVE = "waitlist-leave"  # a waitlist entry id: leave the list, from any of its emails
WAITLIST_OFFER = "waitlist-offer"  # a waitlist offer id: book the freed time offered
PARTNER_INTAKE = "partner-intake"  # a partner id: a couple's partner's own intake
PARTNER_MANAGE = "partner-manage"  # [appointment id, link version]: the partner's own page
DAY = 24 * 3600
MAX_AGE = {REBOOK: 14 * DAY, INSTEAD: 7 * DAY, PROPOSAL: 7 * DAY, RESET: 30 * 60,
           WAITLIST_CONFIRM: 7 * DAY, WAITLIST_LEAVE: 400 * DAY, WAITLIST_OFFER: 14 * DAY,
           PARTNER_INTAKE: 30 * DAY}


def _signer(purpose: str) -> URLSafeTimedSerializer:
    """Return the signer for one purpose (a link made for one never works for another)."""
    return timed_serializer(current_app.config["SECRET_KEY"], f"link:{purpose}")


def make(purpose: str, record_id: int | list[int]) -> str:
    """Return a token for a record id (or ids) and purpose."""
    return _signer(purpose).dumps(record_id)


def _max_age(purpose: str) -> int:
    if purpose in (MANAGE, PARTNER_MANAGE):
        return current_app.config["MANAGE_LINK_DAYS"] * 24 * 3600
    return MAX_AGE[purpose]


def _load(purpose: str, token: str):
    """Return the payload of a valid, unexpired token for `purpose`, or None."""
    if not token or len(token) > 200:
        return None
    try:
        return _signer(purpose).loads(token, max_age=_max_age(purpose))
    except BadSignature:
        return None


def read(purpose: str, token: str) -> int | None:
    """Return the record id in a valid, unexpired token for `purpose`, or None."""
    value = _load(purpose, token)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def record_for(purpose: str, token: str, model):
    """Return the row of `model` that a valid, unexpired link for `purpose` points to, or None."""
    record_id = read(purpose, token)
    return db.session.get(model, record_id) if record_id else None


def manage_token(appointment, *, partner: bool = False) -> str:
    """Return the token of the client's manage link for the appointment's current version (the
    partner's own link with `partner`: a couple's two people each have one)."""
    return make(PARTNER_MANAGE if partner else MANAGE, [appointment.id, appointment.link_version])


def read_manage(token: str, *, partner: bool = False) -> tuple[int, int] | None:
    """Return (appointment id, link version) from a manage token (the partner's own with
    `partner`), or None."""
    value = _load(PARTNER_MANAGE if partner else MANAGE, token)
    if (isinstance(value, list) and len(value) == 2
            and all(isinstance(v, int) and not isinstance(v, bool) for v in value)):
        return value[0], value[1]
    return None


def _url(endpoint: str, external: bool, **values) -> str:
    """Return the link to `endpoint`: absolute on the configured BASE_URL for an email (works
    in the worker too, with no request), or the site-relative path for a page."""
    if not external:
        return url_for(endpoint, **values)
    path = current_app.url_map.bind("localhost").build(endpoint, values)
    return current_app.config["BASE_URL"] + path


def rebook_url(intake_id: int, *, external: bool = True) -> str:
    """Return the client's link to choose a time again (after a decline, cancel or expiry)."""
    return _url("intakes.again", external, token=make(REBOOK, intake_id))


def instead_url(appointment_id: int, *, external: bool = True) -> str:
    """Return the client's link to choose another time in place of a held appointment."""
    return _url("intakes.instead", external, token=make(INSTEAD, appointment_id))


def manage_url(appointment, *, external: bool = True, partner: bool = False, **values) -> str:
    """Return the client's link to their own appointment page, for its current version (the
    partner's own with `partner`)."""
    return _url("manage.show", external, token=manage_token(appointment, partner=partner),
                **values)


def partner_intake_url(partner_id: int) -> str:
    """Return the email link to a couple's partner's own intake."""
    return _url("couples.answer", True, token=make(PARTNER_INTAKE, partner_id))


def proposal_url(proposal_id: int) -> str:
    """Return the client's email link to accept a time the front desk offered."""
    return _url("proposals.show", True, token=make(PROPOSAL, proposal_id))


def waitlist_confirm_url(entry_id: int) -> str:
    """Return the email link that confirms a place on the waitlist."""
    return _url("waitlist.confirm", True, token=make(WAITLIST_CONFIRM, entry_id))


def waitlist_leave_url(entry_id: int) -> str:
    """Return the link, in every waitlist email, that takes the person off the list."""
    return _url("waitlist.leave", True, token=make(WAITLIST_LEAVE, entry_id))


def waitlist_offer_url(offer_id: int) -> str:
    """Return the email link to a freed time offered from the waitlist."""
    return _url("waitlist.offer", True, token=make(WAITLIST_OFFER, offer_id))


def staff_appointment_url(appointment_id: int) -> str:
    """Return the absolute link to an appointment's staff page (sign-in needed, no token)."""
    return _url("desk.appointment", True, appointment_id=appointment_id)


def password_reset_url(user_id: int, fingerprint: str) -> str:
    """Return the address of a staff password reset (30 minutes; it stops working once the
    password changes, so it works once)."""
    return _url("auth.reset", True, token=make(RESET, [user_id, fingerprint]))


def read_password_reset(token: str) -> tuple[int, str] | None:
    """Return (staff user id, password fingerprint) from a reset token, or None."""
    value = _load(RESET, token)
    if (isinstance(value, list) and len(value) == 2 and isinstance(value[0], int)
            and not isinstance(value[0], bool) and isinstance(value[1], str)):
        return value[0], value[1]
    return None
