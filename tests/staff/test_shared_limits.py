"""Sign-in throttling shared by several processes through Redis, as when more than one web
process runs."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time

import pytest
import requests

from tests.conftest import ROOT, free_port, missing


def wait_for_port(port: int, process: subprocess.Popen, what: str) -> None:
    import socket

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"{what} stopped: {process.stdout.read() if process.stdout else ''}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.1)
    pytest.fail(f"{what} did not start")


@pytest.fixture
def redis_url(tmp_path):
    """Run a throwaway Redis server on 127.0.0.1; yield its URL."""
    if not shutil.which("redis-server"):
        missing("Redis (Debian package 'redis-server')")
    port = free_port()
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                                "--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    wait_for_port(port, process, "Redis")
    yield f"redis://127.0.0.1:{port}/0"
    process.terminate()
    process.wait(10)


def test_two_web_processes_share_one_failure_count(app, make_user, database_url, redis_url):
    user = make_user("front_desk")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "shared-secret",
           "RATELIMIT_STORAGE_URI": redis_url, "LOGIN_LIMIT_ACCOUNT": "3 per 15 minutes",
           "LOGIN_LIMIT_ADDRESS": "100 per 15 minutes", "FLASK_APP": "wsgi"}
    servers, ports = [], []
    try:
        for _ in range(2):
            port = free_port()
            servers.append(subprocess.Popen(
                [sys.executable, "-m", "flask", "run", "--host", "127.0.0.1", "--port",
                 str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT, text=True))
            ports.append(port)
        for port, server in zip(ports, servers, strict=True):
            wait_for_port(port, server, "the web process")

        def attempt(port: int, password: str) -> int:
            browser = requests.Session()
            page = browser.get(f"http://127.0.0.1:{port}/staff/login", timeout=10)
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page.text)
            return browser.post(f"http://127.0.0.1:{port}/staff/login", timeout=10,
                                data={"email": user.email, "password": password,
                                      "csrf_token": csrf.group(1)},
                                allow_redirects=False).status_code

        first, second = ports
        codes = [attempt(first, "wrong password 1"), attempt(second, "wrong password 2"),
                 attempt(first, "wrong password 3"), attempt(second, "wrong password 4")]
        assert codes == [401, 401, 401, 429]
    finally:
        for server in servers:
            server.terminate()
            server.wait(10)
