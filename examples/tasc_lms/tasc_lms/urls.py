from accounts import views as accounts
from core import views as core
from django.contrib import admin
from django.urls import path

urlpatterns = [
    path("", core.home, name="home"),
    path("healthz", core.healthz, name="healthz"),
    path("dashboard/", core.dashboard, name="dashboard"),
    path("login/", accounts.login_request, name="login"),
    path("login/verify/", accounts.login_verify, name="login-verify"),
    path("login/password/", accounts.login_password, name="login-password"),
    path("logout/", accounts.logout_view, name="logout"),
    path("api/auth/otp/request", accounts.api_otp_request, name="api-otp-request"),
    path("api/auth/otp/verify", accounts.api_otp_verify, name="api-otp-verify"),
    path("api/auth/login", accounts.api_password_login, name="api-password-login"),
    path("api/me", accounts.api_me, name="api-me"),
    path("admin/", admin.site.urls),
]
