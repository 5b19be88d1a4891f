"""Login by one-time code (pages for people, JSON for tests) and by password."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from django.contrib.auth import authenticate, login, logout
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from .otp import DeliveryFailed, send_login_code, verify_login_code

BACKEND = "django.contrib.auth.backends.ModelBackend"


def _json_body(request: HttpRequest) -> dict:
    try:
        data = json.loads(request.body or b"{}")
    except json.JSONDecodeError:
        return {}
    return data if isinstance(data, dict) else {}


@require_http_methods(["GET", "POST"])
def login_request(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        email = request.POST.get("email", "").strip().lower()
        try:
            send_login_code(email)
        except DeliveryFailed:
            return render(
                request,
                "accounts/login.html",
                {"error": "We could not send your code right now. Try again in a minute."},
                status=503,
            )
        return redirect(f"/login/verify/?{urlencode({'email': email})}")
    return render(request, "accounts/login.html")


@require_http_methods(["GET", "POST"])
def login_verify(request: HttpRequest) -> HttpResponse:
    email = request.POST.get("email") or request.GET.get("email", "")
    if request.method == "POST":
        user = verify_login_code(email, request.POST.get("code", ""))
        if user is not None:
            login(request, user, backend=BACKEND)
            return redirect("/dashboard/")
        context = {"email": email, "error": "That code is not valid. Check it or ask again."}
        return render(request, "accounts/verify.html", context, status=400)
    return render(request, "accounts/verify.html", {"email": email})


@require_POST
def login_password(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request,
        username=request.POST.get("email", "").strip().lower(),
        password=request.POST.get("password", ""),
    )
    if user is None:
        context = {"error": "Email or password is wrong."}
        return render(request, "accounts/login.html", context, status=400)
    login(request, user, backend=BACKEND)
    return redirect("/dashboard/")


def logout_view(request: HttpRequest) -> HttpResponse:
    logout(request)
    return redirect("/login/")


@csrf_exempt
@require_POST
def api_otp_request(request: HttpRequest) -> JsonResponse:
    email = str(_json_body(request).get("email", ""))
    if "@" not in email:
        return JsonResponse({"detail": "email is required"}, status=400)
    try:
        send_login_code(email)
    except DeliveryFailed:
        return JsonResponse({"detail": "email delivery failed, try again later"}, status=503)
    # Same answer whether or not the address has an account.
    return JsonResponse({"detail": "if the address has an account, a code was sent"}, status=202)


@csrf_exempt
@require_POST
def api_otp_verify(request: HttpRequest) -> JsonResponse:
    body = _json_body(request)
    user = verify_login_code(str(body.get("email", "")), str(body.get("code", "")))
    if user is None:
        return JsonResponse({"detail": "invalid or expired code"}, status=400)
    login(request, user, backend=BACKEND)
    return JsonResponse({"email": user.email, "role": user.role})


@csrf_exempt
@require_POST
def api_password_login(request: HttpRequest) -> JsonResponse:
    body = _json_body(request)
    user = authenticate(
        request,
        username=str(body.get("email", "")).strip().lower(),
        password=str(body.get("password", "")),
    )
    if user is None:
        return JsonResponse({"detail": "invalid credentials"}, status=400)
    login(request, user, backend=BACKEND)
    return JsonResponse({"email": user.email, "role": user.role})


def api_me(request: HttpRequest) -> JsonResponse:
    if not request.user.is_authenticated:
        return JsonResponse({"detail": "not signed in"}, status=401)
    return JsonResponse({"email": request.user.email, "role": request.user.role})
