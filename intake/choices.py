"""The intake's fixed choices, in the practice's own words. Plain data, no Flask."""

from __future__ import annotations

from dataclasses import dataclass

COUPLES = "couples"
EMDR = "emdr"
CFT = "cft"
NOT_SURE = "not_sure"

MODALITIES = {
    COUPLES: "Couples therapy",
    EMDR: "EMDR",
    CFT: "Compassion-focused therapy",
}
MODALITY_CHOICES = [*MODALITIES.items(), (NOT_SURE, "I'm not sure yet: help me choose")]

# How a therapist's offering reads as a reason on the match page.
MODALITY_REASONS = {
    COUPLES: "Offers couples therapy",
    EMDR: "EMDR-trained",
    CFT: "Offers compassion-focused therapy",
}


@dataclass(frozen=True)
class Concern:
    """A concern tag: its label on the form, its short form in reasons, and what fits it."""

    key: str
    label: str
    short: str
    modalities: tuple[str, ...]


CONCERNS = [
    Concern("disconnection", "Feeling disconnected or distant from my partner",
            "disconnection", (COUPLES,)),
    Concern("conflict", "The same arguments, over and over", "recurring conflict", (COUPLES,)),
    Concern("defensiveness", "Defensiveness and blame", "defensiveness and blame", (COUPLES,)),
    Concern("withdrawal", "One of us shuts down or withdraws", "withdrawal", (COUPLES,)),
    Concern("intimacy", "Wanting more emotional closeness", "emotional intimacy", (COUPLES,)),
    Concern("repair", "Repairing trust or an emotional injury", "repairing trust", (COUPLES,)),
    Concern("attachment", "Old wounds or attachment patterns", "attachment history",
            (COUPLES, CFT)),
    Concern("trauma", "Something traumatic or deeply distressing happened", "trauma",
            (EMDR, CFT)),
    Concern("ptsd", "Flashbacks, nightmares or feeling constantly on edge", "PTSD",
            (EMDR, CFT)),
    Concern("shame", "Shame", "shame", (CFT,)),
    Concern("self_criticism", "A harsh inner critic", "self-criticism", (CFT,)),
]
CONCERNS_BY_KEY = {c.key: c for c in CONCERNS}

SAFETY_CHOICES = [
    ("no", "No"),
    ("yes", "Yes"),
]
RISK_ANSWERS = {"yes"}

# A couple's partner, alone in their own intake: do they feel safe with the person they would
# come with? Anything but a plain "no" is a reason to talk to them privately first.
FEELS_SAFE_CHOICES = [
    ("no", "No"),
    ("yes", "Yes"),
    ("unsure", "I'm not sure, or I'd rather talk about it with someone"),
]
PARTNER_RISK_ANSWERS = {"yes", "unsure"}
COUPLE_CONCERNS = ("disconnection", "conflict", "defensiveness", "withdrawal", "intimacy",
                   "repair", "attachment")

KIND_CHOICES = [("individual", "Just me"), ("couple", "My partner and me")]

TELEHEALTH = "telehealth"
IN_PERSON = "in_person"
FORMATS = {TELEHEALTH: "Online (video)", IN_PERSON: "In person"}
FORMAT_CHOICES = [*FORMATS.items(), ("either", "Either is fine")]

LANGUAGES = {
    "en": "English",
    "es": "Español (Spanish)",
    "fr": "Français (French)",
    "pt": "Português (Portuguese)",
}
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese"}

TIMES = {
    "morning": "Mornings (before noon)",
    "afternoon": "Afternoons (noon to 5 pm)",
    "evening": "Evenings (from 5 pm)",
    "weekday": "Weekdays",
    "weekend": "Weekends",
}
TIME_REASONS = {
    "morning": "has morning times",
    "afternoon": "has afternoon times",
    "evening": "has evening times",
    "weekday": "has weekday times",
    "weekend": "has weekend times",
}
