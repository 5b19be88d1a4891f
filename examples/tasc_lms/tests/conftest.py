from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.core.management import call_command

APP = Path(__file__).resolve().parent.parent
# The repository's Mailpit test double (a stand-in for axllent/mailpit, see tests/testbed/).
MAILPIT_DOUBLE = Path(
    os.environ.get(
        "MAILPIT_DOUBLE",
        APP.parent.parent / "tests" / "testbed" / "images" / "mailpit-double" / "mailpit_double.py",
    )
)
SUMMARY = re.compile(r"^SEED_STAGING (\{.*\})$", re.M)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(*flags: str) -> dict:
    """Run seed_staging like the command line does; return its summary line as a dict."""
    from io import StringIO

    out = StringIO()
    call_command("seed_staging", *flags, stdout=out)
    return json.loads(SUMMARY.search(out.getvalue()).group(1))


class Mailpit:
    """The Mailpit test double on loopback ports, with the two API calls tests need."""

    def __init__(self) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        env = {
            **os.environ,
            "MP_SMTP_BIND_ADDR": f"127.0.0.1:{self.smtp_port}",
            "MP_UI_BIND_ADDR": f"127.0.0.1:{self.http_port}",
        }
        self.proc = subprocess.Popen(
            [sys.executable, str(MAILPIT_DOUBLE)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http_port}/readyz", timeout=1)
                return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("the Mailpit double did not start")

    def messages(self, query: str) -> list[dict]:
        url = f"http://127.0.0.1:{self.http_port}/api/v1/search?" + urllib.parse.urlencode(
            {"query": query}
        )
        with urllib.request.urlopen(url, timeout=5) as response:
            return json.loads(response.read())["messages"]

    def latest_code(self, email: str) -> str:
        url = f"http://127.0.0.1:{self.http_port}/view/latest.txt?" + urllib.parse.urlencode(
            {"query": f"to:{email}"}
        )
        with urllib.request.urlopen(url, timeout=5) as response:
            return re.search(r"\b(\d{6})\b", response.read().decode()).group(1)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=10)


@pytest.fixture(scope="session")
def mailpit_server():
    server = Mailpit()
    yield server
    server.stop()


@pytest.fixture
def mailpit(mailpit_server, settings):
    """Point Django's SMTP backend at the double, as staging points it at Mailpit."""
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = mailpit_server.smtp_port
    return mailpit_server
