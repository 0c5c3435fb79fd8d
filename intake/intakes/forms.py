"""The intake form. All steps are one form: fields of finished steps ride along as hidden
inputs, so the form works with plain posts, keeps everything typed, and stores nothing until the
person submits (or until the safety answer calls for help)."""

from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TelField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Email, InputRequired, Length, Optional, ValidationError

from .. import i18n
from ..choices import (
    CONCERNS,
    FORMAT_CHOICES,
    KIND_CHOICES,
    LANGUAGES,
    MODALITY_CHOICES,
    SAFETY_CHOICES,
    TIMES,
)
from ..forms import (
    MultiCheckboxField,
    no_control_characters,
    options,
    single_line,
    strip,
    timezone_options,
)

STORY_MAX = 4000
NAME_MAX = 120
PHONE = re.compile(r"^\+?[0-9 ().\-]{6,30}$")


# Questions both a client's intake and a couple's partner's ask, in the same words.

def story_field() -> TextAreaField:
    """Return the optional "in your own words" answer, within STORY_MAX characters."""
    return TextAreaField(
        _l("In your own words (optional)"),
        filters=[strip],
        validators=[Optional(), Length(max=STORY_MAX, message=(
            _l("Please keep this under %(max)s characters. You can tell your therapist more "
               "when you meet.", max=f"{STORY_MAX:,}"))), no_control_characters],
    )


def timezone_field() -> SelectField:
    """Return the time-zone question (its choices are set when the form is made)."""
    return SelectField(_l("Your time zone"), validators=[InputRequired(
        _l("Please choose your time zone so we can show times correctly."))])


def name_field() -> StringField:
    """Return the one-line name question."""
    return StringField(_l("Your name"), filters=[strip], validators=[
        DataRequired(_l("Please tell us your name.")),
        Length(max=NAME_MAX, message=_l("Please keep your name under %(max)s characters.",
                                        max=NAME_MAX)),
        single_line])


def email_field(why: str) -> EmailField:
    """Return the email question; `why` is the message when it is left empty."""
    return EmailField(_l("Your email"), filters=[strip], validators=[
        DataRequired(why),
        Length(max=254, message=_l("That email address is too long.")),
        Email(_l("Please check your email address: it should look like name@example.com."),
              allow_smtputf8=False)])


def privacy_field() -> BooleanField:
    """Return the privacy notice's checkbox, which must be ticked."""
    return BooleanField(
        _l("I have read the privacy notice"),
        validators=[DataRequired(_l("Please read and accept the privacy notice to continue."))])


def _plain(message: str) -> str:
    """Return WTForms' choice errors in plain words (a tampered or unknown value)."""
    if "valid choice" in message:
        return _l("Please choose one of the options shown.")
    return message


class IntakeForm(FlaskForm):
    """Every intake question; `STEPS` says which belong to which step."""

    class Meta:
        csrf_field_name = "csrf_token"

    step = HiddenField(default="0")
    started = HiddenField()
    website = StringField("Leave this empty", validators=[Optional()])  # honeypot

    safety = RadioField(
        _l("Right now, are you having thoughts of ending your life or of harming yourself or "
           "someone else, or are you in danger?"),
        choices=options(SAFETY_CHOICES),
        validators=[InputRequired(_l("Please answer this question so we can make sure you get "
                                     "the right help."))],
    )

    concerns = MultiCheckboxField(_l("What brings you here? Choose any that fit."),
                                  choices=options((c.key, c.label) for c in CONCERNS))
    story = story_field()
    modality = RadioField(
        _l("Which kind of therapy are you looking for?"), choices=options(MODALITY_CHOICES),
        validators=[InputRequired(_l("Please choose one, or choose “I’m not sure yet”."))])
    kind = RadioField(
        _l("Who would come to the sessions?"), choices=options(KIND_CHOICES), default="individual",
        validators=[InputRequired(_l("Please choose who would come."))])
    partner_name = StringField(
        _l("Your partner's first name"), filters=[strip],
        validators=[Optional(), Length(max=NAME_MAX), single_line],
    )
    partner_agreed = BooleanField(_l("My partner agreed to be contacted by the practice"))
    partner_email = EmailField(
        _l("Your partner's email (optional)"), filters=[strip],
        validators=[Optional(), Length(max=254),
                    Email(_l("Please check your partner's email address."), allow_smtputf8=False)],
    )

    format = RadioField(
        _l("How would you like to meet?"), choices=options(FORMAT_CHOICES), default="either",
        validators=[InputRequired(_l("Please choose how you'd like to meet."))])
    language = SelectField(
        _l("Language for sessions"), choices=options(LANGUAGES.items()), default="en",
        validators=[InputRequired(_l("Please choose a language."))])
    times = MultiCheckboxField(_l("When suits you? Choose any that fit."),
                               choices=options(TIMES.items()))
    timezone = timezone_field()

    name = name_field()
    email = email_field(_l("Please give an email address so we can send your appointment."))
    phone = TelField(_l("Phone (optional)"), filters=[strip], validators=[Optional()])
    consent_contact = BooleanField(
        _l("The practice may contact me by email (and phone, if given) about my consultation"),
        validators=[DataRequired(_l("We need your permission to contact you about your "
                                    "consultation."))])
    discreet = BooleanField(_l("Please keep contact discreet: no reminder emails"))
    consent_privacy = privacy_field()

    STEPS = (
        (_l("Safety"), ("safety",)),
        (_l("What brings you"), ("concerns", "story", "modality", "kind", "partner_name",
                             "partner_agreed", "partner_email")),
        (_l("Preferences"), ("format", "language", "times", "timezone")),
        (_l("Contact"), ("name", "email", "phone", "discreet", "consent_contact",
                     "consent_privacy")),
    )

    def __init__(self, *args, default_timezone: str = "UTC", **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_options()
        if not self.is_submitted():  # a fresh intake: sessions in the language it is read in
            self.language.data = i18n.current()
        if not self.timezone.data:
            self.timezone.data = default_timezone

    @property
    def current_step(self) -> int:
        """Return the step the form was posted from (0-based, clamped to the steps there are)."""
        try:
            value = int(self.step.data or 0)
        except (TypeError, ValueError):
            return 0
        return min(max(value, 0), len(self.STEPS) - 1)

    def fields_of(self, index: int) -> list:
        """Return the form fields shown on step `index`."""
        return [self[name] for name in self.STEPS[index][1]]

    def validate_through(self, last: int) -> int | None:
        """Validate every step up to `last`; return the first step with an error, or None."""
        first_bad = None
        if not self.validate_on_submit_token():
            self.csrf_token.errors = [_("For your security this page expired. Please press "
                                        "the button again: your answers are kept.")]
            first_bad = last
        for index in range(last + 1):
            ok = all([field.validate(self) for field in self.fields_of(index)])
            for field in self.fields_of(index):
                field.errors = [_plain(e) for e in field.errors]
            ok = self._check_step(index) and ok
            if not ok and first_bad is None:
                first_bad = index
        return first_bad

    def validate_on_submit_token(self) -> bool:
        """Return True when the CSRF token is valid (its error is kept on the form)."""
        field = getattr(self, "csrf_token", None)
        return field is None or field.validate(self)

    def _check_step(self, index: int) -> bool:
        """Return False after adding messages for rules that span fields on step `index`."""
        ok = True
        if index == 1:
            if self.kind.data == "couple" and not self.partner_name.data:
                self.partner_name.errors.append(_l("Please tell us your partner's first name."))
                ok = False
            if self.partner_email.data and not self.partner_agreed.data:
                self.partner_email.errors.append(
                    _("Only give your partner's email if they agreed to be contacted: tick the "
                      "box above, or leave this empty."))
                ok = False
            if self.kind.data != "couple" and (self.partner_name.data or self.partner_email.data):
                self.partner_name.data = ""
                self.partner_email.data = ""
                self.partner_agreed.data = False
        if index == 3 and self.phone.data and not PHONE.match(self.phone.data):
            self.phone.errors.append(_l("Please give a phone number using digits, spaces and +."))
            ok = False
        if (index == 3 and self.email.data and self.partner_email.data
                and self.email.data.casefold() == self.partner_email.data.casefold()):
            self.email.errors.append(_("That's the address you gave for your partner. Please "
                                       "give your own: each of you hears from us privately."))
            ok = False
        return ok

    def field_errors(self) -> dict[str, list[str]]:
        """Return the errors by field name (for the summary at the top of a step)."""
        return {name: list(f.errors) for name, f in self._fields.items() if f.errors}


class UrgentContactForm(FlaskForm):
    """A name and number left on the crisis page so staff can call back."""

    name = StringField(_l("Your first name"), filters=[strip], validators=[
        DataRequired(_l("Please tell us what to call you.")), Length(max=NAME_MAX), single_line])
    phone = TelField(_l("Phone number"), filters=[strip], validators=[
        DataRequired(_l("Please give a number we can call."))])

    def validate_phone(self, field) -> None:
        """Accept digits, spaces, brackets, dots, dashes and a leading +."""
        if not PHONE.match(field.data or ""):
            raise ValidationError(_l("Please give a phone number using digits, spaces and +."))
