"""The waitlist's rules: joining (confirmed by email), leaving, which freed times suit whom,
offering them (the worker, or the front desk by hand) and booking one in a single step.

What is waiting and why is health information: no email says why anyone waits, and a client
who asked for discreet contact gets the plainest words.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from .. import audit, i18n, links
from ..appointments.candidates import candidate_for, wish_for
from ..appointments.models import Appointment, holds_its_time
from ..appointments.services import (
    BookingError,
    TimeNotOpen,
    TimeTaken,
    book,
    meeting_format,
)
from ..choices import FORMATS, TIMES
from ..clock import now_utc
from ..database import unit_of_work
from ..errors import UserError
from ..extensions import db
from ..formatting import day as day_name
from ..intakes.models import Intake
from ..mail.models import OutboxMessage
from ..mail.outbox import enqueue
from ..matching import passes_filters
from ..scheduling.models import FreedTime
from ..scheduling.services import is_open, upcoming_times
from ..scheduling.slots import Slot
from ..scheduling.weeks import part_of_day
from ..therapists.models import Therapist
from .models import (
    BOOKED,
    CLOSED,
    ENDED,
    GONE,
    LEFT,
    OFFERED,
    ON_THE_LIST,
    PENDING,
    TAKEN,
    WAITING,
    WaitlistEntry,
    WaitlistOffer,
)

DAYS = (_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"),
        _l("Saturday"), _l("Sunday"))
PARTS = {key: TIMES[key] for key in ("morning", "afternoon", "evening")}
PART_NAMES = {"morning": _l("Mornings"), "afternoon": _l("Afternoons"),
              "evening": _l("Evenings")}

NO_DAYS = _l("Choose at least one day that suits you.")
NO_PARTS = _l("Choose at least one time of day that suits you.")
NO_DATE = _l("Please choose the last day you'd like to stay on the list.")
TOO_SOON = _l("Choose a date after today.")
TOO_LATE = _l("Choose a date within the next {days} days.")
NOT_WAITING = "This person is no longer waiting."
ALREADY_OFFERED = "That time was already offered to this person."
NOT_THEIRS = "{name} doesn't offer what this person asked for."
OFFER_CLOSED = _l("This offer has ended: the time was booked, or it is too close now.")
TAKEN_NOW = _l("Someone else booked this time a moment before you. You're still on the list, "
               "and we'll write again when another time frees up.")


class WaitlistError(UserError):
    """A waitlist change that cannot be made, in words for the person asking."""


class OfferGone(BookingError):
    """The offered time can no longer be booked from this offer."""


# ---------------------------------------------------------------- the pure core


def suits(days: Iterable[int], parts: Iterable[str], zone: str, starts_at: datetime) -> bool:
    """Return True when a time starting at `starts_at` falls on one of `days` (0 = Monday) and
    in one of `parts` of the day, both read in `zone`."""
    local = starts_at.astimezone(ZoneInfo(zone))
    return local.weekday() in set(days) and part_of_day(local) in set(parts)


def until_instant(day: date, zone: str) -> datetime:
    """Return the end of `day` in `zone`, in UTC: when a place kept "until" that day ends."""
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=ZoneInfo(zone)).astimezone(UTC)


def wish_errors(days: list[int], parts: list[str], until: date | None, today: date,
                max_days: int) -> list[tuple[str, str]]:
    """Return (field, message) for each wish that cannot be kept, in the form's order."""
    errors = []
    if not days:
        errors.append(("days", NO_DAYS))
    if not parts:
        errors.append(("parts", NO_PARTS))
    if until is None:
        errors.append(("until", NO_DATE))
    elif until <= today:
        errors.append(("until", TOO_SOON))
    elif until > today + timedelta(days=max_days):
        errors.append(("until", TOO_LATE.format(days=max_days)))
    return errors


def describe_days(days: Iterable[int]) -> str:
    """Return chosen weekdays in words ("Weekdays", "Monday, Thursday")."""
    chosen = sorted(set(days))
    named = {(0, 1, 2, 3, 4, 5, 6): _("Any day"), (0, 1, 2, 3, 4): _("Weekdays"),
             (5, 6): _("Weekends")}
    return named.get(tuple(chosen)) or ", ".join(str(DAYS[d]) for d in chosen if 0 <= d <= 6)


def describe_parts(parts: Iterable[str]) -> str:
    """Return chosen times of day in words ("Mornings, Evenings")."""
    chosen = [p for p in PARTS if p in set(parts)]
    if len(chosen) == len(PARTS):
        return _("Any time of day")
    return ", ".join(str(PART_NAMES[p]) for p in chosen)


def last_day(entry: WaitlistEntry) -> str:
    """Return the last day the place lasts, in its own zone ("Saturday 26 December")."""
    return day_name(entry.until - timedelta(seconds=1), entry.timezone)


# ---------------------------------------------------------------- joining and leaving


def _list_headers(entry_id: int) -> dict[str, str]:
    """Return the headers that let mail programs show their own one-click "unsubscribe"
    (RFC 2369 and RFC 8058), pointing at the leave link."""
    return {"List-Unsubscribe": f"<{links.waitlist_leave_url(entry_id)}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}


def _email(session, template: str, entry: WaitlistEntry, **context) -> None:
    """Queue one of the waitlist's emails to the person, with the way off the list."""
    intake = entry.intake
    enqueue(session, template, intake.name, intake.email, {
        "entry": entry, "first_name": intake.first_name, "discreet": intake.discreet,
        "zone": entry.timezone, "leave_url": links.waitlist_leave_url(entry.id), **context,
    }, intake_id=intake.id, headers=_list_headers(entry.id), language=i18n.for_intake(intake))


@dataclass(frozen=True)
class Joined:
    """A place asked for, and whether a confirmation email went out for it just now."""

    entry: WaitlistEntry
    emailed: bool


def join(intake: Intake, therapist: Therapist | None, days: list[int], parts: list[str],
         until: date | None, zone: str, now: datetime | None = None) -> Joined:
    """Put the intake on the waitlist (with one therapist, or with any who matched when
    `therapist` is None); return its place and whether a confirmation was emailed.

    A new place waits for the email confirmation, whose link is sent now; asking again for the
    same therapist (or for any) changes the wishes of the place already held, and sends the
    confirmation again only while it is unconfirmed (three a day at most). Raises
    WaitlistError for bad wishes.
    """
    now = now or now_utc()
    today = now.astimezone(ZoneInfo(zone)).date()
    days = sorted({d for d in days if 0 <= d <= 6})
    parts = [p for p in PARTS if p in set(parts)]
    errors = wish_errors(days, parts, until, today, current_app.config["WAITLIST_MAX_DAYS"])
    if errors:
        raise WaitlistError(errors[0][1], errors[0][0])
    therapist_id = therapist.id if therapist else None
    with unit_of_work() as session:
        same = (WaitlistEntry.therapist_id.is_(None) if therapist_id is None
                else WaitlistEntry.therapist_id == therapist_id)
        entry = session.scalar(sa.select(WaitlistEntry).where(
            WaitlistEntry.intake_id == intake.id, same,
            WaitlistEntry.status.in_(ON_THE_LIST)).with_for_update())
        if entry is None:
            entry = WaitlistEntry(intake_id=intake.id, therapist_id=therapist_id,
                                  status=PENDING, created_at=now)
            session.add(entry)
        entry.days, entry.parts, entry.timezone = days, parts, zone
        entry.until = until_instant(until, zone)
        session.flush()
        emailed = entry.status == PENDING and _confirmations_today(session, intake.email, now) < 3
        if emailed:
            _email(session, "waitlist_confirm", entry, therapist=therapist,
                   confirm_url=links.waitlist_confirm_url(entry.id))
    return Joined(entry, emailed)


def _confirmations_today(session, email: str, now: datetime) -> int:
    """Return how many confirmation emails went to `email` (whatever its case, from any
    intake) in the last day: three at most do, so nobody can fill someone's inbox."""
    return session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage).where(
        OutboxMessage.kind == "waitlist_confirm",
        OutboxMessage.created_at > now - timedelta(days=1),
        sa.func.lower(OutboxMessage.recipient) == (email or "").strip().lower()))


def confirm(entry_id: int, now: datetime | None = None) -> WaitlistEntry | None:
    """Confirm a place from the email link: from now on freed times are offered. Return the
    place (unchanged when it was confirmed already or has ended), or None when it is gone."""
    now = now or now_utc()
    with unit_of_work() as session:
        entry = session.get(WaitlistEntry, entry_id, with_for_update=True)
        if entry is not None and entry.status == PENDING and entry.until > now:
            entry.status, entry.confirmed_at = WAITING, now
    return entry


def _close_offers(session, entry_id: int, now: datetime, status: str = CLOSED) -> None:
    """End every open offer made to the place."""
    session.execute(sa.update(WaitlistOffer).where(
        WaitlistOffer.entry_id == entry_id, WaitlistOffer.status == OFFERED)
        .values(status=status, ended_at=now))


def leave(entry_id: int, now: datetime | None = None) -> WaitlistEntry | None:
    """Take the place off the list, with any time it was offered. Return it (None when gone);
    leaving twice is the same as leaving once."""
    now = now or now_utc()
    with unit_of_work() as session:
        entry = session.get(WaitlistEntry, entry_id, with_for_update=True)
        if entry is not None and entry.status in ON_THE_LIST:
            entry.status, entry.ended_at = LEFT, now
            _close_offers(session, entry.id, now)
    return entry


# ---------------------------------------------------------------- offering freed times


def offer_time(session, entry_id: int, therapist: Therapist, slot: Slot,
               by_user_id: int | None, now: datetime) -> WaitlistOffer | None:
    """Offer one open time to one person on the list, in the caller's unit of work: the
    offer, its line in the audit trail and its email. Return the offer, or None when the
    place (locked, read afresh) is no longer waiting: they left a moment ago."""
    entry = session.get(WaitlistEntry, entry_id, with_for_update=True, populate_existing=True)
    if entry is None or entry.status != WAITING or entry.until <= now:
        return None
    offer = WaitlistOffer(entry_id=entry.id, therapist_id=therapist.id, starts_at=slot.starts_at,
                          ends_at=slot.ends_at, status=OFFERED, created_at=now,
                          created_by=by_user_id)
    session.add(offer)
    session.flush()
    audit.record(session, "waitlist_offer", by_user_id, "waitlist_offer", offer.id,
                 detail=f"{'by hand' if by_user_id else 'freed time'}, place {entry.id}")
    _email(session, "waitlist_offer", entry, offer=offer, therapist=therapist,
           how=_l(FORMATS[meeting_format(entry.intake, therapist)]),
           offer_url=links.waitlist_offer_url(offer.id))
    return offer


@dataclass
class _Pass:
    """What one pass of the offering job knows, read once."""

    now: datetime
    ahead: dict[int, datetime]  # intake id: the start of the consultation it already holds
    offered: set[tuple[int, int, datetime]]  # (entry, therapist, start) offered already
    busy: set[int]  # places holding an open offer
    last: dict[tuple[int, datetime], datetime]  # (therapist, start): when last offered
    fits: dict[tuple[int, int], bool]

    def wants(self, entry: WaitlistEntry, therapist: Therapist, slot: Slot) -> bool:
        """Return True when the place would take this time: their therapist (or one who
        matched them), a day and time of day they chose, sooner than what they hold."""
        if entry.therapist_id not in (None, therapist.id):
            return False
        key = (entry.intake_id, therapist.id)
        if key not in self.fits:
            self.fits[key] = passes_filters(candidate_for(therapist), wish_for(entry.intake))
        held = self.ahead.get(entry.intake_id)
        return (self.fits[key] and suits(entry.days, entry.parts, entry.timezone, slot.starts_at)
                and (held is None or slot.starts_at < held))


def _pass(now: datetime, entries: list[WaitlistEntry]) -> _Pass:
    """Return what the offering job needs to know about the waiting places, in three reads."""
    ids = [e.id for e in entries]
    offers = db.session.execute(sa.select(
        WaitlistOffer.entry_id, WaitlistOffer.therapist_id, WaitlistOffer.starts_at,
        WaitlistOffer.status, WaitlistOffer.created_at).where(
        WaitlistOffer.entry_id.in_(ids))).all() if ids else []
    last: dict[tuple[int, datetime], datetime] = {}
    for _entry, therapist_id, starts_at, _start, created_at in offers:
        key = (therapist_id, starts_at)
        last[key] = max(last.get(key, created_at), created_at)
    ahead = dict(db.session.execute(
        sa.select(Appointment.intake_id, sa.func.min(Appointment.starts_at)).where(
            Appointment.intake_id.in_(sorted({e.intake_id for e in entries})),
            holds_its_time(Appointment.status), Appointment.starts_at > now)
        .group_by(Appointment.intake_id)).all()) if entries else {}
    return _Pass(now=now, ahead=ahead,
                 offered={(e, t, s) for e, t, s, _, _ in offers},
                 busy={e for e, _, _, status, _ in offers if status == OFFERED},
                 last=last, fits={})


def waiting_places(now: datetime) -> list[WaitlistEntry]:
    """Return the confirmed places still waiting, earliest request first, with their intakes."""
    return list(db.session.scalars(
        sa.select(WaitlistEntry).options(joinedload(WaitlistEntry.intake))
        .where(WaitlistEntry.status == WAITING, WaitlistEntry.until > now)
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id)))


def offer_freed_times(now: datetime | None = None) -> int:
    """Offer the open times inside the spans freed since the last pass to the people who were
    waiting when they freed and would take them: earliest request first, a few at a time
    (WAITLIST_OFFERS_AT_ONCE per time, the next few after WAITLIST_NEXT_OFFERS_HOURS without a
    taker), one open offer per person. Return how many offers were made.

    Each open time is weighed once per pass however many spans cover it, so the cost grows
    with a therapist's open times and the people waiting, not with the spans. A span is
    finished once none of its times is open any more, or everyone who could be offered one
    has been.
    """
    now = now or now_utc()
    spans = db.session.scalars(sa.select(FreedTime).where(FreedTime.done_at.is_(None))
                               .order_by(FreedTime.id)).all()
    if not spans:
        return 0
    entries = waiting_places(now)
    known = _pass(now, entries)
    therapists = {t.id: t for t in db.session.scalars(sa.select(Therapist).where(
        Therapist.id.in_(sorted({s.therapist_id for s in spans}))))}
    open_now = upcoming_times(list(therapists.values()), now) if entries else {}
    made, finished = 0, []
    for therapist_id, own in _by_therapist(spans).items():
        therapist = therapists.get(therapist_id)
        pending: set[int] = set()  # spans with a time someone may still be offered
        for slot in open_now.get(therapist_id, ()) if therapist else ():
            covering = [s for s in own if s.starts_at < slot.ends_at and slot.starts_at < s.ends_at]
            if not covering:
                continue
            # Those who were waiting when the time freed (they saw the times open before).
            freed_at = max(s.created_at for s in covering)
            chosen, more = _choose(known, [e for e in entries if e.created_at <= freed_at],
                                   therapist, slot)
            for entry in chosen:
                made += _offer_one(entry, therapist, slot, now)
                known.offered.add((entry.id, therapist.id, slot.starts_at))
                known.busy.add(entry.id)
                known.last[(therapist.id, slot.starts_at)] = now
            if more:
                pending.update(s.id for s in covering)
        finished += [s.id for s in own if s.id not in pending]
    if finished:
        with unit_of_work() as session:
            session.execute(sa.update(FreedTime).where(FreedTime.id.in_(finished))
                            .values(done_at=now))
    return made


def _by_therapist(spans: list[FreedTime]) -> dict[int, list[FreedTime]]:
    """Return the spans grouped by therapist."""
    grouped: dict[int, list[FreedTime]] = {}
    for span in spans:
        grouped.setdefault(span.therapist_id, []).append(span)
    return grouped


def _choose(known: _Pass, waiting: list[WaitlistEntry], therapist: Therapist, slot: Slot
            ) -> tuple[list[WaitlistEntry], bool]:
    """Return who to offer `slot` to now (the first few of `waiting` who would take it and
    were not offered it yet), and whether anyone may still be offered it in a later pass."""
    cfg = current_app.config
    last = known.last.get((therapist.id, slot.starts_at))
    if last is not None and known.now - last < timedelta(
            hours=cfg["WAITLIST_NEXT_OFFERS_HOURS"]):
        return [], True  # the last few still have time to answer
    chosen, more = [], False
    for entry in waiting:
        if ((entry.id, therapist.id, slot.starts_at) in known.offered
                or not known.wants(entry, therapist, slot)):
            continue
        if entry.id in known.busy or len(chosen) == cfg["WAITLIST_OFFERS_AT_ONCE"]:
            more = True  # may be offered it later
            continue
        chosen.append(entry)
    return chosen, more


def _offer_one(entry: WaitlistEntry, therapist: Therapist, slot: Slot, now: datetime) -> int:
    """Offer the time to one person in a transaction of its own; return 1 when offered, 0 when
    they left meanwhile or another worker offered it first."""
    try:
        with unit_of_work() as session:
            return 1 if offer_time(session, entry.id, therapist, slot, None, now) else 0
    except IntegrityError:
        return 0


def tidy(now: datetime | None = None) -> int:
    """End the places whose date has passed, and the offers whose time is taken or inside its
    therapist's notice window. Return how many of either ended."""
    now = now or now_utc()
    ended = 0
    with unit_of_work() as session:
        over = session.scalars(sa.select(WaitlistEntry.id).where(
            WaitlistEntry.status.in_(ON_THE_LIST), WaitlistEntry.until <= now)).all()
        for entry_id in over:
            session.execute(sa.update(WaitlistEntry).where(WaitlistEntry.id == entry_id)
                            .values(status=ENDED, ended_at=now))
            _close_offers(session, entry_id, now)
        ended += len(over)
    offers = db.session.execute(sa.select(
        WaitlistOffer.id, WaitlistOffer.therapist_id, WaitlistOffer.starts_at)
        .where(WaitlistOffer.status == OFFERED)).all()
    if offers:
        therapists = db.session.scalars(sa.select(Therapist).where(
            Therapist.id.in_(sorted({t for _, t, _ in offers})))).all()
        still = {(t, s.starts_at) for t, slots in upcoming_times(therapists, now).items()
                 for s in slots}
        gone = [i for i, t, starts_at in offers if (t, starts_at) not in still]
        if gone:
            with unit_of_work() as session:
                session.execute(sa.update(WaitlistOffer).where(
                    WaitlistOffer.id.in_(gone), WaitlistOffer.status == OFFERED)
                    .values(status=GONE, ended_at=now))
            ended += len(gone)
    return ended


def offer_by_hand(entry_id: int, therapist: Therapist, starts_at: datetime, by_user_id: int,
                  now: datetime | None = None) -> WaitlistOffer:
    """Offer an open time of `therapist` to one waiting person, for the front desk; return the
    offer. Raises WaitlistError when they are no longer waiting, the therapist doesn't fit
    them or already offered it, or TimeNotOpen when the time is not open."""
    now = now or now_utc()
    entry = db.session.get(WaitlistEntry, entry_id)
    if entry is None or entry.status != WAITING:
        raise WaitlistError(NOT_WAITING)
    if entry.therapist_id not in (None, therapist.id) or not passes_filters(
            candidate_for(therapist), wish_for(entry.intake)):
        raise WaitlistError(NOT_THEIRS.format(name=therapist.name))
    if not is_open(therapist, starts_at, now):
        raise TimeNotOpen("That time isn't open any more. Choose another.")
    slot = Slot(starts_at, starts_at + timedelta(minutes=therapist.consultation_minutes))
    try:
        with unit_of_work() as session:
            offer = offer_time(session, entry.id, therapist, slot, by_user_id, now)
    except IntegrityError:
        raise WaitlistError(ALREADY_OFFERED) from None
    if offer is None:
        raise WaitlistError(NOT_WAITING)
    return offer


# ---------------------------------------------------------------- taking an offer


def _held_by_another(offer: WaitlistOffer) -> bool:
    """Return True when a consultation now holds (part of) the offered time."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Appointment).where(
        Appointment.therapist_id == offer.therapist_id, holds_its_time(Appointment.status),
        Appointment.starts_at < offer.ends_at, Appointment.ends_at > offer.starts_at,
        Appointment.starts_at >= offer.starts_at - timedelta(days=1))) > 0


def book_offer(offer_id: int, now: datetime | None = None) -> Appointment:
    """Book the offered time for the person it was offered to, in one step, and return the
    appointment: the place leaves the list, its other offers close, and the same time offered
    to others is gone, all in the booking's transaction.

    Pressing again returns the same appointment. Raises OfferGone when the offer has ended,
    TimeTaken (the time went to someone else a moment before; the person stays on the list)
    and the booking's other errors.
    """
    now = now or now_utc()
    offer = db.session.get(WaitlistOffer, offer_id)
    if offer is None:
        raise OfferGone(OFFER_CLOSED)
    if offer.status == TAKEN and offer.appointment_id:
        return db.session.get(Appointment, offer.appointment_id)
    entry = offer.entry
    entry_id = entry.id
    if offer.status == GONE and entry.status == WAITING and _held_by_another(offer):
        raise TimeTaken(TAKEN_NOW)  # as when both press at once: the same kind words
    if offer.status != OFFERED or entry.status != WAITING:
        raise OfferGone(OFFER_CLOSED)

    def close(session, appointment: Appointment) -> None:
        # The place before its offers, in the order leaving and tidying lock them.
        place = session.get(WaitlistEntry, entry_id, with_for_update=True)
        mine = session.get(WaitlistOffer, offer_id, with_for_update=True)
        if mine.status != OFFERED or place.status != WAITING:
            raise OfferGone(OFFER_CLOSED)
        mine.status, mine.ended_at, mine.appointment_id = TAKEN, now, appointment.id
        place.status, place.ended_at = BOOKED, now
        session.flush()
        _close_offers(session, place.id, now)
        session.execute(sa.update(WaitlistOffer).where(
            WaitlistOffer.therapist_id == mine.therapist_id,
            WaitlistOffer.starts_at == mine.starts_at, WaitlistOffer.status == OFFERED)
            .values(status=GONE, ended_at=now))

    try:
        booked = book(entry.intake, offer.therapist, offer.starts_at, offer_key(offer.id), now,
                      also=close)
    except (TimeTaken, TimeNotOpen):
        db.session.rollback()
        again = db.session.get(WaitlistOffer, offer_id)
        if again.status == TAKEN and again.appointment_id:  # their own first press won
            return db.session.get(Appointment, again.appointment_id)
        with unit_of_work() as session:
            session.execute(sa.update(WaitlistOffer).where(
                WaitlistOffer.id == offer_id, WaitlistOffer.status == OFFERED)
                .values(status=GONE, ended_at=now))
        raise
    return booked.appointment


def offer_key(offer_id: int) -> str:
    """Return the idempotency key of the booking made from an offer: unguessable, and with a
    ":" the booking form's keys never have, so nobody else can book with it."""
    secret = current_app.config["SECRET_KEY"].encode()
    digest = hmac.new(secret, f"waitlist-offer:{offer_id}".encode(), hashlib.sha256)
    return f"wl:{digest.hexdigest()[:40]}"


# ---------------------------------------------------------------- what the front desk reads


def waitlist_of(therapist: Therapist, now: datetime | None = None
                ) -> list[tuple[WaitlistEntry, list[WaitlistOffer]]]:
    """Return the places on the list that the therapist could be offered to (theirs, and those
    waiting for any therapist who matched), earliest first, each with the offers made to it,
    newest first. A few statements, whatever the length of the list."""
    now = now or now_utc()
    candidate = candidate_for(therapist)
    entries = [e for e in db.session.scalars(
        sa.select(WaitlistEntry).options(joinedload(WaitlistEntry.intake))
        .where(WaitlistEntry.status.in_(ON_THE_LIST), WaitlistEntry.until > now,
               sa.or_(WaitlistEntry.therapist_id == therapist.id,
                      WaitlistEntry.therapist_id.is_(None)))
        .order_by(WaitlistEntry.created_at, WaitlistEntry.id))
        if e.therapist_id == therapist.id
        or passes_filters(candidate, wish_for(e.intake))]
    offers: dict[int, list[WaitlistOffer]] = {e.id: [] for e in entries}
    if entries:
        for offer in db.session.scalars(
                sa.select(WaitlistOffer).options(joinedload(WaitlistOffer.therapist))
                .where(WaitlistOffer.entry_id.in_(list(offers)))
                .order_by(WaitlistOffer.created_at.desc(), WaitlistOffer.id.desc())):
            offers[offer.entry_id].append(offer)
    return [(e, offers[e.id]) for e in entries]


def record_view(therapist_id: int, user_id: int) -> None:
    """Record in the audit trail that a staff member opened a therapist's waitlist (it names
    the people waiting)."""
    with unit_of_work() as session:
        audit.record(session, "view_waitlist", user_id, "therapist", therapist_id)


def fitting_times(entry: WaitlistEntry, therapist: Therapist, now: datetime | None = None,
                  count: int = 8, offered: Collection[datetime] = ()) -> list[Slot]:
    """Return up to `count` of the therapist's open times for the place, leaving out those
    `offered` to it already: those on the days and at the times of day it asked for first,
    then the soonest others."""
    now = now or now_utc()
    slots = [s for s in upcoming_times([therapist], now)[therapist.id]
             if s.starts_at not in offered]
    fitting = [s for s in slots if suits(entry.days, entry.parts, entry.timezone, s.starts_at)]
    others = [s for s in slots if s not in fitting]
    return (fitting + others)[:count]
