"""Email delivery under faults, through real SMTP servers: servers that hang, answer slowly,
refuse for now or for good, and workers that overrun their lease, are killed or are stopped.
Every message must arrive, and none twice."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from intake.clock import now_utc
from intake.database import unit_of_work
from intake.extensions import db
from intake.mail import delivery
from intake.mail.delivery import deliver_due
from intake.mail.models import OutboxMessage
from tests.helpers import ROOT, free_port, wait_for


class Scripted:
    """An SMTP server's behaviour, set per recipient: delays before answering RCPT or the final
    ".", temporary or permanent refusals, and a delay for every message."""

    def __init__(self):
        self.received: list[tuple[str, str]] = []  # (recipient, Message-ID)
        self.refuse: dict[str, int] = {}
        self.hang_rcpt: dict[str, float] = {}
        self.slow_data: dict[str, float] = {}
        self.each_message = 0.0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802
        if address in self.hang_rcpt:
            await asyncio.sleep(self.hang_rcpt.pop(address))
        if address in self.refuse:
            return f"{self.refuse[address]} Not now"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: N802
        (recipient,) = envelope.rcpt_tos
        await asyncio.sleep(self.slow_data.pop(recipient, self.each_message))
        message_id = next(line.split(b":", 1)[1].strip().decode()
                          for line in envelope.content.splitlines()
                          if line.lower().startswith(b"message-id:"))
        self.received.append((recipient, message_id))
        return "250 Accepted"

    def ids(self) -> Counter:
        return Counter(message_id for _, message_id in self.received)


@pytest.fixture
def server(app):
    """A scripted SMTP server on 127.0.0.1, with the app's mail settings pointed at it."""
    script = Scripted()
    controller = Controller(script, hostname="127.0.0.1", port=free_port())
    controller.start()
    app.config.update(MAIL_SERVER="127.0.0.1", MAIL_PORT=controller.port, MAIL_TIMEOUT=1)
    yield script
    controller.stop()


def queue(*recipients: str) -> list[str]:
    """Write one outbox row per recipient; return their Message-IDs."""
    ids = []
    with unit_of_work() as session:
        for recipient in recipients:
            message = EmailMessage()
            message["From"] = "bookings@harbor.example"
            message["To"] = recipient
            message["Subject"] = "Your appointment"
            message["Message-ID"] = make_msgid(domain="harbor.example")
            message.set_content("See you soon.")
            ids.append(message["Message-ID"])
            session.add(OutboxMessage(kind="test", recipient=recipient, subject="Your appointment",
                                      message_id=message["Message-ID"], raw=bytes(message)))
    return ids


def rows() -> dict[str, OutboxMessage]:
    """Return the outbox rows as the workers left them, by recipient.

    The read transaction ends first: a poll must not keep reading an earlier snapshot (SQLite in
    WAL mode shows an open read transaction the database as it was when it began).
    """
    db.session.rollback()
    return {r.recipient: r for r in db.session.scalars(sa.select(OutboxMessage))}


def test_a_server_that_stops_answering_one_message_times_out_and_the_rest_still_go(app, server):
    server.hang_rcpt["stuck@client.example"] = 4  # far beyond MAIL_TIMEOUT (1 s)
    queue("a@client.example", "stuck@client.example", "b@client.example", "c@client.example")
    result = deliver_due()
    assert (result.sent, result.retried, result.failed) == (3, 1, 0)
    state = rows()
    assert state["stuck@client.example"].status == "queued"
    assert "did not answer in time" in state["stuck@client.example"].last_error
    # Only the message that failed was charged an attempt; the others went out over a new
    # connection in the same pass.
    assert {r: state[r].attempts for r in state} == {
        "a@client.example": 1, "stuck@client.example": 1, "b@client.example": 1,
        "c@client.example": 1}
    assert {r for r, _ in server.received} == {"a@client.example", "b@client.example",
                                                "c@client.example"}
    assert deliver_due(now_utc() + timedelta(minutes=2)).sent == 1
    assert sorted(server.ids().values()) == [1, 1, 1, 1]


def test_a_server_that_accepts_and_never_greets_holds_nothing_back_for_long(app, server):
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)  # accepts connections, never says a word
    good_port = app.config["MAIL_PORT"]
    app.config["MAIL_PORT"] = silent.getsockname()[1]
    ids = queue("a@client.example", "b@client.example")
    started = time.monotonic()
    assert deliver_due().retried == 2
    assert time.monotonic() - started < 5  # one timeout, not one per message
    assert all("cannot reach the mail server" in r.last_error for r in rows().values())
    silent.close()
    app.config["MAIL_PORT"] = good_port
    assert deliver_due(now_utc() + timedelta(minutes=2)).sent == 2
    assert server.ids() == Counter(ids)


def test_a_slow_answer_to_the_final_dot_is_waited_for_and_sent_once(app, server):
    server.slow_data["slow@client.example"] = 2.5  # longer than MAIL_TIMEOUT, well under 10 min
    ids = queue("a@client.example", "slow@client.example", "b@client.example")
    result = deliver_due()
    assert (result.sent, result.retried) == (3, 0)
    assert server.ids() == Counter(ids)  # each exactly once, all in the same pass
    assert all(r.attempts == 1 and r.status == "sent" for r in rows().values())
    assert deliver_due(now_utc() + timedelta(hours=3)).sent == 0


def test_refusals_for_now_and_for_good_never_block_the_queue(app, client, server):
    server.refuse.update({"full@client.example": 452, "gone@client.example": 550})
    queue("full@client.example", "a@client.example", "gone@client.example", "b@client.example")
    result = deliver_due()
    assert (result.sent, result.retried, result.failed) == (2, 1, 1)
    state = rows()
    assert state["gone@client.example"].status == "failed"
    assert "550" in state["gone@client.example"].last_error
    full = state["full@client.example"]
    assert full.status == "queued" and "452" in full.last_error
    wait = full.next_attempt_at - now_utc()
    assert timedelta(seconds=15) < wait < timedelta(seconds=40)  # backing off from 30 s
    health = client.get("/healthz")
    assert health.status_code == 200
    assert health.json["status"] == "attention" and health.json["mail"]["failed"] == 1

    del server.refuse["full@client.example"]
    assert deliver_due(now_utc() + timedelta(minutes=1)).sent == 1
    assert {r for r, _ in server.received} == {"a@client.example", "b@client.example",
                                                "full@client.example"}


# ---------------------------------------------------------------- worker processes


class Workers:
    """`flask worker` processes on the test's database and SMTP server."""

    def __init__(self, app, tmp_path):
        self.env = {**os.environ, "FLASK_APP": "wsgi", "SECRET_KEY": "test-secret-" + "t" * 32,
                    "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
                    "MAIL_SERVER": "127.0.0.1", "MAIL_PORT": str(app.config["MAIL_PORT"]),
                    "MAIL_DEFAULT_SENDER": "bookings@harbor.example", "MAIL_TIMEOUT": "5",
                    "WORKER_INTERVAL": "1", "CALENDAR_SYNC_MINUTES": "600",
                    # A worker serves no requests. (The in-memory limiter's timer thread keeps
                    # a process from exiting when the suite runs under a shifted clock.)
                    "RATELIMIT_ENABLED": "false"}
        self.tmp_path = tmp_path
        self.processes: list[subprocess.Popen] = []

    def start(self, **env: str) -> subprocess.Popen:
        log = open(self.tmp_path / f"worker{len(self.processes)}.log", "w")  # noqa: SIM115
        process = subprocess.Popen([sys.executable, "-m", "flask", "worker"], cwd=ROOT,
                                   env={**self.env, **env}, stdout=log,
                                   stderr=subprocess.STDOUT)
        self.processes.append(process)
        return process

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(10)


@pytest.fixture
def workers(app, server, tmp_path):
    pool = Workers(app, tmp_path)
    yield pool
    pool.stop_all()


def test_two_workers_with_a_pass_longer_than_the_lease_send_each_message_once(
    app, server, workers
):
    server.each_message = 0.3
    ids = queue(*(f"client{i}@client.example" for i in range(20)))  # a 6 s pass for one worker
    first = workers.start(MAIL_LEASE_SECONDS="2")
    wait_for(lambda: server.received, timeout=20)
    workers.start(MAIL_LEASE_SECONDS="2")  # arrives while the first is still sending
    wait_for(lambda: len(server.received) >= 20, timeout=30)
    time.sleep(1.5)  # give a would-be duplicate the time to arrive
    assert server.ids() == Counter(ids)  # every message exactly once
    assert first.poll() is None
    assert all(r.status == "sent" and r.leased_by is None for r in rows().values())


def test_a_killed_worker_s_messages_arrive_and_a_stopped_one_hands_its_rest_back_at_once(
    app, server, workers
):
    server.each_message = 0.4
    ids = queue(*(f"client{i}@client.example" for i in range(8)))
    killed = workers.start(MAIL_LEASE_SECONDS="3")
    wait_for(lambda: len(server.received) >= 2, timeout=20)
    killed.send_signal(signal.SIGKILL)
    killed.wait(10)
    assert len(server.received) < 8
    since = time.monotonic()
    workers.start(MAIL_LEASE_SECONDS="3")
    wait_for(lambda: set(server.ids()) == set(ids), timeout=30)
    assert time.monotonic() - since < 15  # the lease's end, then the sending
    # At least once: a message in flight at the kill may come twice, with the same Message-ID.
    assert set(server.ids()) == set(ids) and sum(server.ids().values()) <= len(ids) + 1
    wait_for(lambda: all(r.status == "sent" for r in rows().values()), timeout=10)

    # A worker told to stop (SIGTERM) finishes the message in flight and releases the rest
    # at once, even with a lease of ten minutes.
    server.received.clear()
    more = queue(*(f"later{i}@client.example" for i in range(8)))
    for process in workers.processes:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            process.wait(10)
    stopped = workers.start(MAIL_LEASE_SECONDS="600")
    wait_for(lambda: len(server.received) >= 2, timeout=20)
    stopped.send_signal(signal.SIGTERM)
    assert stopped.wait(10) == 0
    assert all(r.leased_by is None for r in rows().values())
    before = len(server.received)
    assert before < 8
    assert deliver_due().sent == 8 - before  # at once: no lease to wait for
    assert server.ids() == Counter(more)


def test_renewing_a_lease_keeps_a_long_send_to_one_worker(app, server):
    """One message whose reply takes longer than the lease: the worker still owns its row."""
    app.config["MAIL_LEASE_SECONDS"] = 1
    server.slow_data["slow@client.example"] = 2.5
    (message_id,) = queue("slow@client.example")
    leased = []

    def watch():
        time.sleep(1.8)  # past the first lease's end
        with app.app_context():
            leased.append(db.session.scalar(sa.select(OutboxMessage.lease_until)))

    watcher = threading.Thread(target=watch)
    watcher.start()
    assert deliver_due().sent == 1
    watcher.join()
    assert leased[0] is not None and leased[0] > now_utc()  # renewed while sending
    assert server.ids() == Counter([message_id])


def test_retries_wait_twice_as_long_each_time_up_to_an_hour_with_jitter():
    for attempt, base in enumerate([30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600], 1):
        waits = [delivery.backoff(attempt).total_seconds() for _ in range(60)]
        assert base * 0.8 <= min(waits) and max(waits) <= base * 1.2, attempt  # ± 20%
        assert len(set(waits)) > 50, attempt  # spread, so workers do not retry in step
    assert 0.8 * 3600 <= delivery.backoff(500).total_seconds() <= 1.2 * 3600
