"""Sign-in throttling shared by several processes through Redis, as when more than one web
process runs."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import requests

from tests.helpers import ROOT, free_port, wait_for_port


def test_two_web_processes_share_one_failure_count(app, make_user, database_url, redis_url):
    user = make_user("front_desk")
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": "shared-secret-" + "s" * 32,
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
