"""Sending one-time login codes: the flow Mailpit exists to capture outside production."""

from __future__ import annotations

import logging
import smtplib

from django.conf import settings
from django.core.mail import send_mail

from .models import OneTimeCode, User

log = logging.getLogger(__name__)
SUBJECT = "Your TASC login code"


class DeliveryFailed(Exception):
    """The mail server could not be reached or refused the message."""


def send_login_code(email: str) -> bool:
    """Email a fresh code to an active user. False (and no mail) for an unknown address, so
    the response never tells which addresses have accounts."""
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        return False
    code = OneTimeCode.issue(user)
    minutes = settings.OTP_TTL_SECONDS // 60
    body = (
        f"Your one-time code is {code}\n\n"
        f"It expires in {minutes} minutes. If you did not ask for it, ignore this email.\n"
    )
    try:
        send_mail(SUBJECT, body, settings.DEFAULT_FROM_EMAIL, [user.email], fail_silently=False)
    except (OSError, smtplib.SMTPException) as exc:
        log.warning("login code for %s not delivered: %s", user.email, exc)
        raise DeliveryFailed(str(exc)) from exc
    return True


def verify_login_code(email: str, code: str) -> User | None:
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None or not OneTimeCode.redeem(user, code):
        return None
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified"])
    return user
