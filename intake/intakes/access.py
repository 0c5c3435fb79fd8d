"""Which intakes this browser may continue: the ones it submitted."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, redirect, session, url_for

from ..extensions import db
from .models import Intake

KEY = "intakes"
KEEP = 5


def remember(intake: Intake) -> None:
    """Let this browser session continue the intake (match, times, booking)."""
    refs = [r for r in session.get(KEY, []) if r != intake.reference]
    session[KEY] = [*refs, intake.reference][-KEEP:]


_BY_REFERENCE = sa.select(Intake).where(Intake.reference == sa.bindparam("reference"))


def intake_or_404(reference: str) -> Intake:
    """Return the intake if this browser submitted it; otherwise answer 404."""
    if reference not in session.get(KEY, []):
        abort(404)
    intake = db.session.scalar(_BY_REFERENCE, {"reference": reference})
    if intake is None or intake.purged_at is not None:
        abort(404)
    return intake


def support_instead(intake: Intake):
    """Return a redirect to the help page when the intake's safety answer signalled risk (no
    self-booking then: not the matches, not the times, not the booking form), else None."""
    if not intake.urgent:
        return None
    return redirect(url_for("intakes.support", reference=intake.reference))
