"""Command-line entry points, thin over the services: `flask --app wsgi <command>`."""

from __future__ import annotations

import time

import click
from flask import Flask, current_app

from .database import now_utc


def register(app: Flask) -> None:
    """Add the product's commands to the app's CLI (`db` comes from Flask-Migrate)."""

    @app.cli.command("demo")
    def demo_command():
        """Load the demo practice (running it again changes nothing)."""
        from .demo import load_demo

        created = load_demo(now_utc())
        click.echo(f"Demo practice ready ({created} therapists added).")

    @app.cli.command("worker")
    @click.option("--once", is_flag=True, help="Run one pass, then exit.")
    def worker_command(once: bool):
        """Deliver due email (and, later, other jobs), in a loop or one pass."""
        from .worker import run_pass

        interval = current_app.config["WORKER_INTERVAL"]
        while True:
            report = run_pass()
            if report or once:
                click.echo(report or "Nothing to do.")
            if once:
                return
            time.sleep(interval)
