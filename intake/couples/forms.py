"""The partner's own intake: one short page, the same care as the first intake (a message
beside each field, everything typed kept), and a private safety screen."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    RadioField,
    TelField,
)
from wtforms.validators import DataRequired, InputRequired, Optional

from ..choices import (
    CONCERNS_BY_KEY,
    COUPLE_CONCERNS,
    FEELS_SAFE_CHOICES,
    PARTNER_RISK_ANSWERS,
    RISK_ANSWERS,
    SAFETY_CHOICES,
)
from ..forms import (
    MultiCheckboxField,
    options,
    strip,
    timezone_options,
)
from ..intakes.forms import (
    PHONE,
    email_field,
    name_field,
    privacy_field,
    story_field,
    timezone_field,
)

SAFETY_QUESTION = _l("Right now, are you having thoughts of ending your life or of harming "
                     "yourself or someone else, or are you in danger?")


class PartnerForm(FlaskForm):
    """What a couple's partner tells the practice, in their own words."""

    safety = RadioField(SAFETY_QUESTION, choices=options(SAFETY_CHOICES), validators=[
        InputRequired(_l("Please answer this question so we can make sure you get the right "
                         "help."))])
    feels_safe = RadioField(
        _l("Do you ever feel afraid of your partner, or has your partner hurt you, threatened "
           "you or tried to control what you do?"),
        choices=options(FEELS_SAFE_CHOICES), validators=[
            InputRequired(_l("Please choose one. Any answer is all right: only our team and "
                             "your therapist see it."))])
    concerns = MultiCheckboxField(
        _l("What would you like to work on together? Choose any that fit."),
        choices=options((key, CONCERNS_BY_KEY[key].label) for key in COUPLE_CONCERNS))
    story = story_field()
    timezone = timezone_field()
    name = name_field()
    email = email_field(_l("Please give an email address so we can send you the invitation."))
    phone = TelField(_l("A phone number that's safe for us to call (optional)"), filters=[strip],
                     validators=[Optional()])
    discreet = BooleanField(_l("Please keep contact discreet: no reminder emails"))
    consent_contact = BooleanField(
        _l("The practice may contact me by email (and phone, if given) about the consultation"),
        validators=[DataRequired(_l("We need your permission to contact you about the "
                                    "consultation."))])
    consent_privacy = privacy_field()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = timezone_options()

    def signals_risk(self) -> bool:
        """Return True when either safety answer (a valid one) means a call comes first."""
        return (self.safety.data in RISK_ANSWERS
                or self.feels_safe.data in PARTNER_RISK_ANSWERS)

    def check(self) -> bool:
        """Validate every field; return True when all is well (messages stay on the fields,
        in plain words)."""
        ok = self.validate()
        if self.phone.data and not PHONE.match(self.phone.data):
            self.phone.errors = [*self.phone.errors,
                                 _("Please give a phone number using digits, spaces and +.")]
            ok = False
        for field in self:
            field.errors = [_("Please choose one of the options shown.") if "valid choice" in e
                            else e for e in field.errors]
        return ok

    def kept(self) -> dict:
        """Return the answers that passed their own checks (for a screen that signalled risk,
        stored before anything else is asked of them), by field name."""
        fields = ("safety", "feels_safe", "concerns", "story", "timezone", "name", "email",
                  "phone", "discreet", "consent_contact", "consent_privacy")
        return {name: self[name].data for name in fields if not self[name].errors}
