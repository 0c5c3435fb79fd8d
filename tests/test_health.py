"""What a monitor and the practice see of the worker and the mail queue: `/healthz`, the front
desk's banner, and `flask outbox`."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from intake import create_app
from intake.clock import now_utc
from intake.extensions import db
from intake.health import WorkerJob
from intake.mail.delivery import deliver_due
from intake.mail.models import OutboxMessage
from intake.worker import run_pass
from tests.helpers import GOOD_ANSWERS, sign_in, token


@pytest.fixture
def desk(client, make_user):
    user = make_user("front_desk")
    sign_in(client, user.email)
    return user


def urgent_intake(client):
    """An urgent intake arrives: its note to staff belongs to no appointment."""
    response = client.post("/intake", data={**GOOD_ANSWERS, "safety": "yes", "step": "0",
                                            "nav": "next"})
    assert response.status_code == 303


def age_queue(minutes: int) -> None:
    db.session.execute(sa.update(OutboxMessage).values(
        queued_at=now_utc() - timedelta(minutes=minutes)))
    db.session.commit()


def test_healthz_says_ok_then_stuck_when_mail_waits_and_recovers(app, client, smtp):
    body = client.get("/healthz")
    assert body.status_code == 200 and body.json["status"] == "ok"
    assert body.json["database"] == "ok" and body.json["worker"]["last_pass_seconds_ago"] is None

    urgent_intake(client)
    assert client.get("/healthz").json["mail"]["oldest_waiting_seconds"] < 60
    age_queue(20)  # MAIL_STUCK_MINUTES is 15
    stuck = client.get("/healthz")
    assert stuck.status_code == 503 and stuck.json["status"] == "stuck"
    assert stuck.json["mail"]["oldest_waiting_seconds"] >= 20 * 60

    run_pass()
    well = client.get("/healthz")
    assert well.status_code == 200 and well.json["status"] == "ok"
    assert well.json["mail"]["oldest_waiting_seconds"] is None
    assert 0 <= well.json["worker"]["last_pass_seconds_ago"] < 60


def test_healthz_notices_a_worker_that_went_quiet(app, client):
    run_pass()
    assert client.get("/healthz").status_code == 200
    db.session.execute(sa.update(WorkerJob).values(
        last_finished_at=now_utc() - timedelta(minutes=30)))
    db.session.commit()
    quiet = client.get("/healthz")
    assert quiet.status_code == 503 and quiet.json["status"] == "stuck"
    assert quiet.json["worker"]["last_pass_seconds_ago"] >= 30 * 60


def test_healthz_answers_503_when_the_database_is_gone(app, client, tmp_path):
    gone = create_app({"TESTING": True, "SECRET_KEY": "x",
                       "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path}/no/such/dir/db"})
    response = gone.test_client().get("/healthz")
    assert response.status_code == 503 and response.json["database"] == "unreachable"
    assert response.headers["Retry-After"]


def test_the_dashboard_says_when_mail_is_stuck_and_lists_failed_staff_notes(app, client, desk,
                                                                           smtp):
    page = client.get("/staff/")
    assert "Email needs attention" not in page.text

    urgent_intake(client)
    age_queue(20)
    page = client.get("/staff/")
    assert "Email isn't going out" in page.text and "waited 20 minutes" in page.text
    assert "hasn't run yet" in page.text  # no worker has ever run

    smtp.refuse = 550
    run_pass()
    page = client.get("/staff/")
    assert "isn't going out" not in page.text
    assert "1 email could not be delivered" in page.text
    # The urgent-intake note belongs to no appointment, so the dashboard itself offers it.
    assert "Urgent intake received" in page.text and "Send again" in page.text
    (note,) = db.session.scalars(sa.select(OutboxMessage)).all()
    smtp.refuse = None
    response = client.post(f"/staff/emails/{note.id}/retry", data={"csrf_token": token(client)})
    assert response.status_code == 303
    assert deliver_due().sent == 1
    assert len(smtp.envelopes) == 1
    assert "Email needs attention" not in client.get("/staff/").text


def test_outbox_command_lists_and_retries(app, client, smtp):
    runner = app.test_cli_runner()
    assert "The outbox is empty." in runner.invoke(args=["outbox", "list"]).output
    urgent_intake(client)
    urgent_intake(client)
    listing = runner.invoke(args=["outbox", "list"]).output
    assert "Queued (2)" in listing and "is the worker running?" in listing
    assert "f***@harbor.example" in listing  # addresses masked

    smtp.refuse = 550
    run_pass()
    listing = runner.invoke(args=["outbox", "list"]).output
    assert "Failed (2)" in listing and "recipient refused (550)" in listing
    smtp.refuse = None
    first, second = db.session.scalars(sa.select(OutboxMessage.id).order_by(
        OutboxMessage.id)).all()
    assert "queued again" in runner.invoke(args=["outbox", "retry", str(first)]).output
    refused = runner.invoke(args=["outbox", "retry", str(first)])
    assert refused.exit_code != 0 and "not failed" in refused.output
    assert "1 failed email(s) queued again" in runner.invoke(
        args=["outbox", "retry", "--all-failed"]).output
    assert deliver_due().sent == 2
    listing = runner.invoke(args=["outbox", "list"]).output
    assert "Sent (2)" in listing and "Failed" not in listing.replace("Failed (0)", "")
    assert runner.invoke(args=["outbox", "retry", "999"]).exit_code != 0
    del second
