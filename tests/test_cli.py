"""The commands: migrations, the demo practice, the worker."""

from datetime import timedelta

import sqlalchemy as sa

from intake import create_app
from intake.clock import now_utc
from intake.extensions import db
from intake.scheduling.services import open_times
from intake.therapists.models import Therapist


def test_demo_loads_a_varied_practice_once(app):
    runner = app.test_cli_runner()
    assert "7 therapists added" in runner.invoke(args=["demo"]).output
    assert "0 therapists added" in runner.invoke(args=["demo"]).output
    therapists = db.session.scalars(sa.select(Therapist)).all()
    assert len(therapists) == 7
    modalities = [m for t in therapists for m in t.modalities]
    assert {"couples", "emdr", "cft"} <= set(modalities)
    assert any(len(t.modalities) > 1 for t in therapists)
    assert len({t.timezone for t in therapists}) >= 2
    assert {"telehealth", "in_person"} <= {f for t in therapists for f in t.formats}
    assert len({lang for t in therapists for lang in t.languages}) > 1
    assert len({t.consultation_minutes for t in therapists}) > 1
    assert len({t.buffer_minutes for t in therapists}) > 1
    assert {True, False} == {t.auto_confirm for t in therapists}


def test_demo_has_open_times_in_the_coming_two_weeks(app, demo):
    now = now_utc()
    for therapist in db.session.scalars(sa.select(Therapist)):
        assert open_times(therapist, now, now + timedelta(days=14), now), therapist.slug


def test_db_upgrade_builds_the_schema_from_migrations(tmp_path):
    fresh = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'fresh.db'}",
                        "SECRET_KEY": "x" * 32})
    result = fresh.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    with fresh.app_context():
        tables = set(sa.inspect(db.engine).get_table_names())
        db.engine.dispose()
    assert {"therapist", "intake", "appointment", "outbox_message", "alembic_version"} <= tables


def test_worker_once_reports_and_exits(app):
    result = app.test_cli_runner().invoke(args=["worker", "--once"])
    assert result.exit_code == 0
    assert "Nothing to do." in result.output


def test_demo_refuses_a_database_that_holds_real_intakes_or_accounts(app, make_user):
    runner = app.test_cli_runner()
    make_user("front_desk", email="real.person@harbor.example")
    refused = runner.invoke(args=["demo"])
    assert refused.exit_code != 0 and "1 account" in refused.output
    assert "published" in refused.output
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Therapist)) == 0
    forced = runner.invoke(args=["demo", "--force"])
    assert forced.exit_code == 0 and "7 therapists added" in forced.output
