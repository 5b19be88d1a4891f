from __future__ import annotations

from catalogue.models import Course
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import DatabaseError, connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render


def healthz(request: HttpRequest) -> JsonResponse:
    """200 only when the database answers. It never touches Mailpit or other services, so
    the deploy's health check cannot fail because email capture is down."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except DatabaseError as exc:
        return JsonResponse({"status": "unavailable", "database": str(exc)[:200]}, status=503)
    return JsonResponse({"status": "ok", "environment": settings.DJANGO_ENV})


def home(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return redirect("/dashboard/")
    return redirect("/login/")


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    courses = Course.objects.published().filter(enrollments__user=request.user).order_by("title")
    return render(request, "core/dashboard.html", {"courses": courses})
