"""The booking form: the reviewed time and an idempotency key, both hidden."""

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class BookingForm(FlaskForm):
    """Books one reviewed time; a double submit carries the same key and books once."""

    start = HiddenField(validators=[DataRequired(), Length(max=40)])
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    tz = HiddenField(validators=[Length(max=64)])
