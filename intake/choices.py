"""The intake's fixed choices, in the practice's own words. Plain data, no Flask.

Every word a client reads is marked with `N_` so that `pybabel extract` finds it; the pages
translate it when they show it (English here, Spanish in the catalogue).
"""

from __future__ import annotations

from dataclasses import dataclass


def N_(text: str) -> str:  # noqa: N802  (the name gettext's tools look for)
    """Return `text` unchanged; it marks the text for the translation catalogue."""
    return text

COUPLES = "couples"
EMDR = "emdr"
CFT = "cft"
NOT_SURE = "not_sure"

MODALITIES = {
    COUPLES: N_("Couples therapy"),
    EMDR: N_("EMDR"),
    CFT: N_("Compassion-focused therapy"),
}
MODALITY_CHOICES = [*MODALITIES.items(), (NOT_SURE, N_("I'm not sure yet: help me choose"))]

# How a therapist's offering reads as a reason on the match page.
MODALITY_REASONS = {
    COUPLES: N_("Offers couples therapy"),
    EMDR: N_("EMDR-trained"),
    CFT: N_("Offers compassion-focused therapy"),
}


@dataclass(frozen=True)
class Concern:
    """A concern tag: its label on the form, its short form in reasons, and what fits it."""

    key: str
    label: str
    short: str
    modalities: tuple[str, ...]


CONCERNS = [
    Concern("disconnection", N_("Feeling disconnected or distant from my partner"),
            N_("disconnection"), (COUPLES,)),
    Concern("conflict", N_("The same arguments, over and over"),
            N_("recurring conflict"), (COUPLES,)),
    Concern("defensiveness", N_("Defensiveness and blame"),
            N_("defensiveness and blame"), (COUPLES,)),
    Concern("withdrawal", N_("One of us shuts down or withdraws"),
            N_("withdrawal"), (COUPLES,)),
    Concern("intimacy", N_("Wanting more emotional closeness"),
            N_("emotional intimacy"), (COUPLES,)),
    Concern("repair", N_("Repairing trust or an emotional injury"),
            N_("repairing trust"), (COUPLES,)),
    Concern("attachment", N_("Old wounds or attachment patterns"),
            N_("attachment history"),
            (COUPLES, CFT)),
    Concern("trauma", N_("Something traumatic or deeply distressing happened"),
            N_("trauma"),
            (EMDR, CFT)),
    Concern("ptsd", N_("Flashbacks, nightmares or feeling constantly on edge"),
            N_("PTSD"),
            (EMDR, CFT)),
    Concern("shame", N_("Shame"),
            N_("shame"), (CFT,)),
    Concern("self_criticism", N_("A harsh inner critic"),
            N_("self-criticism"), (CFT,)),
]
CONCERNS_BY_KEY = {c.key: c for c in CONCERNS}

SAFETY_CHOICES = [
    ("no", N_("No")),
    ("yes", N_("Yes")),
]
RISK_ANSWERS = {"yes"}

# A couple's partner, alone in their own intake: do they feel safe with the person they would
# come with? Anything but a plain "no" is a reason to talk to them privately first.
FEELS_SAFE_CHOICES = [
    ("no", N_("No")),
    ("yes", N_("Yes")),
    ("unsure", N_("I'm not sure, or I'd rather talk about it with someone")),
]
PARTNER_RISK_ANSWERS = {"yes", "unsure"}
COUPLE_CONCERNS = ("disconnection", "conflict", "defensiveness", "withdrawal", "intimacy",
                   "repair", "attachment")

KIND_CHOICES = [("individual", N_("Just me")), ("couple", N_("My partner and me"))]

TELEHEALTH = "telehealth"
IN_PERSON = "in_person"
FORMATS = {TELEHEALTH: N_("Online (video)"), IN_PERSON: N_("In person")}
FORMAT_CHOICES = [*FORMATS.items(), ("either", N_("Either is fine"))]

LANGUAGES = {
    "en": N_("English"),
    "es": N_("Español (Spanish)"),
    "fr": N_("Français (French)"),
    "pt": N_("Português (Portuguese)"),
}
LANGUAGE_NAMES = {"en": N_("English"), "es": N_("Spanish"), "fr": N_("French"),
                  "pt": N_("Portuguese")}

TIMES = {
    "morning": N_("Mornings (before noon)"),
    "afternoon": N_("Afternoons (noon to 5 pm)"),
    "evening": N_("Evenings (from 5 pm)"),
    "weekday": N_("Weekdays"),
    "weekend": N_("Weekends"),
}
TIME_REASONS = {
    "morning": N_("has morning times"),
    "afternoon": N_("has afternoon times"),
    "evening": N_("has evening times"),
    "weekday": N_("has weekday times"),
    "weekend": N_("has weekend times"),
}
