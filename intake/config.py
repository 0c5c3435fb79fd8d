"""Settings: working defaults, overridden by environment variables (documented in README.md)."""

from __future__ import annotations

import os
import secrets
import time
from pathlib import Path
from urllib.parse import urlsplit

HTMX_VERSION = "2.0.11"
HTMX_URL = f"https://cdn.jsdelivr.net/npm/htmx.org@{HTMX_VERSION}/dist/htmx.min.js"
HTMX_INTEGRITY = "sha384-2OatzQy1H+Zd/IIrjr1TcuDGqLXeHhbooAyJY1KdQMKnr4LZ22k31GBLdYKHmVjg"


def _bool(value: str | None, default: bool = False) -> bool:
    """Return the truth of an environment string ("1", "true", "yes", "on")."""
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(value: str | None, default: int) -> int:
    """Return an environment string as an int, or the default when unset."""
    return int(value) if value not in (None, "") else default


def _database_url(instance_path: str, value: str | None) -> str:
    """Return a SQLAlchemy URL: the setting, or SQLite in the instance folder.

    `postgres://` and `postgresql://` URLs are pointed at the psycopg 3 driver.
    """
    if not value:
        return "sqlite:///" + str(Path(instance_path) / "intake.db")
    for prefix in ("postgres://", "postgresql://"):
        if value.startswith(prefix):
            return "postgresql+psycopg://" + value[len(prefix):]
    return value


def load(instance_path: str, env: dict[str, str] | None = None) -> dict:
    """Return the application's settings from `env` (default: the process environment)."""
    env = dict(os.environ if env is None else env)
    sender = env.get("MAIL_DEFAULT_SENDER") or "bookings@practice.example"
    return {
        "SECRET_KEY": env.get("SECRET_KEY") or _dev_secret(instance_path),
        "SQLALCHEMY_DATABASE_URI": _database_url(instance_path, env.get("DATABASE_URL")),
        # A failed statement's message never carries its values (intake answers, names).
        "SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True},
        "DATABASE_BUSY_SECONDS": _int(env.get("DATABASE_BUSY_SECONDS"), 15),
        "BASE_URL": (env.get("BASE_URL") or "http://127.0.0.1:5000").rstrip("/"),
        "PRACTICE_NAME": env.get("PRACTICE_NAME") or "Harbor Light Counselling",
        # The practice's own look: a logo on this site (a path such as /static/logo.png) and an
        # accent colour (#rrggbb; darkened as needed so white text on it stays readable).
        "PRACTICE_LOGO": env.get("PRACTICE_LOGO") or "",
        "PRACTICE_ACCENT": env.get("PRACTICE_ACCENT") or "#2f5d62",
        "PRACTICE_PHONE": env.get("PRACTICE_PHONE") or "+1 555 010 2040",
        "PRACTICE_TIMEZONE": env.get("PRACTICE_TIMEZONE") or "America/New_York",
        "PRACTICE_ADDRESS": (env.get("PRACTICE_ADDRESS")
                             or "22 Harbor Street, Suite 4, Portland, ME"),
        # When someone answers the phone, and how soon a requested call back comes: the crisis
        # page says both.
        "PRACTICE_HOURS": env.get("PRACTICE_HOURS") or "Monday to Friday, 9 am to 6 pm",
        "CALLBACK_WITHIN": env.get("CALLBACK_WITHIN") or "within two hours",
        # The same two, as the practice says them in Spanish.
        "PRACTICE_HOURS_ES": (env.get("PRACTICE_HOURS_ES")
                              or "de lunes a viernes, de 9 a. m. a 6 p. m."),
        "CALLBACK_WITHIN_ES": env.get("CALLBACK_WITHIN_ES") or "en menos de dos horas",
        "STAFF_EMAIL": env.get("STAFF_EMAIL") or sender,
        "MAIL_SERVER": env.get("MAIL_SERVER") or "",
        "MAIL_PORT": _int(env.get("MAIL_PORT"), 25),
        "MAIL_USE_TLS": _bool(env.get("MAIL_USE_TLS")),
        "MAIL_USE_SSL": _bool(env.get("MAIL_USE_SSL")),
        "MAIL_USERNAME": env.get("MAIL_USERNAME") or None,
        "MAIL_PASSWORD": env.get("MAIL_PASSWORD") or None,
        "MAIL_DEFAULT_SENDER": sender,
        "MAIL_SENDER_NAME": env.get("MAIL_SENDER_NAME") or "",
        "MAIL_TIMEOUT": _int(env.get("MAIL_TIMEOUT"), 20),
        "MAIL_SINK_DIR": env.get("MAIL_SINK_DIR") or str(Path(instance_path) / "mail"),
        "DEV_INBOX": _bool(env.get("DEV_INBOX")),
        "HOLD_HOURS": _int(env.get("HOLD_HOURS"), 24),
        "CANCELLATION_WINDOW_HOURS": _int(env.get("CANCELLATION_WINDOW_HOURS"), 24),
        "REMINDER_HOURS": _int(env.get("REMINDER_HOURS"), 24),
        "MANAGE_LINK_DAYS": _int(env.get("MANAGE_LINK_DAYS"), 90),
        "WORKER_INTERVAL": _int(env.get("WORKER_INTERVAL"), 5),
        "HTMX_URL": env.get("HTMX_URL") or HTMX_URL,
        "HTMX_INTEGRITY": env.get("HTMX_INTEGRITY") or HTMX_INTEGRITY,
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI") or "memory://",
        "RATELIMIT_ENABLED": _bool(env.get("RATELIMIT_ENABLED"), True),
        "RATELIMIT_HEADERS_ENABLED": True,
        "INTAKE_RATE_LIMIT": env.get("INTAKE_RATE_LIMIT") or "30 per hour;200 per day",
        "CALENDAR_ALLOW_PRIVATE": _bool(env.get("CALENDAR_ALLOW_PRIVATE")),
        "CALENDAR_TIMEOUT": _int(env.get("CALENDAR_TIMEOUT"), 10),
        "CALENDAR_MAX_BYTES": _int(env.get("CALENDAR_MAX_BYTES"), 5 * 1024 * 1024),
        "CALENDAR_SYNC_MINUTES": _int(env.get("CALENDAR_SYNC_MINUTES"), 15),
        "CALENDAR_PASS_SECONDS": _int(env.get("CALENDAR_PASS_SECONDS"), 30),
        "MAIL_GIVE_UP_HOURS": _int(env.get("MAIL_GIVE_UP_HOURS"), 48),
        "MAIL_DATA_TIMEOUT": _int(env.get("MAIL_DATA_TIMEOUT"), 600),
        "MAIL_LEASE_SECONDS": _int(env.get("MAIL_LEASE_SECONDS"), 90),
        "MAIL_STUCK_MINUTES": _int(env.get("MAIL_STUCK_MINUTES"), 15),
        "FEED_RATE_LIMIT": env.get("FEED_RATE_LIMIT") or "120 per hour",
        # A video service's address (for example a Jitsi Meet server's https address): each
        # confirmed online consultation then gets a room of its own under it.
        "TELEHEALTH_ROOM_BASE": (env.get("TELEHEALTH_ROOM_BASE") or "").rstrip("/"),
        "JOIN_REMINDER_MINUTES": _int(env.get("JOIN_REMINDER_MINUTES"), 30),
        # The waitlist: how long a place lasts unless the person says otherwise (and at most),
        # how many people are offered one freed time at once, and after how many hours without
        # a taker the next few are offered it too.
        "WAITLIST_DAYS": _int(env.get("WAITLIST_DAYS"), 30),
        "WAITLIST_MAX_DAYS": _int(env.get("WAITLIST_MAX_DAYS"), 90),
        "WAITLIST_OFFERS_AT_ONCE": _int(env.get("WAITLIST_OFFERS_AT_ONCE"), 3),
        "WAITLIST_NEXT_OFFERS_HOURS": _int(env.get("WAITLIST_NEXT_OFFERS_HOURS"), 6),
        # How long what people told the practice is kept when it never became a consultation
        # (never booked; every request declined, withdrawn or expired), how long delivered
        # emails keep their bodies, and how long the audit trail is kept (HIPAA's six years).
        "RETENTION_UNBOOKED_DAYS": _int(env.get("RETENTION_UNBOOKED_DAYS"), 90),
        "RETENTION_DECLINED_DAYS": _int(env.get("RETENTION_DECLINED_DAYS"), 180),
        "RETENTION_MAIL_DAYS": _int(env.get("RETENTION_MAIL_DAYS"), 30),
        "RETENTION_AUDIT_YEARS": _int(env.get("RETENTION_AUDIT_YEARS"), 6),
        # A couple's partner has this many days to answer their own intake before the front
        # desk is told; the quick-exit button on their private pages leaves for this site.
        "PARTNER_INTAKE_DAYS": _int(env.get("PARTNER_INTAKE_DAYS"), 5),
        "QUICK_EXIT_URL": env.get("QUICK_EXIT_URL") or "https://www.google.com/",
        "BOOKINGS_PER_EMAIL_PER_DAY": _int(env.get("BOOKINGS_PER_EMAIL_PER_DAY"), 3),
        "BOOKINGS_PER_ADDRESS_PER_DAY": (env.get("BOOKINGS_PER_ADDRESS_PER_DAY")
                                         or "10 per day"),
        "INTAKE_MIN_SECONDS": _int(env.get("INTAKE_MIN_SECONDS"), 3),
        "SESSION_IDLE_MINUTES": _int(env.get("SESSION_IDLE_MINUTES"), 30),
        "SESSION_MAX_HOURS": _int(env.get("SESSION_MAX_HOURS"), 12),
        # Roles that must sign in with a second factor; not read from the environment, so a
        # deployment cannot turn it off (tests narrow it to exercise the rest alone).
        "SECOND_FACTOR_ROLES": ("admin", "front_desk"),
        "LOGIN_LIMIT_ADDRESS": env.get("LOGIN_LIMIT_ADDRESS") or "20 per 15 minutes",
        "LOGIN_LIMIT_ACCOUNT": (env.get("LOGIN_LIMIT_ACCOUNT")
                                or "3 per minute;5 per 15 minutes;10 per hour;20 per day"),
        "PREFERRED_URL_SCHEME": "https" if _bool(env.get("HTTPS")) else "http",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(env.get("HTTPS")),
        "PROXY_FIX": _int(env.get("PROXY_FIX"), 0),
        "WTF_CSRF_TIME_LIMIT": None,
        "MAX_CONTENT_LENGTH": 1024 * 1024,
        "MAX_FORM_MEMORY_SIZE": 1024 * 1024,
    }


SECRET_MIN = 32


def unsafe_for_production(config) -> list[str]:
    """Return why these settings must not serve real clients (empty when they may).

    Development (DEV_INBOX) and tests are exempt. A short SECRET_KEY can be guessed, and it
    signs sessions, manage links and feed addresses; an SMTP login without TLS would send the
    mailbox's password across the network in clear.
    """
    if config.get("TESTING"):
        return []
    if config.get("DEV_INBOX"):
        # The development inbox shows every email (reset links too) to anyone who opens it.
        host = urlsplit(config.get("BASE_URL") or "").hostname
        if config.get("SESSION_COOKIE_SECURE") or host not in ("127.0.0.1", "localhost", "::1"):
            return ["DEV_INBOX shows every email to anyone: it is for one machine only "
                    "(BASE_URL on 127.0.0.1 or localhost, no HTTPS)"]
        return []
    problems = []
    if len(config.get("SECRET_KEY") or "") < SECRET_MIN:
        problems.append(f"SECRET_KEY must be at least {SECRET_MIN} characters: "
                        "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
    if config.get("MAIL_USERNAME") and not (config.get("MAIL_USE_TLS")
                                            or config.get("MAIL_USE_SSL")):
        problems.append("MAIL_USERNAME is set but neither MAIL_USE_TLS nor MAIL_USE_SSL is: "
                        "the mail password would cross the network unencrypted")
    return problems


def _dev_secret(instance_path: str) -> str:
    """Return a random secret kept in the instance folder, for development only."""
    path = Path(instance_path) / "secret_key"
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        # Exclusive create: when several processes start at once, the first one's key wins.
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass
    else:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(48))
    for _ in range(50):
        key = path.read_text().strip()
        if key:
            return key
        time.sleep(0.01)  # another process is still writing it
    raise RuntimeError(f"{path} is empty; delete it or set SECRET_KEY")
