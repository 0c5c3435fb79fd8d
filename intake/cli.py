"""Command-line entry points, thin over the services: `flask --app wsgi <command>`."""

from __future__ import annotations

import logging
import time

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from .clock import now_utc
from .demo import DEMO_PASSWORD, load_demo, load_demo_accounts, real_data
from .extensions import db
from .mail.cli import outbox
from .staff.accounts import AccountError, create_user
from .staff.models import ROLES
from .therapists.models import Therapist

log = logging.getLogger(__name__)


def register(app: Flask) -> None:
    """Add the product's commands to the app's CLI (`db` comes from Flask-Migrate)."""

    @app.cli.command("demo")
    @click.option("--force", is_flag=True,
                  help="Load it even into a database that holds real intakes or accounts.")
    def demo_command(force: bool):
        """Load the demo practice (running it again changes nothing). Refused on a database
        that already holds intakes or accounts other than the demo's, unless --force: the
        demo's accounts have a published password."""
        real = real_data()
        if real and not force:
            raise click.ClickException(
                f"This database already holds {real}: the demo's staff accounts, whose "
                "password is published, do not belong in it. Use --force for a copy made "
                "for testing.")
        created = load_demo(now_utc())
        accounts = load_demo_accounts()
        click.echo(f"Demo practice ready ({created} therapists added).")
        if accounts:
            click.echo(f"Demo staff accounts added ({accounts}); sign in at /staff/login with "
                       f"admin@practice.example, frontdesk@practice.example or "
                       f"maya.chen@practice.example and the password {DEMO_PASSWORD}.")

    users = AppGroup("users", help="Staff accounts.")

    @users.command("create")
    @click.option("--email", required=True, help="The person's email (their sign-in).")
    @click.option("--role", required=True, type=click.Choice(sorted(ROLES)))
    @click.option("--name", default="", help="Display name.")
    @click.option("--therapist", "therapist_slug", default=None,
                  help="For a therapist account: the slug of their profile.")
    def create_user_command(email: str, role: str, name: str, therapist_slug: str | None):
        """Create a staff account; the password is asked for, never taken as an argument."""
        therapist_id = None
        if therapist_slug:
            therapist = db.session.scalar(sa.select(Therapist).where(
                Therapist.slug == therapist_slug))
            if therapist is None:
                raise click.BadParameter(f"no therapist {therapist_slug!r}",
                                         param_hint="--therapist")
            therapist_id = therapist.id
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
        try:
            user = create_user(email, password, role, name=name, therapist_id=therapist_id)
        except AccountError as exc:
            raise click.ClickException(exc.message) from None
        click.echo(f"Created {user.role_label.lower()} account for {user.email}.")

    app.cli.add_command(users)

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run one pass, then exit.")
    def worker_command(once: bool):
        """Deliver email, expire holds, queue reminders, read calendars and offer freed times to
        the waitlist, in a loop or once.

        SIGTERM or Ctrl-C ends it after the email in flight; what it has not tried is released
        for another worker at once.
        """
        # Here, not at the top: the web app registers these commands, and a web process must
        # never load the worker's delivery code.
        from .worker import Stopping, run_pass

        interval = current_app.config["WORKER_INTERVAL"]
        stopping = Stopping()
        if not once:
            stopping.install()
        while not stopping():
            try:
                report = run_pass(stopping)
            except Exception:
                if once:
                    raise
                # A bad pass (the database restarting, say) must not stop later ones.
                log.exception("worker pass failed; trying again in %s s", interval)
                db.session.rollback()
                report = ""
            if report or once:
                click.echo(report or "Nothing to do.")
            if once:
                return
            for _ in range(interval * 10):
                if stopping():
                    break
                time.sleep(0.1)

    app.cli.add_command(outbox)
