"""Calendar fixtures: a real CalDAV server (Radicale from PyPI) on 127.0.0.1."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.helpers import free_port, wait_for_port


@pytest.fixture
def radicale(tmp_path):
    """Run Radicale (CalDAV) on 127.0.0.1 with no authentication; yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "radicale", "--auth-type=none",
         f"--storage-filesystem-folder={tmp_path / 'radicale'}",
         f"--server-hosts=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port, process, "Radicale", 15)
    except BaseException:
        process.kill()
        raise
    yield f"http://127.0.0.1:{port}/"
    process.terminate()
    process.wait(10)
