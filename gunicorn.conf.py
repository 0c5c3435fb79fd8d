"""Gunicorn settings for the intake app, read from the working directory (`gunicorn wsgi:app`).

It sets no options. Its one hook warns at start when several worker processes would keep rate
limits in memory: each process would count on its own, so every limit (sign-in attempts, intake
and booking posts, feed requests) would really allow that many times more. Several processes
need a shared store: RATELIMIT_STORAGE_URI=redis://host:6379/0.
"""

import os


def when_ready(server):
    """Warn when more than one worker process keeps rate limits in memory."""
    storage = os.environ.get("RATELIMIT_STORAGE_URI", "")
    if server.cfg.workers > 1 and (not storage or storage.startswith("memory://")):
        server.log.warning(
            "Rate limits are kept in memory, per process, but %d worker processes will run: "
            "each counts on its own, so every limit allows %d times more. Set "
            "RATELIMIT_STORAGE_URI=redis://host:6379/0 (a Redis shared by every process).",
            server.cfg.workers, server.cfg.workers)
