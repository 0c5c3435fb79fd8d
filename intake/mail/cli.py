"""`flask --app wsgi outbox`: what is queued, failed and recently sent, and retrying it."""

from __future__ import annotations

from datetime import timedelta

import click
import sqlalchemy as sa

from ..clock import now_utc
from ..extensions import db
from ..health import mail_health
from .models import FAILED, QUEUED, SENT, OutboxMessage
from .outbox import retry, retry_failed

outbox = click.Group("outbox", help="The email queue: list what is waiting, failed or sent; "
                                    "retry.")


def _masked(address: str) -> str:
    """Return an address with its mailbox hidden but for its first letter."""
    name, _, domain = address.partition("@")
    return f"{name[:1]}***@{domain}"


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


@outbox.command("list")
@click.option("--hours", default=24, show_default=True, help="How far back to list sent email.")
def list_command(hours: int):
    """List queued and failed email, and email sent in the last HOURS."""
    now = now_utc()
    health = mail_health(now)
    click.echo(f"Worker's last pass: {_when(health.last_pass_at)}"
               + (" (none recently: is the worker running?)" if health.worker_silent else ""))
    for name, error in health.failing_jobs:
        click.echo(f"Job failing: {name} ({error}; see the worker's log)")
    rows = db.session.scalars(sa.select(OutboxMessage).where(sa.or_(
        OutboxMessage.status.in_((QUEUED, FAILED)),
        OutboxMessage.sent_at >= now - timedelta(hours=hours)))
        .order_by(OutboxMessage.status, OutboxMessage.id)).all()
    if not rows:
        click.echo("The outbox is empty.")
        return
    for status, title in ((QUEUED, "Queued"), (FAILED, "Failed"), (SENT, "Sent")):
        group = [r for r in rows if r.status == status]
        click.echo(f"\n{title} ({len(group)})")
        for r in group:
            detail = (f"sent {_when(r.sent_at)}" if status == SENT else
                      f"queued {_when(r.queued_at)}, {r.attempts} tries"
                      + (f", next {_when(r.next_attempt_at)}" if status == QUEUED else "")
                      + (f", last error: {r.last_error}" if r.last_error else ""))
            click.echo(f"  #{r.id:<6} {r.kind:<22} to {_masked(r.recipient):<28} {detail}")


@outbox.command("retry")
@click.argument("message_id", type=int, required=False)
@click.option("--all-failed", "all_failed", is_flag=True, help="Retry every failed email.")
def retry_command(message_id: int | None, all_failed: bool):
    """Put a failed email (or, with --all-failed, every one) back in the queue."""
    if all_failed == (message_id is not None):
        raise click.UsageError("Give one message number, or --all-failed.")
    if all_failed:
        click.echo(f"{retry_failed(None)} failed email(s) queued again.")
        return
    row = db.session.get(OutboxMessage, message_id)
    if row is None:
        raise click.ClickException(f"There is no email #{message_id}.")
    if row.status != FAILED:
        raise click.ClickException(f"Email #{message_id} is {row.status}, not failed.")
    retry(message_id, None)
    click.echo(f"Email #{message_id} is queued again; the worker sends it on its next pass.")
