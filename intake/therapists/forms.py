"""Forms for a therapist's profile, hours and time off."""

from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    IntegerField,
    StringField,
    TextAreaField,
    TimeField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from ..choices import CONCERNS, FORMATS, LANGUAGES, MODALITIES
from ..forms import MultiCheckboxField, options, single_line

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
RANGES_PER_DAY = 3


class ProfileForm(FlaskForm):
    """What clients see about a therapist, and how their bookings are handled."""

    name = StringField("Name", validators=[DataRequired("Enter a name."), Length(max=120),
                                           single_line])
    credentials = StringField("Credentials", validators=[Optional(), Length(max=80), single_line])
    pronouns = StringField("Pronouns", validators=[Optional(), Length(max=40), single_line])
    bio = TextAreaField("Short bio", validators=[Optional(), Length(
        max=1200, message="Please keep the bio under 1,200 characters.")])
    modalities = MultiCheckboxField("Modalities", choices=options(MODALITIES.items()),
                                    validators=[DataRequired("Choose at least one modality.")])
    concerns = MultiCheckboxField("Concerns they work with",
                                  choices=options((c.key, c.label) for c in CONCERNS))
    languages = MultiCheckboxField("Languages", choices=options(LANGUAGES.items()),
                                   validators=[DataRequired("Choose at least one language.")])
    formats = MultiCheckboxField("Formats", choices=options(FORMATS.items()),
                                 validators=[DataRequired("Choose at least one format.")])
    video_room = StringField("Video room address (for online consultations)", filters=[
        lambda value: (value or "").strip()], validators=[Optional(), Length(max=500)])
    accepting_new_clients = BooleanField("Accepting new clients")
    auto_confirm = BooleanField("Confirm bookings automatically (otherwise the front desk does)")
    photo = FileField("Photo (optional; PNG, JPEG or WebP, under 2 MB)")
    remove_photo = BooleanField("Remove the current photo")


def _rule(label: str, low: int, high: int, message: str):
    return IntegerField(label, validators=[InputRequired(message),
                                           NumberRange(min=low, max=high, message=message)])


class HoursForm(FlaskForm):
    """Weekly hours (up to three ranges a day) and the booking rules."""

    buffer_minutes = _rule("Buffer between consultations (minutes)", 0, 120,
                           "Use 0 to 120 minutes.")
    min_notice_hours = _rule("Minimum notice (hours)", 0, 24 * 14, "Use 0 to 336 hours.")
    horizon_days = _rule("How far ahead clients can book (days)", 1, 365, "Use 1 to 365 days.")
    consultation_minutes = _rule("Consultation length (minutes)", 10, 180,
                                 "Use 10 to 180 minutes.")


for _day in range(7):
    for _slot in range(RANGES_PER_DAY):
        setattr(HoursForm, f"d{_day}s{_slot}", TimeField(validators=[Optional()]))
        setattr(HoursForm, f"d{_day}e{_slot}", TimeField(validators=[Optional()]))


class TimeOffForm(FlaskForm):
    """A period away, in the therapist's own zone."""

    starts = DateTimeLocalField("From", validators=[InputRequired("Choose when it starts.")])
    ends = DateTimeLocalField("Until", validators=[InputRequired("Choose when it ends.")])
    note = StringField("Note (only staff see it)", validators=[Optional(), Length(max=200)])
