"""Users keyed by email with a TASC role, and one-time login codes."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone


class Role(models.TextChoices):
    LEARNER = "learner", "Learner"
    INSTRUCTOR = "instructor", "Instructor"
    LMS_MANAGER = "lms_manager", "LMS manager"
    FINANCE = "finance", "Finance"
    TASC_ADMIN = "tasc_admin", "TASC admin"
    ORG_ADMIN = "org_admin", "Organisation admin"


class UserManager(BaseUserManager):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **extra):
        if not email:
            raise ValueError("users need an email address")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True, role=Role.TASC_ADMIN)
        return self.create_user(email, password, **extra)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(unique=True)
    role = models.CharField(max_length=20, choices=Role.choices, default=Role.LEARNER)
    email_verified = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"

    def __str__(self) -> str:
        return self.email


def _digest(code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), code.encode(), hashlib.sha256).hexdigest()


class OneTimeCodeQuerySet(models.QuerySet):
    def live(self):
        return self.filter(used_at__isnull=True, expires_at__gt=timezone.now())


class OneTimeCode(models.Model):
    """A 6-digit login code. Only its keyed hash is stored; the code itself is only emailed."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="login_codes")
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)

    objects = OneTimeCodeQuerySet.as_manager()

    @classmethod
    def issue(cls, user: User) -> str:
        """Invalidate the user's earlier codes and return a new one."""
        cls.objects.filter(user=user).live().update(used_at=timezone.now())
        code = f"{secrets.randbelow(1_000_000):06d}"
        cls.objects.create(
            user=user,
            code_hash=_digest(code),
            expires_at=timezone.now() + timedelta(seconds=settings.OTP_TTL_SECONDS),
        )
        return code

    @classmethod
    def redeem(cls, user: User, code: str) -> bool:
        """True once for the newest live code when it matches; counts failed attempts."""
        current = cls.objects.filter(user=user).live().order_by("-created_at").first()
        if current is None or current.attempts >= settings.OTP_MAX_ATTEMPTS:
            return False
        if not hmac.compare_digest(current.code_hash, _digest(code.strip())):
            current.attempts += 1
            current.save(update_fields=["attempts"])
            return False
        current.used_at = timezone.now()
        current.save(update_fields=["used_at"])
        return True
