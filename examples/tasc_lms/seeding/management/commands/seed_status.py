"""manage.py seed_status: read-only JSON report of the seeded dataset and the guide's invariants.

The deploy and nightly-reset playbooks parse it to verify a seed run; it changes nothing.
"""

from __future__ import annotations

import json

from accounts.models import User
from catalogue.models import Certificate, Course, CourseStatus, Enrollment, SessionProgress
from django.core.management.base import BaseCommand
from django.db.models import Count

from seeding import data


class Command(BaseCommand):
    help = "Print counts of the seeded dataset and the invariant checks as one JSON object."

    def handle(self, *args, **options) -> None:
        seeded = User.objects.filter(email__regex=data.SEED_EMAIL_REGEX)
        by_role = dict(seeded.values_list("role").annotate(n=Count("id")))
        courses = Course.objects.filter(slug__startswith=data.SLUG_PREFIX)
        report = {
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
        self.stdout.write(json.dumps(report, sort_keys=True))
