"""An admin's pages for a person's own record: find it by email, export it, or erase it."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..staff.auth import role_required
from ..staff.models import ADMIN
from . import records

bp = Blueprint("records", __name__, url_prefix="/staff/admin/records")


def _email() -> str:
    """Return the address asked about (from the query or the form), at most 254 characters."""
    return (request.values.get("email") or "").strip()[:254]


@bp.get("")
@role_required(ADMIN)
def find():
    """Return what is kept about the person with an email address, with a way to export it
    and a way to erase it."""
    email = _email()
    record = records.export(email) if email else None
    return render_template("staff/records.html", email=email, record=record, form=FlaskForm())


def _exported(form: str) -> dict:
    """Return the record asked for, exported (and recorded) as `form`; 404 without an
    address."""
    email = _email()
    if not email:
        abort(404)
    return records.export(email, exported_by=current_user.id, form=form)


@bp.get("/export.json")
@role_required(ADMIN)
def export_json():
    """Return the person's record as a JSON file (recorded in the audit trail)."""
    record = _exported("JSON")
    return Response(json.dumps(record, indent=2, ensure_ascii=False), mimetype="application/json",
                    headers={"Content-Disposition": 'attachment; filename="record.json"'})


@bp.get("/export.html")
@role_required(ADMIN)
def export_html():
    """Return the person's record as a readable page to save or print (recorded)."""
    return Response(render_template("staff/record_export.html", record=_exported("a page")),
                    headers={"Content-Disposition": 'attachment; filename="record.html"'})


@bp.post("/erase")
@role_required(ADMIN)
def erase():
    """Erase the person's record at their request, once the admin has typed the address again
    to confirm."""
    email = _email()
    if not FlaskForm().validate_on_submit():
        abort(400)
    if not email or request.form.get("confirm", "").strip().lower() != email.lower():
        flash("Type the email address again, exactly, to confirm the erasure.", "error")
        return redirect(url_for("records.find", email=email), 303)
    try:
        done = records.erase_person(email, current_user.id)
    except records.NotYet as exc:
        flash(exc.message, "error")
        return redirect(url_for("records.find", email=email), 303)
    flash(f"Erased: {done['intakes']} intakes and {done['partner_intakes']} partner intakes; "
          f"{done['cancelled']} consultations still to come were cancelled, and both sides "
          "are being told.", "info")
    return redirect(url_for("records.find"), 303)
