"""The one guarded HTTP client for addresses a therapist typed (ICS feeds and CalDAV).

Fetching an address someone typed is a server-side request, so every fetch here is guarded the
same way: http(s) only, no user-info or backslashes in the address, the address actually
connected to checked (private and loopback refused unless CALENDAR_ALLOW_PRIVATE), every
redirect checked again, a cap on the bytes read and a total deadline for the whole exchange,
slow-drip servers included. Every failure becomes a CalendarProblem in words a therapist
understands; nothing else escapes.
"""

from __future__ import annotations

import base64
import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import partial
from urllib.parse import urlsplit

from ..clock import pause
from ..errors import UserError

NOT_IN_TIME = "The calendar server didn't answer in time."
UNREACHABLE = "We couldn't reach the calendar server."
PRIVATE = "That address points into a private network, which isn't allowed for calendars."


class CalendarProblem(UserError):
    """Why a calendar address could not be read, in words a therapist understands; `status`
    is the server's HTTP status when it answered with an error."""

    def __init__(self, message: str, status: int | None = None):
        super().__init__(message, "url")
        self.status = status


def check_address(url: str, allow_private: bool) -> None:
    """Raise CalendarProblem unless `url` is a plain http(s) address whose host resolves (unless
    allowed) only to public addresses."""
    parts = urlsplit(url or "")
    if parts.scheme not in ("http", "https"):
        raise CalendarProblem("Only http:// or https:// addresses work here. (A webcal:// address "
                           "works if you change webcal to https.)")
    if "\\" in url or any(ord(c) < 33 or ord(c) == 127 for c in url):
        raise CalendarProblem("That address has a backslash or a space in it. Copy it again from "
                           "your calendar's settings.")
    if "@" in parts.netloc:
        raise CalendarProblem("That address has a name or password in it. Use the plain address, "
                           "and for CalDAV put the username and password in their own boxes.")
    if not parts.hostname:
        raise CalendarProblem("That address has no host name.")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        infos = socket.getaddrinfo(parts.hostname, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, ValueError, UnicodeError):
        raise CalendarProblem("We couldn't find that address. Check the host name.") from None
    if allow_private:
        return
    for info in infos:
        if not _public(info[4][0]):
            raise CalendarProblem(PRIVATE)


def _public(address: str) -> bool:
    """Return True when `address` is a public unicast address."""
    ip = ipaddress.ip_address(address)
    return ip.is_global and not ip.is_multicast


class Deadline:
    """A total time limit for one exchange: every socket opened under it is shut down when the
    time is up, so a server that sends a byte a second cannot hold the fetch past it."""

    def __init__(self, seconds: float):
        self.ends = time.monotonic() + seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._done = False
        self._timer = threading.Thread(target=self._run, args=(seconds,), daemon=True,
                                       name="fetch-deadline")

    def __enter__(self) -> Deadline:
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._done = True

    def _run(self, seconds: float) -> None:
        if not pause(seconds, lambda: self._done):
            self._expire()

    def remaining(self) -> float:
        """Return the seconds left (at least a sliver, so socket timeouts stay positive)."""
        return max(self.ends - time.monotonic(), 0.01)

    def watch(self, sock: socket.socket) -> None:
        """Shut `sock` down when the deadline passes."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                self._shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                self._shut(sock)

    @staticmethod
    def _shut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _connect(address: tuple[str, int], timeout=None, source_address=None, *,
             allow_private: bool, deadline: Deadline) -> socket.socket:
    """Connect like `socket.create_connection`, but only to addresses that pass the checks.

    Checking the address actually connected to (not only before) means a host name that changes
    its answer between the check and the request still cannot reach a private address.
    """
    host, port = address
    error: OSError | None = None
    for family, kind, proto, _, peer in socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM):
        if not allow_private and not _public(peer[0]):
            raise CalendarProblem(PRIVATE)
        sock = socket.socket(family, kind, proto)
        deadline.watch(sock)
        try:
            sock.settimeout(deadline.remaining())
            if source_address:
                sock.bind(source_address)
            sock.connect(peer)
            return sock
        except OSError as exc:
            error = exc
            sock.close()
    raise error or OSError("no address to connect to")


def _guarded(base: type, allow_private: bool, deadline: Deadline) -> type:
    """Return an HTTP(S) connection class that connects only through `_connect`."""

    class Guarded(base):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self._create_connection = partial(_connect, allow_private=allow_private,
                                              deadline=deadline)

        def connect(self):
            super().connect()
            deadline.watch(self.sock)  # the TLS socket too: it replaces the raw one

    return Guarded


class _GuardedHTTP(urllib.request.HTTPHandler):
    def __init__(self, allow_private: bool, deadline: Deadline):
        super().__init__()
        self.connection = _guarded(http.client.HTTPConnection, allow_private, deadline)

    def http_open(self, req):
        return self.do_open(self.connection, req)


class _GuardedHTTPS(urllib.request.HTTPSHandler):
    def __init__(self, allow_private: bool, deadline: Deadline):
        super().__init__(context=ssl.create_default_context())
        self.connection = _guarded(http.client.HTTPSConnection, allow_private, deadline)

    def https_open(self, req):
        return self.do_open(self.connection, req, context=self._context)


class _CheckedRedirects(urllib.request.HTTPRedirectHandler):
    """Follow a redirect only to an address that passes the same checks.

    CalDAV's REPORT keeps its method and body across 301/302/307/308; credentials go along only
    to the same scheme, host and port.
    """

    max_redirections = 5

    def __init__(self, allow_private: bool):
        self.allow_private = allow_private

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        check_address(newurl, self.allow_private)
        fp.close()  # a redirect's own body is never read (urllib would read it whole)
        if req.get_method() not in ("GET", "HEAD") and code in (301, 302, 307, 308):
            kept = {k: v for k, v in req.headers.items()}
            follow = urllib.request.Request(newurl, data=req.data, headers=kept,  # noqa: S310
                                            method=req.get_method())
            auth = req.unredirected_hdrs.get("Authorization")
            if auth and urlsplit(newurl)[:2] == urlsplit(req.full_url)[:2]:
                follow.add_unredirected_header("Authorization", auth)
            return follow
        return super().redirect_request(req, fp, code, msg, headers, newurl)


@dataclass(frozen=True)
class Reply:
    """What a guarded fetch returned: the status, the validators and the body (None for 304)."""

    status: int
    body: bytes | None
    etag: str = ""
    last_modified: str = ""


def fetch(url: str, *, allow_private: bool, timeout: float, max_bytes: int,
          method: str = "GET", headers: dict[str, str] | None = None,
          data: bytes | None = None, auth: tuple[str, str] | None = None) -> Reply:
    """Return the server's reply to one request, within `timeout` seconds in all.

    A 304 comes back with no body; other error statuses raise CalendarProblem (with `.status`), as
    do a refused address, no answer in time, a broken answer, or a body over `max_bytes`.
    """
    check_address(url, allow_private)
    request = urllib.request.Request(url, data=data, method=method,  # noqa: S310 (checked)
                                     headers={"User-Agent": "intake-calendar-sync/1",
                                              **(headers or {})})
    if auth:
        token = base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode()
        # Never carried to another host: urllib drops unredirected headers on redirects.
        request.add_unredirected_header("Authorization", f"Basic {token}")
    with Deadline(timeout) as deadline:
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),  # no env proxies
                                             _CheckedRedirects(allow_private),
                                             _GuardedHTTP(allow_private, deadline),
                                             _GuardedHTTPS(allow_private, deadline))
        try:
            with opener.open(request, timeout=timeout) as answer:
                body = _read_capped(answer, max_bytes, deadline)
                return Reply(answer.status, body, answer.headers.get("ETag", ""),
                             answer.headers.get("Last-Modified", ""))
        except CalendarProblem:
            raise
        except urllib.error.HTTPError as exc:
            if exc.code == 304:
                return Reply(304, None)
            raise CalendarProblem(f"The calendar server answered with an error ({exc.code}). "
                               "Check the address.", status=exc.code) from None
        except Exception as exc:  # noqa: BLE001  (sockets, TLS, http.client and urllib alike)
            if deadline.expired or _is_timeout(exc):
                raise CalendarProblem(NOT_IN_TIME) from None
            if isinstance(exc, ssl.SSLError | ssl.CertificateError) or isinstance(
                    getattr(exc, "reason", None), ssl.SSLError):
                raise CalendarProblem("The calendar server's security certificate isn't "
                                   "valid.") from None
            raise CalendarProblem(UNREACHABLE) from None


def _read_capped(answer, max_bytes: int, deadline: Deadline) -> bytes:
    """Return the body, refusing it once it grows past `max_bytes`."""
    chunks, size = [], 0
    while chunk := answer.read1(64 * 1024):
        size += len(chunk)
        if size > max_bytes:
            raise CalendarProblem(f"That calendar is larger than we accept "
                               f"({max(max_bytes // (1024 * 1024), 1)} MB).")
        if deadline.expired:
            raise CalendarProblem(NOT_IN_TIME)
        chunks.append(chunk)
    if deadline.expired:
        raise CalendarProblem(NOT_IN_TIME)
    return b"".join(chunks)


def _is_timeout(exc: BaseException) -> bool:
    """Return True when `exc` (or the reason it wraps) is a timeout."""
    reason = getattr(exc, "reason", None)
    return isinstance(exc, TimeoutError | socket.timeout) or isinstance(
        reason, TimeoutError | socket.timeout)


@dataclass(frozen=True)
class Fetched:
    """What an ICS address returned: the body (None when unchanged) and its validators."""

    body: bytes | None
    etag: str
    last_modified: str


def fetch_ics(url: str, etag: str = "", last_modified: str = "", *, allow_private: bool,
              timeout: float, max_bytes: int) -> Fetched:
    """Return the calendar at `url`, asking only for changes since the last fetch.

    Raises CalendarProblem for a refused address, an error answer, no answer in time, or a body
    larger than `max_bytes`.
    """
    headers = {"Accept": "text/calendar, */*;q=0.5"}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    reply = fetch(url, headers=headers, allow_private=allow_private, timeout=timeout,
                  max_bytes=max_bytes)
    if reply.status == 304:
        return Fetched(None, etag, last_modified)
    return Fetched(reply.body, reply.etag, reply.last_modified)
