"""The booking form: the reviewed time and an idempotency key, both hidden."""

from datetime import UTC, datetime

from flask_wtf import FlaskForm
from wtforms import HiddenField
from wtforms.validators import DataRequired, Length


class BookingForm(FlaskForm):
    """Books one reviewed time; a double submit carries the same key and books once."""

    start = HiddenField(validators=[DataRequired(), Length(max=40)])
    key = HiddenField(validators=[DataRequired(), Length(min=16, max=64)])
    tz = HiddenField(validators=[Length(max=64)])


def parse_start(value: str | None) -> datetime | None:
    """Return an ISO instant from a form or link as aware UTC, or None when it isn't one
    (empty, too long, unparseable, or without its offset)."""
    if not value or len(value) > 40:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.astimezone(UTC) if parsed.tzinfo else None
