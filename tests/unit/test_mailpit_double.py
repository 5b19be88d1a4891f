"""The Mailpit test double speaks the documented Mailpit behaviour the roles and tests rely on.

It runs here as a plain process on loopback ports (fast); tests/integration checks the image.
"""

from __future__ import annotations

import base64
import json
import os
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from email.message import EmailMessage
from pathlib import Path

import pytest
from conftest import REPO, free_port

DOUBLE = REPO / "tests" / "testbed" / "images" / "mailpit-double" / "mailpit_double.py"
BCRYPT_PASSWORD = "correct horse"
# bcrypt hash of BCRYPT_PASSWORD as `htpasswd -B` writes it ($2y$), for MP_UI_AUTH_FILE.
BCRYPT_HASH = "$2y$10$8j1pnK0dUzDKqj/.NborJODrm3k1aaFBz/pTm6jNp2lYwmA/B5coe"


class Double:
    def __init__(self, env: dict[str, str]) -> None:
        self.smtp_port, self.http_port = free_port(), free_port()
        self.env = {
            **os.environ,
            "MP_SMTP_BIND_ADDR": f"127.0.0.1:{self.smtp_port}",
            "MP_UI_BIND_ADDR": f"127.0.0.1:{self.http_port}",
            **env,
        }
        self.proc: subprocess.Popen | None = None
        self.auth: tuple[str, str] | None = None

    def start(self) -> Double:
        self.proc = subprocess.Popen(
            [sys.executable, str(DOUBLE)],
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.readyz() == 0:
                return self
            time.sleep(0.05)
        raise RuntimeError("the double did not become ready")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)

    def readyz(self) -> int:
        return subprocess.run(
            [sys.executable, str(DOUBLE), "readyz"], env=self.env, capture_output=True
        ).returncode

    def send(self, to: str, subject: str, body: str) -> None:
        msg = EmailMessage()
        msg["From"] = "noreply@tasc.test"
        msg["To"] = to
        msg["Subject"] = subject
        msg.set_content(body)
        with smtplib.SMTP("127.0.0.1", self.smtp_port, timeout=5) as smtp:
            smtp.send_message(msg)

    def request(
        self, method: str, path: str, body: dict | None = None, auth: tuple[str, str] | None = None
    ) -> tuple[int, bytes]:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}{path}", data=data, method=method
        )
        credentials = auth or self.auth
        if credentials:
            token = base64.b64encode(":".join(credentials).encode()).decode()
            req.add_header("Authorization", f"Basic {token}")
        try:
            with urllib.request.urlopen(req, timeout=5) as response:
                return response.status, response.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()

    def json(self, path: str) -> dict:
        status, body = self.request("GET", path)
        assert status == 200, body
        return json.loads(body)


@pytest.fixture
def make_double() -> Iterator:
    started: list[Double] = []

    def factory(**env: str) -> Double:
        double = Double(env).start()
        started.append(double)
        return double

    yield factory
    for double in started:
        double.stop()


@pytest.fixture
def double(make_double) -> Double:
    return make_double()


def test_health_endpoints_answer(double):
    assert double.request("GET", "/livez")[0] == 200
    assert double.request("GET", "/readyz")[0] == 200


def test_a_mail_sent_over_smtp_is_listed(double):
    double.send("learner1@test.com", "Your code", "Your one-time code is 123456")
    listing = double.json("/api/v1/messages")
    assert listing["total"] == 1
    summary = listing["messages"][0]
    assert summary["To"] == [{"Name": "", "Address": "learner1@test.com"}]
    assert summary["Subject"] == "Your code"
    assert "123456" in summary["Snippet"]


def test_message_latest_returns_the_newest_body(double):
    double.send("a@test.com", "first", "one")
    double.send("b@test.com", "second", "two")
    latest = double.json("/api/v1/message/latest")
    assert latest["Subject"] == "second"
    assert latest["Text"].strip() == "two"


def test_message_by_id_marks_it_read(double):
    double.send("a@test.com", "hello", "body")
    message_id = double.json("/api/v1/messages")["messages"][0]["ID"]
    assert double.json(f"/api/v1/message/{message_id}")["ID"] == message_id
    assert double.json("/api/v1/messages")["unread"] == 0


def test_unknown_message_is_404(double):
    assert double.request("GET", "/api/v1/message/doesnotexist")[0] == 404


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("to:learner1@test.com", ["otp learner1"]),
        ('subject:"otp learner2"', ["otp learner2"]),
        ("invite", ["invite instructor1"]),
        ("-subject:otp", ["invite instructor1"]),
    ],
)
def test_search(double, query, expected):
    double.send("learner1@test.com", "otp learner1", "code 111111")
    double.send("learner2@test.com", "otp learner2", "code 222222")
    double.send("instructor1@test.com", "invite instructor1", "welcome")
    found = double.json("/api/v1/search?" + urllib.parse.urlencode({"query": query}))
    assert sorted(m["Subject"] for m in found["messages"]) == expected
    assert found["messages_count"] == len(expected)
    assert found["total"] == 3


def test_view_latest_txt_with_query_returns_that_recipients_code(double):
    double.send("learner1@test.com", "otp", "code 111111")
    double.send("learner2@test.com", "otp", "code 222222")
    status, body = double.request("GET", "/view/latest.txt?query=to%3Alearner1%40test.com")
    assert status == 200
    assert body.decode().strip() == "code 111111"


def test_delete_by_id_removes_only_that_message(double):
    double.send("a@test.com", "keep", "x")
    double.send("b@test.com", "drop", "y")
    drop = next(
        m["ID"] for m in double.json("/api/v1/messages")["messages"] if m["Subject"] == "drop"
    )
    assert double.request("DELETE", "/api/v1/messages", {"IDs": [drop]})[0] == 200
    assert [m["Subject"] for m in double.json("/api/v1/messages")["messages"]] == ["keep"]


def test_delete_with_empty_body_deletes_everything(double):
    double.send("a@test.com", "one", "x")
    double.send("b@test.com", "two", "y")
    assert double.request("DELETE", "/api/v1/messages")[0] == 200
    assert double.json("/api/v1/messages")["total"] == 0


def test_delete_search_removes_only_matches(double):
    double.send("a@test.com", "one", "x")
    double.send("b@test.com", "two", "y")
    status, _ = double.request("DELETE", "/api/v1/search?query=to%3Aa%40test.com")
    assert status == 200
    assert [m["Subject"] for m in double.json("/api/v1/messages")["messages"]] == ["two"]


def test_info_counts_messages(double):
    double.send("a@test.com", "one", "x")
    info = double.json("/api/v1/info")
    assert info["Messages"] == 1
    assert info["Version"].startswith("v1.")


def test_messages_survive_a_restart_with_mp_database(make_double, tmp_path: Path):
    database = str(tmp_path / "mailpit.db")
    first = make_double(MP_DATABASE=database)
    first.send("a@test.com", "persisted", "x")
    first.stop()
    second = make_double(MP_DATABASE=database)
    assert [m["Subject"] for m in second.json("/api/v1/messages")["messages"]] == ["persisted"]


def test_without_mp_database_messages_are_lost_on_restart(make_double):
    first = make_double()
    first.send("a@test.com", "ephemeral", "x")
    first.stop()
    assert make_double().json("/api/v1/messages")["total"] == 0


def test_mp_max_messages_keeps_the_newest(make_double):
    double = make_double(MP_MAX_MESSAGES="3")
    for n in range(5):
        double.send("a@test.com", f"m{n}", "x")
    assert [m["Subject"] for m in double.json("/api/v1/messages")["messages"]] == ["m4", "m3", "m2"]


@pytest.fixture
def auth_double(make_double, tmp_path: Path) -> Double:
    auth_file = tmp_path / "auth"
    auth_file.write_text(f"ops:{BCRYPT_HASH}\n")
    return make_double(MP_UI_AUTH_FILE=str(auth_file))


def test_auth_refuses_anonymous_api_requests(auth_double):
    status, _ = auth_double.request("GET", "/api/v1/messages")
    assert status == 401


def test_auth_refuses_a_wrong_password(auth_double):
    assert auth_double.request("GET", "/api/v1/messages", auth=("ops", "nope"))[0] == 401


def test_auth_accepts_the_right_password(auth_double):
    assert auth_double.request("GET", "/api/v1/messages", auth=("ops", BCRYPT_PASSWORD))[0] == 200


def test_auth_leaves_health_endpoints_open(auth_double):
    assert auth_double.request("GET", "/readyz")[0] == 200
    assert auth_double.request("GET", "/livez")[0] == 200
    assert auth_double.readyz() == 0


def test_readyz_command_fails_when_nothing_listens(double):
    double.stop()
    assert double.readyz() == 1


def test_webroot_prefixes_every_route(make_double):
    double = make_double(MP_WEBROOT="/mail/")
    assert double.request("GET", "/mail/readyz")[0] == 200
    assert double.request("GET", "/mail/api/v1/messages")[0] == 200
    assert double.request("GET", "/api/v1/messages")[0] == 404


def test_auth_ignores_2b_bcrypt_lines_like_mailpit(make_double, tmp_path: Path):
    """go-htpasswd (Mailpit's library) reads bcrypt only as $2y$/$2a$: writers must use $2y$."""
    auth_file = tmp_path / "auth"
    auth_file.write_text(f"ops:{BCRYPT_HASH.replace('$2y$', '$2b$', 1)}\n")
    double = make_double(MP_UI_AUTH_FILE=str(auth_file))
    assert double.request("GET", "/api/v1/messages", auth=("ops", BCRYPT_PASSWORD))[0] == 401
