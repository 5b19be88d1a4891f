"""seed_staging does exactly what the staging guide says, and nothing more."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from accounts.models import Role, User
from catalogue.models import (
    Category,
    Certificate,
    Course,
    CourseStatus,
    Enrollment,
    Session,
    SessionProgress,
    publish_problems,
)
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db.models import Count
from seeding import data
from seeding.management.commands import seed_staging as command

from tests.conftest import seed

pytestmark = pytest.mark.django_db
FULL = ("--with-catalogue", "--with-enrollments", "--with-progress", "--with-certificates")
GUIDE_COHORTS = {  # the guide's numbers, written out so the code cannot drift from them
    Role.LEARNER: (50, "learner"),
    Role.INSTRUCTOR: (15, "instructor"),
    Role.LMS_MANAGER: (5, "manager"),
    Role.FINANCE: (3, "finance"),
    Role.TASC_ADMIN: (2, "admin"),
    Role.ORG_ADMIN: (2, "orgadmin"),
}


def snapshot() -> dict:
    """Everything the seeder could touch, by natural keys."""
    return {
        "users": sorted(User.objects.values_list("email", "role", "password")),
        "categories": sorted(Category.objects.values_list("slug", "parent__slug")),
        "courses": sorted(
            Course.objects.values_list("slug", "status", "price", "instructor__email")
        ),
        "sessions": sorted(Session.objects.values_list("course__slug", "position")),
        "enrollments": sorted(Enrollment.objects.values_list("user__email", "course__slug")),
        "progress": sorted(
            SessionProgress.objects.values_list(
                "enrollment__user__email", "session__course__slug", "session__position", "completed"
            )
        ),
        "certificates": sorted(Certificate.objects.values_list("code", flat=True)),
    }


# ------------------------------------------------------------------------------ cohorts


def test_default_creates_the_77_users():
    summary = seed()
    assert summary["created"]["users"] == 77
    assert User.objects.count() == 77


@pytest.mark.parametrize("role", list(GUIDE_COHORTS))
def test_cohort_count_and_email_pattern(role):
    seed()
    count, prefix = GUIDE_COHORTS[role]
    emails = set(User.objects.filter(role=role).values_list("email", flat=True))
    assert emails == {f"{prefix}{n}@test.com" for n in range(1, count + 1)}


def test_every_seeded_user_is_active_and_verified():
    seed()
    assert not User.objects.filter(is_active=False).exists()
    assert not User.objects.filter(email_verified=False).exists()


@pytest.mark.parametrize(
    "email", ["learner1@test.com", "instructor15@test.com", "orgadmin2@test.com"]
)
def test_seeded_users_log_in_with_the_guide_password(client, email):
    seed()
    response = client.post(
        "/api/auth/login",
        {"email": email, "password": "Pass12345!"},
        content_type="application/json",
    )
    assert response.status_code == 200
    assert response.json()["email"] == email


def test_all_users_share_one_password_hash():
    seed()
    assert User.objects.values("password").distinct().count() == 1


def test_size_options_scale_cohorts():
    seed("--learners", "7", "--instructors", "2")
    assert User.objects.filter(role=Role.LEARNER).count() == 7
    assert User.objects.filter(role=Role.INSTRUCTOR).count() == 2


def test_negative_size_is_refused():
    with pytest.raises(CommandError, match="--learners must be 0 or more"):
        seed("--learners", "-1")


# ---------------------------------------------------------------------------- catalogue


def test_catalogue_categories_have_two_levels():
    seed("--with-catalogue")
    tops = Category.objects.filter(parent__isnull=True)
    children = Category.objects.filter(parent__isnull=False)
    assert tops.exists() and children.exists()
    assert not children.filter(parent__parent__isnull=False).exists()
    assert all(t.children.exists() for t in tops)


def test_catalogue_course_slugs_are_prefixed_and_mixed():
    seed("--with-catalogue")
    assert not Course.objects.exclude(slug__startswith="seed-").exists()
    statuses = set(Course.objects.values_list("status", flat=True))
    assert statuses == {CourseStatus.PUBLISHED, CourseStatus.DRAFT}


def test_every_published_course_meets_the_publish_rules():
    seed("--with-catalogue")
    published = Course.objects.published()
    assert published.exists()
    for course in published:
        assert publish_problems(course) == []
        assert course.thumbnail
        assert len(course.learning_objectives) >= 4
        assert course.sessions.exists()


def test_catalogue_has_tags_and_sessions():
    summary = seed("--with-catalogue")
    assert summary["created"]["tags"] > 0
    assert Session.objects.count() == summary["created"]["sessions"] > 0
    assert not Course.objects.annotate(n=Count("tags")).filter(n=0).exists()


def test_catalogue_prices_are_decimal():
    seed("--with-catalogue")
    for course in Course.objects.all():
        assert isinstance(course.discounted_price, Decimal)


# -------------------------------------------------------------------------- enrollments


def test_enrollments_only_in_published_courses():
    seed("--with-catalogue", "--with-enrollments")
    assert Enrollment.objects.exists()
    assert Enrollment.objects.exclude(course__status="published").count() == 0


def test_every_learner_is_enrolled():
    seed("--with-catalogue", "--with-enrollments")
    enrolled = Enrollment.objects.values("user").distinct().count()
    assert enrolled == User.objects.filter(role=Role.LEARNER).count()


def test_enrollments_without_a_catalogue_explain_what_to_add():
    with pytest.raises(CommandError, match="add --with-catalogue"):
        seed("--with-enrollments")


# ----------------------------------------------------------------- progress, certificates


def test_progress_covers_every_session_of_every_enrollment():
    seed(*FULL)
    for enrollment in Enrollment.objects.all():
        assert enrollment.progress.count() == enrollment.course.sessions.count()


def test_certificates_only_past_the_threshold():
    seed(*FULL)
    assert Certificate.objects.exists()
    for enrollment in Enrollment.objects.all():
        total = enrollment.course.sessions.count()
        done = enrollment.progress.filter(completed=True).count()
        eligible = done >= data.CERTIFICATE_THRESHOLD * total
        assert hasattr(enrollment, "certificate") == eligible, (done, total)


def test_progress_needs_enrollments():
    seed("--with-catalogue")
    with pytest.raises(CommandError, match="add --with-enrollments"):
        seed("--with-progress")


def test_certificates_need_progress():
    seed("--with-catalogue", "--with-enrollments")
    with pytest.raises(CommandError, match="add --with-progress"):
        seed("--with-certificates")


# ------------------------------------------------------------------- composing and reruns


def test_flags_on_separate_runs_equal_one_run(django_db_blocker):
    seed(*FULL)
    together = snapshot()
    seed("--reset")
    seed()
    seed("--with-catalogue")
    seed("--with-enrollments")
    seed("--with-progress")
    seed("--with-certificates")
    assert _without_passwords(snapshot()) == _without_passwords(together)


def test_flag_order_does_not_matter():
    seed("--with-certificates", "--with-progress", "--with-enrollments", "--with-catalogue")
    reversed_order = snapshot()
    seed("--reset")
    seed(*FULL)
    assert _without_passwords(snapshot()) == _without_passwords(reversed_order)


def _without_passwords(state: dict) -> dict:
    # Password hashes are salted per run: compare who exists, not the salt.
    return {**state, "users": [(e, r) for e, r, _ in state["users"]]}


def test_rerun_creates_nothing_and_changes_nothing():
    seed(*FULL)
    before = snapshot()
    summary = seed(*FULL)
    assert set(summary["created"].values()) == {0}
    assert snapshot() == before


def test_deterministic_for_a_seed_and_different_for_another():
    seed(*FULL)
    first = snapshot()["enrollments"]
    seed("--reset", *FULL)
    assert snapshot()["enrollments"] == first
    seed("--reset", "--seed", "7", *FULL)
    assert snapshot()["enrollments"] != first


def test_summary_is_one_json_line(capsys):
    call_command("seed_staging", "--with-catalogue")
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("SEED_STAGING {")


def test_summary_carries_what_seed_status_reports(capsys):
    summary = seed(*FULL)
    capsys.readouterr()
    call_command("seed_status")
    assert summary["status"] == json.loads(capsys.readouterr().out)
    assert summary["status"]["draft_enrollments"] == 0
    assert summary["status"]["cohorts"][Role.LEARNER] == 50


# ------------------------------------------------------------------------------- reset


@pytest.fixture
def outsider():
    """Data the seeder does not own: it must survive every reset."""
    user = User.objects.create_user("real.person@tasc.example", "x" * 12, role=Role.LEARNER)
    course = Course.objects.create(
        slug="intro-to-onboarding",
        title="Onboarding",
        thumbnail="/t.png",
        learning_objectives=["a", "b", "c", "d"],
    )
    Session.objects.create(course=course, title="One", position=1)
    course.status = CourseStatus.PUBLISHED
    course.save()
    Enrollment.objects.create(user=user, course=course)
    return user, course


def test_reset_removes_what_the_seeder_owns(outsider):
    seed(*FULL)
    summary = seed("--reset")
    assert summary["deleted"]["users"] == 77
    # reset without other flags re-creates the cohorts only
    assert not Course.objects.filter(slug__startswith="seed-").exists()
    assert not Category.objects.filter(slug__startswith="seed-").exists()
    assert not Certificate.objects.exists()


def test_reset_keeps_what_it_does_not_own(outsider):
    user, course = outsider
    seed(*FULL)
    seed("--reset", *FULL)
    assert User.objects.filter(pk=user.pk).exists()
    assert Course.objects.filter(pk=course.pk, status=CourseStatus.PUBLISHED).exists()
    assert Enrollment.objects.filter(user=user, course=course).exists()


def test_reset_restores_data_testers_changed():
    seed(*FULL)
    before = _without_passwords(snapshot())
    learner = User.objects.get(email="learner1@test.com")
    learner.enrollments.all().delete()
    User.objects.filter(email="learner2@test.com").update(email_verified=False)
    seed("--reset", *FULL)
    assert _without_passwords(snapshot()) == before


# --------------------------------------------------------------------------- atomicity


def test_a_failure_mid_seed_leaves_the_previous_data(monkeypatch):
    seed(*FULL)
    before = snapshot()

    def explode(self):
        raise RuntimeError("injected failure after the reset and the catalogue")

    monkeypatch.setattr(command.Seeder, "progress", explode)
    with pytest.raises(RuntimeError, match="injected"):
        seed("--reset", *FULL)
    assert snapshot() == before


# -------------------------------------------------------------------------- production


@pytest.mark.parametrize("flags", [(), ("--reset",), FULL, ("--reset", *FULL)])
def test_refuses_production_whatever_the_flags(settings, flags):
    settings.DJANGO_ENV = "production"
    with pytest.raises(CommandError, match="DJANGO_ENV=production"):
        seed(*flags)
    assert User.objects.count() == 0


def test_seed_status_reports_cohorts_and_invariants(capsys):
    seed(*FULL)
    call_command("seed_status")
    import json

    report = json.loads(capsys.readouterr().out)
    assert report["cohorts"] == {role.value: n for role, (n, _) in GUIDE_COHORTS.items()}
    assert report["draft_enrollments"] == 0
    assert report["seed_users"] == 77
