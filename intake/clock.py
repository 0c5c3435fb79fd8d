"""The application's one clock: every "now" the app reads (pages, services, the worker's jobs,
database defaults, signed links) comes from `now_utc()` here, and nowhere else.

Durations measured inside one call (timeouts, deadlines) use `time.monotonic()` instead: they
are not moments and never go into the database.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

from itsdangerous import TimestampSigner, URLSafeTimedSerializer


class _Clock:
    """The system clock, or a stopped one while `stopped_at` is in force."""

    def __init__(self) -> None:
        self.fixed: datetime | None = None

    def now(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC)


_clock = _Clock()


def now_utc() -> datetime:
    """Return the current time as an aware UTC datetime."""
    return _clock.now()


class StoppedClock:
    """A handle on the stopped clock: `set(instant)` and `advance(delta)` move it."""

    def now(self) -> datetime:
        """Return the instant the clock is stopped at."""
        return _clock.now()

    def set(self, instant: datetime) -> datetime:
        """Stop the clock at `instant` (aware); return it."""
        if instant.tzinfo is None:
            raise ValueError("the clock needs an aware datetime")
        _clock.fixed = instant.astimezone(UTC)
        return _clock.fixed

    def advance(self, delta: timedelta) -> datetime:
        """Move the stopped clock on by `delta`; return the new instant."""
        return self.set(self.now() + delta)


@contextmanager
def stopped_at(instant: datetime) -> Iterator[StoppedClock]:
    """Stop the app's clock at `instant` for the block; yield a handle to move it.

    For tests and one-off commands: everything in this process that asks the app for the time
    sees the same instant until the block ends.
    """
    before = _clock.fixed
    handle = StoppedClock()
    handle.set(instant)
    try:
        yield handle
    finally:
        _clock.fixed = before


def pause(seconds: float, stop: Callable[[], bool], step: float = 0.05) -> bool:
    """Wait up to `seconds`, in short sleeps, ending early once `stop()` is true; return
    whether it was stopped.

    Short sleeps rather than a lock or event with a timeout: those wait on an absolute
    monotonic deadline, which a process run under a shifted clock (libfaketime, used to run
    the suite at other dates) never reaches.
    """
    ends = time.monotonic() + seconds
    while not stop():
        left = ends - time.monotonic()
        if left <= 0:
            return False
        time.sleep(min(step, left))
    return True


class _ClockSigner(TimestampSigner):
    """A timestamp signer that reads the app's clock, so link ages follow it too."""

    def get_timestamp(self) -> int:
        return int(now_utc().timestamp())


def timed_serializer(secret_key: str, salt: str) -> URLSafeTimedSerializer:
    """Return a URL-safe serializer whose timestamps and `max_age` read the app's clock."""
    return URLSafeTimedSerializer(secret_key, salt=salt, signer=_ClockSigner)
