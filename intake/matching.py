"""Matching a prospective client to therapists: pure scoring with reasons in plain words.

Hard filters first (modality, accepting new clients, format, language), then soft scores
(concerns, preferred times, current load). No Flask, no database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from .choices import (
    CONCERNS_BY_KEY,
    COUPLES,
    IN_PERSON,
    LANGUAGE_NAMES,
    MODALITIES,
    MODALITY_REASONS,
    N_,
    NOT_SURE,
    TELEHEALTH,
    TIME_REASONS,
)
from .scheduling.slots import HoursRange, local_instant, working_intervals


@dataclass(frozen=True)
class Candidate:
    """What matching needs to know about one therapist."""

    id: int
    modalities: frozenset[str]
    concerns: frozenset[str]
    languages: frozenset[str]
    formats: frozenset[str]
    accepting: bool
    timezone: str
    hours: tuple[HoursRange, ...]
    load: int = 0  # active appointments in the coming two weeks


@dataclass(frozen=True)
class Wish:
    """What the person asked for on the intake."""

    modality: str
    concerns: frozenset[str] = frozenset()
    kind: str = "individual"
    format: str = "either"
    language: str = "en"
    times: frozenset[str] = frozenset()
    timezone: str = "UTC"


@dataclass(frozen=True)
class Reason:
    """One reason a therapist fits: words marked for translation, and the phrases they list
    (`%(list)s`), each marked too."""

    words: str
    listed: tuple[str, ...] = ()


@dataclass
class Match:
    """A therapist who passed the hard filters, with a score and the reasons for it."""

    therapist_id: int
    score: float
    because: list[Reason] = field(default_factory=list)

    @property
    def reasons(self) -> list[str]:
        """Return the reasons in plain English words."""
        return describe(self.because)


def describe(because: Sequence[Reason], translate=lambda text: text) -> list[str]:
    """Return the reasons as sentences, each word passed through `translate` (a page's
    gettext; English as it is by default)."""
    return [_capitalise(translate(r.words) % {"list": _join([translate(p) for p in r.listed],
                                                            translate)})
            for r in because]


def wanted_modalities(wish: Wish) -> frozenset[str]:
    """Return the modalities that would suit the person.

    A named modality is taken as asked. "Not sure" is read from the concerns (relationship
    concerns suggest couples therapy; trauma and PTSD suggest EMDR or compassion-focused
    therapy); a couple who is not sure is offered couples therapy; with nothing to go on,
    every modality fits.
    """
    if wish.modality in MODALITIES:
        return frozenset({wish.modality})
    if wish.kind == "couple":
        return frozenset({COUPLES})
    fitting: set[str] = set()
    for key in wish.concerns:
        concern = CONCERNS_BY_KEY.get(key)
        if concern:
            fitting.update(concern.modalities)
    return frozenset(fitting or MODALITIES)


def passes_filters(candidate: Candidate, wish: Wish) -> bool:
    """Return True when the therapist meets every hard requirement of the wish."""
    if not candidate.accepting or not candidate.modalities & wanted_modalities(wish):
        return False
    if wish.format in (TELEHEALTH, IN_PERSON) and wish.format not in candidate.formats:
        return False
    return not wish.language or wish.language in candidate.languages


PARTS_OF_DAY = (("morning", time(6), time(12)), ("afternoon", time(12), time(17)),
                ("evening", time(17), time(22)))


def time_buckets(candidate: Candidate, zone: str, today: date) -> set[str]:
    """Return which of morning/afternoon/evening/weekday/weekend the therapist's hours cover.

    Hours are read for the coming week and placed in the client's zone `zone`; a part of the
    day (morning 6–12, afternoon 12–17, evening 17–22) is covered when any working time falls
    inside it.
    """
    return set(_buckets(tuple(candidate.hours), candidate.timezone, zone, today))


@lru_cache(maxsize=4096)
def _buckets(hours: tuple[HoursRange, ...], own_zone: str, zone: str,
             today: date) -> frozenset[str]:
    """Return `time_buckets` for these hours; remembered, as every match page asks again."""
    start = datetime.combine(today, time(0), tzinfo=UTC)
    tz = ZoneInfo(zone)
    buckets: set[str] = set()
    for s, e in working_intervals(hours, own_zone, start, start + timedelta(days=7)):
        local_start, local_end = s.astimezone(tz), e.astimezone(tz)
        day = local_start.date()
        while day <= local_end.date():
            if local_end > local_instant(day, time(0), tz):  # not only ending at its midnight
                buckets.add("weekend" if day.weekday() >= 5 else "weekday")
            for name, begins, ends in PARTS_OF_DAY:
                if (local_start < local_instant(day, ends, tz)
                        and local_instant(day, begins, tz) < local_end):
                    buckets.add(name)
            day += timedelta(days=1)
    return frozenset(buckets)


def score(candidate: Candidate, wish: Wish, today: date) -> Match:
    """Return the candidate's match: a score (higher is better) and the reasons behind it."""
    reasons: list[Reason] = []
    points = 0.0
    wanted = wanted_modalities(wish)
    for modality in sorted(candidate.modalities & wanted):
        reasons.append(Reason(MODALITY_REASONS[modality]))
    if wish.modality == NOT_SURE:
        points += len(candidate.modalities & wanted)

    shared = [CONCERNS_BY_KEY[k] for k in sorted(wish.concerns & candidate.concerns)
              if k in CONCERNS_BY_KEY]
    if shared:
        points += 3 * len(shared)
        reasons.append(Reason(N_("works with %(list)s"), tuple(c.short for c in shared)))

    if wish.times:
        covered = sorted(wish.times & time_buckets(candidate, wish.timezone, today))
        points += 2 * len(covered)
        if covered:
            reasons.append(Reason("%(list)s", tuple(TIME_REASONS[t] for t in covered)))

    if wish.format == TELEHEALTH:
        reasons.append(Reason(N_("sees clients online")))
    elif wish.format == IN_PERSON:
        reasons.append(Reason(N_("sees clients in person")))
    if wish.language and wish.language != "en":
        reasons.append(Reason(N_("speaks %(list)s"),
                              (LANGUAGE_NAMES.get(wish.language, wish.language),)))

    points -= 0.25 * candidate.load
    if candidate.load <= 2:
        reasons.append(Reason(N_("has room for new clients")))
    return Match(candidate.id, points, reasons)


def rank(
    candidates: Sequence[Candidate], wish: Wish, today: date, limit: int = 3
) -> list[Match]:
    """Return the best `limit` matches, best first; ties go to the lighter load, then id."""
    loads = {c.id: c.load for c in candidates if passes_filters(c, wish)}
    matches = [score(c, wish, today) for c in candidates if c.id in loads]
    matches.sort(key=lambda m: (-m.score, loads[m.therapist_id], m.therapist_id))
    return matches[:limit]


def _join(items: Sequence[str], translate=lambda text: text) -> str:
    """Return items joined in plain words ("a, b and c")."""
    if len(items) <= 1:
        return items[0] if items else ""
    return translate(N_("%(items)s and %(last)s")) % {"items": ", ".join(items[:-1]),
                                                      "last": items[-1]}


def _capitalise(text: str) -> str:
    """Return text with its first letter upper-case and the rest untouched."""
    return text[:1].upper() + text[1:]
