"""The seeded dataset and the guide's invariants, as one JSON-ready dict.

seed_status prints it on its own; seed_staging adds it to its summary line after its transaction
commits, so the deploy verifies a seed run without starting Django a second time.
"""

from __future__ import annotations

from accounts.models import User
from catalogue.models import Certificate, Course, CourseStatus, Enrollment, SessionProgress
from django.db.models import Count

from seeding import data


def dataset_report() -> dict:
    seeded = User.objects.filter(email__regex=data.SEED_EMAIL_REGEX)
    by_role = dict(seeded.values_list("role").annotate(n=Count("id")))
    courses = Course.objects.filter(slug__startswith=data.SLUG_PREFIX)
    return {
        "cohorts": {c.role: by_role.get(c.role, 0) for c in data.COHORTS},
        "seed_users": seeded.count(),
        "seed_users_unverified_or_inactive": seeded.filter(email_verified=False).count()
        + seeded.filter(is_active=False).count(),
        "seed_courses": {
            "published": courses.filter(status=CourseStatus.PUBLISHED).count(),
            "draft": courses.exclude(status=CourseStatus.PUBLISHED).count(),
        },
        "enrollments": Enrollment.objects.count(),
        "draft_enrollments": Enrollment.objects.exclude(
            course__status=CourseStatus.PUBLISHED
        ).count(),
        "progress": SessionProgress.objects.count(),
        "certificates": Certificate.objects.count(),
    }
