"""Test settings: the real settings, with a fast password hasher for users made by tests.

The database comes from the environment like in production: SQLite by default, the test bed's
PostgreSQL when POSTGRES_DB is set (`make app-test` runs both).
"""

import os

os.environ.setdefault("DJANGO_ENV", "development")

from tasc_lms.settings import *  # noqa: F403

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.MD5PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]

# Static files are collected only in the image; the tests do not serve them.
MIDDLEWARE = [m for m in MIDDLEWARE if not m.startswith("whitenoise")]  # noqa: F405
