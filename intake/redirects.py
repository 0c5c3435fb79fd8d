"""Where a form may send a person afterwards: only to a page of this site."""

from __future__ import annotations

from urllib.parse import urlsplit

MAX_LENGTH = 2000


def same_site(target: str | None) -> str | None:
    """Return `target` when it is a path on this site, else None.

    A path starts with one "/" and has no scheme or host; a second "/" or a backslash after
    it, or any space or control character anywhere (browsers drop tabs and newlines, so
    "/\\t/evil.example" would become "//evil.example"), makes it someone else's site.
    """
    if not target or len(target) > MAX_LENGTH or not target.startswith("/"):
        return None
    if target[1:2] in ("/", "\\") or "\\" in target:
        return None
    if any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return None
    return target
