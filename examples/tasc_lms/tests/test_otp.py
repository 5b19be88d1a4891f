"""OTP login sends a real mail through SMTP, captured by the Mailpit double."""

from __future__ import annotations

import time

import pytest
from accounts.models import OneTimeCode, User
from django.contrib.auth.hashers import make_password

from tests.conftest import free_port

pytestmark = pytest.mark.django_db
EMAIL = "learner1@test.com"


@pytest.fixture
def learner() -> User:
    return User.objects.create(email=EMAIL, role="learner", password=make_password("Pass12345!"))


def request_code(client, email=EMAIL):
    return client.post("/api/auth/otp/request", {"email": email}, content_type="application/json")


def verify(client, code, email=EMAIL):
    return client.post(
        "/api/auth/otp/verify", {"email": email, "code": code}, content_type="application/json"
    )


def test_code_arrives_in_mailpit_and_logs_in(client, mailpit, learner):
    assert request_code(client).status_code == 202
    messages = mailpit.messages(f"to:{EMAIL}")
    assert messages and messages[0]["Subject"] == "Your TASC login code"
    response = verify(client, mailpit.latest_code(EMAIL))
    assert response.status_code == 200
    assert client.get("/api/me").json() == {"email": EMAIL, "role": "learner"}
    learner.refresh_from_db()
    assert learner.email_verified


def test_a_code_works_once(client, mailpit, learner):
    request_code(client)
    code = mailpit.latest_code(EMAIL)
    assert verify(client, code).status_code == 200
    assert verify(client, code).status_code == 400


def test_a_new_code_replaces_the_old_one(client, mailpit, learner):
    request_code(client)
    old = mailpit.latest_code(EMAIL)
    time.sleep(0.01)
    request_code(client)
    new = mailpit.latest_code(EMAIL)
    if old != new:
        assert verify(client, old).status_code == 400
    assert verify(client, new).status_code == 200


def test_wrong_codes_are_limited(client, mailpit, learner, settings):
    request_code(client)
    code = mailpit.latest_code(EMAIL)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(settings.OTP_MAX_ATTEMPTS):
        assert verify(client, wrong).status_code == 400
    assert verify(client, code).status_code == 400  # locked after too many attempts


def test_an_expired_code_is_refused(client, mailpit, learner):
    request_code(client)
    code = mailpit.latest_code(EMAIL)
    OneTimeCode.objects.update(expires_at="2000-01-01T00:00:00Z")
    assert verify(client, code).status_code == 400


def test_unknown_address_gets_the_same_answer_and_no_mail(client, mailpit):
    response = request_code(client, "nobody@tasc.example")
    assert response.status_code == 202
    assert mailpit.messages("to:nobody@tasc.example") == []


def test_the_codes_are_not_stored_in_clear(client, mailpit, learner):
    request_code(client)
    code = mailpit.latest_code(EMAIL)
    assert not OneTimeCode.objects.filter(code_hash__contains=code).exists()


def test_mail_server_down_fails_cleanly_and_fast(client, learner, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nothing listens
    started = time.monotonic()
    response = request_code(client)
    assert response.status_code == 503
    assert "delivery failed" in response.json()["detail"]
    assert time.monotonic() - started < settings.EMAIL_TIMEOUT + 1


def test_the_pages_a_person_uses(client, mailpit, learner):
    assert b"Email me a code" in client.get("/login/").content
    response = client.post("/login/", {"email": EMAIL})
    assert response.status_code == 302 and response.url.startswith("/login/verify/")
    assert b"Enter your code" in client.get(response.url).content
    response = client.post("/login/verify/", {"email": EMAIL, "code": mailpit.latest_code(EMAIL)})
    assert response.status_code == 302 and response.url == "/dashboard/"
    assert EMAIL.encode() in client.get("/dashboard/").content


def test_a_wrong_code_on_the_page_says_so(client, mailpit, learner):
    client.post("/login/", {"email": EMAIL})
    response = client.post("/login/verify/", {"email": EMAIL, "code": "000000"})
    assert response.status_code == 400
    assert b"not valid" in response.content


def test_password_login_page(client, learner):
    response = client.post("/login/password/", {"email": EMAIL, "password": "Pass12345!"})
    assert response.status_code == 302 and response.url == "/dashboard/"


def test_healthz_answers_when_the_database_does(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_healthz_is_503_when_the_database_does_not(client, monkeypatch):
    from django.db import DatabaseError, connection

    def broken(*args, **kwargs):
        raise DatabaseError("connection refused")

    monkeypatch.setattr(connection, "cursor", broken)
    assert client.get("/healthz").status_code == 503
