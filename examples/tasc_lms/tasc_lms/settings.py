"""Settings for the reference TASC LMS, read only from the environment (a `.env` next to the
compose file in staging). The environment philosophy of the staging guide is enforced here:

- development: flexible; SQLite allowed; email goes to Mailpit over SMTP.
- staging: production-like; PostgreSQL required; email goes to Mailpit over SMTP.
- production: PostgreSQL; email through SendGrid only, never Mailpit; no seeders.
"""

from __future__ import annotations

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

ENVIRONMENTS = ("development", "staging", "production")
DJANGO_ENV = os.environ.get("DJANGO_ENV", "development")
if DJANGO_ENV not in ENVIRONMENTS:
    raise ImproperlyConfigured(f"DJANGO_ENV={DJANGO_ENV!r}: use one of {', '.join(ENVIRONMENTS)}")


def env(name: str, default: str | None = None) -> str:
    value = os.environ.get(name, default)
    if value is None or value == "":
        raise ImproperlyConfigured(f"{name} must be set when DJANGO_ENV={DJANGO_ENV}")
    return value


if DJANGO_ENV == "development":
    SECRET_KEY = os.environ.get("SECRET_KEY") or "development-only-insecure-key"
else:
    SECRET_KEY = env("SECRET_KEY")
    if len(SECRET_KEY) < 32:
        raise ImproperlyConfigured("SECRET_KEY must be at least 32 characters outside development")

DEBUG = DJANGO_ENV == "development" and os.environ.get("DJANGO_DEBUG", "1") == "1"

# The container's own health check calls http://127.0.0.1:8000/healthz, so loopback names are
# always allowed next to the configured ones.
ALLOWED_HOSTS = [h.strip() for h in os.environ.get("ALLOWED_HOSTS", "").split(",") if h.strip()]
ALLOWED_HOSTS += ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "accounts",
    "catalogue",
    "seeding",
    "core",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "tasc_lms.urls"
WSGI_APPLICATION = "tasc_lms.wsgi.application"
AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/dashboard/"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# ---------------------------------------------------------------------------------- database
if os.environ.get("POSTGRES_DB"):
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": env("POSTGRES_DB"),
            "USER": env("POSTGRES_USER"),
            "PASSWORD": env("POSTGRES_PASSWORD"),
            "HOST": os.environ.get("POSTGRES_HOST", "db"),
            "PORT": os.environ.get("POSTGRES_PORT", "5432"),
            "CONN_MAX_AGE": 60,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {"connect_timeout": 5},
        }
    }
elif DJANGO_ENV == "development":
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": os.environ.get("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
        }
    }
else:
    raise ImproperlyConfigured(
        f"DJANGO_ENV={DJANGO_ENV} needs PostgreSQL: set POSTGRES_DB, POSTGRES_USER and "
        "POSTGRES_PASSWORD (SQLite is allowed in development only)"
    )

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# ------------------------------------------------------------------------------------- email
EMAIL_PROVIDER = os.environ.get("EMAIL_PROVIDER", "django")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "TASC LMS <noreply@tasc.test>")
# An unreachable mail server must not hang a request: OTP requests fail cleanly instead.
EMAIL_TIMEOUT = int(os.environ.get("EMAIL_TIMEOUT", "5"))

if EMAIL_PROVIDER == "django":
    if DJANGO_ENV == "production":
        raise ImproperlyConfigured(
            "production sends email through SendGrid only: set EMAIL_PROVIDER=sendgrid and "
            "SENDGRID_API_KEY (Mailpit and other SMTP catchers are for development and staging)"
        )
    EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.smtp.EmailBackend")
    EMAIL_HOST = os.environ.get("EMAIL_HOST", "127.0.0.1")
    EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "1025"))
    EMAIL_USE_TLS = False
    EMAIL_HOST_USER = ""
    EMAIL_HOST_PASSWORD = ""
elif EMAIL_PROVIDER == "sendgrid":
    if DJANGO_ENV != "production":
        raise ImproperlyConfigured(
            f"DJANGO_ENV={DJANGO_ENV} must not send real email: use EMAIL_PROVIDER=django with "
            "EMAIL_HOST pointing at Mailpit (SendGrid is for production only)"
        )
    # SendGrid's SMTP relay: the user name is the literal "apikey", the password the API key.
    SENDGRID_API_KEY = env("SENDGRID_API_KEY")
    EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    EMAIL_HOST = "smtp.sendgrid.net"
    EMAIL_PORT = 587
    EMAIL_USE_TLS = True
    EMAIL_HOST_USER = "apikey"
    EMAIL_HOST_PASSWORD = SENDGRID_API_KEY
else:
    raise ImproperlyConfigured(f"EMAIL_PROVIDER={EMAIL_PROVIDER!r}: use django or sendgrid")

# ------------------------------------------------------------------------------- passwords
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
]

# ----------------------------------------------------------------------------------- static
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

if DJANGO_ENV != "development":
    SESSION_COOKIE_HTTPONLY = True
    CSRF_COOKIE_HTTPONLY = False
    SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
}

# One-time login codes.
OTP_TTL_SECONDS = int(os.environ.get("OTP_TTL_SECONDS", "600"))
OTP_MAX_ATTEMPTS = 5
