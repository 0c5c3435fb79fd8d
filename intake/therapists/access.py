"""Which therapist a page is about, and whether the person signed in may change them."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort
from flask_login import current_user

from ..extensions import db
from ..staff.models import THERAPIST
from .models import Therapist

_BY_SLUG = sa.select(Therapist).where(Therapist.slug == sa.bindparam("slug"))


def therapist_or_404(slug: str, *options) -> Therapist:
    """Return the therapist with this slug (loaded with `options`), or answer 404."""
    therapist = db.session.scalar(_BY_SLUG.options(*options) if options else _BY_SLUG,
                                  {"slug": slug})
    if therapist is None:
        abort(404)
    return therapist


def editable_or_404(slug: str) -> Therapist:
    """Return the therapist when the person signed in may change them (admins may change
    anyone, a therapist only themselves); answer 404 otherwise."""
    therapist = therapist_or_404(slug)
    if current_user.role == THERAPIST and current_user.therapist_id != therapist.id:
        abort(404)
    return therapist
