"""Settings enforce the guide's environment philosophy before the app can start."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import APP

BASE = {
    "SECRET_KEY": "k" * 40,
    "POSTGRES_DB": "tasc",
    "POSTGRES_USER": "u",
    "POSTGRES_PASSWORD": "p",
}


def load(**env: str) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("POSTGRES_", "EMAIL_", "SENDGRID", "DJANGO_", "SECRET_KEY"))
    }
    code = (
        "import tasc_lms.settings as s; "
        "print(s.EMAIL_HOST, s.EMAIL_PORT, s.DATABASES['default']['ENGINE'])"
    )
    return subprocess.run(
        [sys.executable, "-c", code], cwd=APP, env={**clean, **env}, capture_output=True, text=True
    )


def test_development_defaults_to_mailpit_on_loopback_and_sqlite():
    result = load(DJANGO_ENV="development")
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["127.0.0.1", "1025", "django.db.backends.sqlite3"]


def test_staging_sends_to_mailpit_on_the_network():
    result = load(
        DJANGO_ENV="staging",
        EMAIL_PROVIDER="django",
        EMAIL_HOST="mailpit",
        EMAIL_PORT="1025",
        **BASE,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["mailpit", "1025", "django.db.backends.postgresql"]


def test_production_uses_sendgrid():
    result = load(
        DJANGO_ENV="production", EMAIL_PROVIDER="sendgrid", SENDGRID_API_KEY="SG.x", **BASE
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:2] == ["smtp.sendgrid.net", "587"]


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DJANGO_ENV": "prod"}, "use one of development, staging, production"),
        ({"DJANGO_ENV": "production", "EMAIL_PROVIDER": "django", **BASE}, "SendGrid only"),
        ({"DJANGO_ENV": "production", "EMAIL_PROVIDER": "sendgrid", **BASE}, "SENDGRID_API_KEY"),
        (
            {
                "DJANGO_ENV": "staging",
                "EMAIL_PROVIDER": "sendgrid",
                "SENDGRID_API_KEY": "SG.x",
                **BASE,
            },
            "must not send real email",
        ),
        (
            {"DJANGO_ENV": "staging", "SECRET_KEY": "k" * 40},
            "SQLite is allowed in development only",
        ),
        ({"DJANGO_ENV": "staging", "POSTGRES_DB": "x"}, "SECRET_KEY must be set"),
        ({"DJANGO_ENV": "staging", **BASE, "SECRET_KEY": "short"}, "at least 32 characters"),
        ({"DJANGO_ENV": "development", "EMAIL_PROVIDER": "smtp"}, "use django or sendgrid"),
    ],
)
def test_misconfiguration_is_refused_with_a_reason(env, message):
    result = load(**env)
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert message in result.stderr
