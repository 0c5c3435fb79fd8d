"""Database plumbing shared by every feature: aware UTC datetimes, SQLite write locking."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC

from sqlalchemy import DateTime, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.types import TypeDecorator

from .extensions import db


class UTCDateTime(TypeDecorator):
    """A timestamp stored in UTC and always returned timezone-aware (UTC).

    PostgreSQL keeps it as `timestamptz`; SQLite as naive UTC text.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given where an aware UTC one is required")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


def keep_sqlite_private(engine: Engine) -> None:
    """Make a SQLite database file readable by its owner only (0600), in a folder of its own
    made 0700 when it does not exist yet; SQLite gives its -wal and -shm files the same mode.

    The file holds every intake's answers: it is created (or narrowed, when made earlier with
    wider permissions) before SQLite first opens it.
    """
    if engine.dialect.name != "sqlite" or engine.url.database in (None, "", ":memory:"):
        return
    path = engine.url.database
    os.makedirs(os.path.dirname(os.path.abspath(path)), mode=0o700, exist_ok=True)
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except FileExistsError:
        for name in (path, path + "-wal", path + "-shm"):  # as made before this was so
            if os.path.exists(name) and os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)


def install_sqlite_locking(engine: Engine, busy_seconds: float = 15) -> None:
    """Make SQLite safe under concurrent writers.

    Transactions start deferred (readers never wait) unless the connection carries the
    `immediate` execution option, in which case they start with BEGIN IMMEDIATE and take the
    write lock up front; a busy timeout makes a second writer wait up to `busy_seconds` instead
    of failing at once (after it, SQLite raises "database is locked").
    """
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let the "begin" hook issue BEGIN itself
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_seconds * 1000)}")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.execute("PRAGMA journal_mode = WAL")
        # What is erased is overwritten, not left in free pages of the file (see retention).
        cursor.execute("PRAGMA secure_delete = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn):
        immediate = conn.get_execution_options().get("immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


IDLE_BEFORE_PING = 1.0  # seconds


def install_idle_ping(engine: Engine, idle_seconds: float = IDLE_BEFORE_PING) -> None:
    """Test a pooled connection before use when it has sat unused longer than `idle_seconds`.

    That is when a database restart or a dropped link has had time to end it; a dead one is
    replaced at once (the pool tries a fresh connection on DisconnectionError), so nobody sees
    an error for it. A connection given back a moment ago is used as it is: testing it on every
    request was one more round trip per page under load.
    """

    @event.listens_for(engine, "connect")
    def _fresh(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkin")
    def _idle(_dbapi_connection, record):
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection, record, _proxy):
        if time.monotonic() - record.info.get("idle_since", 0.0) <= idle_seconds:
            return
        try:
            engine.dialect.do_ping(dbapi_connection)
        except engine.dialect.loaded_dbapi.Error as error:
            raise DisconnectionError(f"an idle connection was gone: {error}") from error


def read(statement, values: dict | None = None):
    """Return the result of a Core SELECT run on the session's connection and transaction.

    It skips the ORM's per-statement machinery (the pages read most run a few such statements
    each); changes pending in the session are flushed first, as the ORM would.
    """
    session = db.session()
    if session.new or session.dirty or session.deleted:
        session.flush()
    return session.connection().execute(statement, values or {})


@contextmanager
def unit_of_work() -> Iterator:
    """Open a write transaction on the session, commit it on success, roll back on error.

    Yields the session. On SQLite the transaction takes the write lock at once (BEGIN
    IMMEDIATE), so a check-then-insert inside it cannot race another writer.
    """
    session = db.session()
    if session.in_transaction():
        session.rollback()  # end any read transaction so the write one starts fresh
    session.connection(execution_options={"immediate": True})
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
