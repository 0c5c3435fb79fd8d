"""Real headless Chromium (Debian's package) driven by Playwright, with the pinned htmx served
from npm's copy at its CDN address so the page's integrity hash is checked for real."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from intake.config import HTMX_URL
from tests.helpers import NODE, missing

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-quic", "--no-first-run",
                 "--disable-sync"]


def chromium_path() -> str | None:
    """Return the system Chromium, never a downloaded one."""
    for candidate in (os.environ.get("CHROMIUM"), "/usr/bin/chromium", shutil.which("chromium")):
        if candidate and Path(candidate).exists():
            return candidate
    return None


@pytest.fixture(autouse=True)
def as_deployed(settings):
    """Browser tests run with CSRF protection and the bot check on, as in production."""
    settings.update(WTF_CSRF_ENABLED=True, INTAKE_MIN_SECONDS=1)


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        missing("Chromium (Debian package 'chromium')")
    if not (NODE / "htmx.org" / "dist" / "htmx.min.js").exists():
        missing("npm packages (run `npm ci`)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def pinned_htmx_version() -> str:
    return json.loads((NODE / "htmx.org" / "package.json").read_text())["version"]


@pytest.fixture
def open_context(browser):
    """Return a function that makes a browser context serving htmx from its CDN address."""
    contexts = []
    body = (NODE / "htmx.org" / "dist" / "htmx.min.js").read_bytes()
    assert pinned_htmx_version() in HTMX_URL

    def make(**options):
        context = browser.new_context(**options)
        context.route(HTMX_URL, lambda route: route.fulfill(
            body=body, content_type="application/javascript",
            headers={"Access-Control-Allow-Origin": "*"}))
        # Nothing else may leave the machine.
        context.route(lambda url: not url.startswith("http://127.0.0.1") and url != HTMX_URL,
                      lambda route: route.abort())
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()
