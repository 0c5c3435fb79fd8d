"""The booking form: the reviewed time and an idempotency key, both hidden."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import AnyOf, DataRequired, Length, Optional, Regexp


class BookingForm(FlaskForm):
    """Books one reviewed time; a double submit carries the same key and books once."""

    start = HiddenField(validators=[DataRequired(), Length(max=40)])
    # The alphabet of the keys the review page makes; the keys other paths use (a waitlist
    # offer's) have a ":" in them, so no form can name one.
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64),
                                  Regexp(r"^[A-Za-z0-9_-]+$")])
    tz = HiddenField(validators=[Length(max=64)])
    # How to meet, when the person may choose (the therapist offers both and they said either).
    how = HiddenField(validators=[Optional(), AnyOf(["telehealth", "in_person"])])
