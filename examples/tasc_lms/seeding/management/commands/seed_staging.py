"""manage.py seed_staging: realistic demo data for staging and development (the staging guide).

    seed_staging                          the user cohorts (always)
    seed_staging --with-catalogue         + categories, tags, seed- courses, sessions
    seed_staging --with-enrollments       + enrollments, in published courses only
    seed_staging --with-progress --with-certificates
    seed_staging --reset [flags...]       remove what the seeder owns, then seed

Flags compose in any order and across runs; a re-run creates nothing twice. Everything runs in
one transaction: a failure leaves the previous data. It refuses to run in production.
The last line of output is machine-readable: `SEED_STAGING {json}`, with the dataset report of
seed_status under "status".
"""

from __future__ import annotations

import json
import time
from collections import Counter

from accounts.models import User
from catalogue.models import (
    Category,
    Certificate,
    Course,
    CourseStatus,
    Enrollment,
    Session,
    SessionProgress,
    Tag,
)
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from seeding import data
from seeding.report import dataset_report

SUMMARY_PREFIX = "SEED_STAGING "


def refuse_production() -> None:
    if settings.DJANGO_ENV == "production":
        raise CommandError(
            "seed_staging refuses to run with DJANGO_ENV=production: production never runs a "
            "seeder (it would create accounts with a published password). No flag overrides this."
        )


class Command(BaseCommand):
    help = "Create (or reset) the staging demo dataset of the TASC staging guide."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--with-catalogue", action="store_true")
        parser.add_argument("--with-enrollments", action="store_true")
        parser.add_argument("--with-progress", action="store_true")
        parser.add_argument("--with-certificates", action="store_true")
        parser.add_argument(
            "--reset", action="store_true", help="remove what the seeder owns first"
        )
        parser.add_argument("--seed", type=int, default=data.DEFAULT_RANDOM_SEED)
        for cohort in data.COHORTS:
            parser.add_argument(
                f"--{cohort.option.replace('_', '-')}",
                type=int,
                default=cohort.default,
                metavar="N",
            )
        parser.add_argument("--courses", type=int, default=24, metavar="N")

    def handle(self, *args, **options) -> None:
        refuse_production()
        for name in [c.option for c in data.COHORTS] + ["courses"]:
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} must be 0 or more")
        started = time.monotonic()
        seeder = Seeder(options)
        with transaction.atomic():
            if options["reset"]:
                seeder.reset()
            seeder.users()
            if options["with_catalogue"]:
                seeder.catalogue()
            if options["with_enrollments"]:
                seeder.enrollments()
            if options["with_progress"]:
                seeder.progress()
            if options["with_certificates"]:
                seeder.certificates()
            seeder.check_invariants()
        summary = seeder.summary(time.monotonic() - started)
        # Read after the commit, as any other reader sees it: the invariants the deploy checks.
        summary["status"] = dataset_report()
        self.stdout.write(SUMMARY_PREFIX + json.dumps(summary, sort_keys=True))


class Seeder:
    def __init__(self, options: dict) -> None:
        self.options = options
        self.seed = options["seed"]
        self.created: Counter[str] = Counter()
        self.existing: Counter[str] = Counter()
        self.deleted: Counter[str] = Counter()

    # -------------------------------------------------------------------------- ownership
    @staticmethod
    def seed_users():
        return User.objects.filter(email__regex=data.SEED_EMAIL_REGEX)

    @staticmethod
    def seed_courses():
        return Course.objects.filter(slug__startswith=data.SLUG_PREFIX)

    def seed_enrollments(self):
        return Enrollment.objects.filter(user__in=self.seed_users(), course__in=self.seed_courses())

    def _tally(self, kind: str, wanted: int, missing: int) -> None:
        self.created[kind] += missing
        self.existing[kind] += wanted - missing

    # ------------------------------------------------------------------------------ reset
    def reset(self) -> None:
        """Delete exactly what the seeder owns, children first, and nothing else."""
        users, courses = self.seed_users(), self.seed_courses()
        owned = Enrollment.objects.filter(user__in=users) | Enrollment.objects.filter(
            course__in=courses
        )
        steps = [
            ("certificates", Certificate.objects.filter(enrollment__in=owned)),
            ("progress", SessionProgress.objects.filter(enrollment__in=owned)),
            ("enrollments", owned),
            ("sessions", Session.objects.filter(course__in=courses)),
            ("courses", courses),
            ("tags", Tag.objects.filter(slug__startswith=data.SLUG_PREFIX)),
            ("categories", Category.objects.filter(slug__startswith=data.SLUG_PREFIX)),
            ("users", users),
        ]
        for kind, queryset in steps:
            _, per_model = queryset.delete()
            self.deleted[kind] += sum(per_model.values())

    # ------------------------------------------------------------------------------ users
    def users(self) -> None:
        wanted = [
            (data.seed_email(c.prefix, n), c.role)
            for c in data.COHORTS
            for n in range(1, self.options[c.option] + 1)
        ]
        existing = set(self.seed_users().values_list("email", flat=True))
        missing = [(email, role) for email, role in wanted if email not in existing]
        if missing:
            # One hash for every seeded user: PBKDF2 costs ~100 ms per call.
            password = make_password(data.DEFAULT_PASSWORD)
            now = timezone.now()
            User.objects.bulk_create(
                [
                    User(
                        email=e,
                        role=r,
                        password=password,
                        is_active=True,
                        email_verified=True,
                        date_joined=now,
                    )
                    for e, r in missing
                ],
                batch_size=1000,
            )
        self._tally("users", len(wanted), len(missing))

    # -------------------------------------------------------------------------- catalogue
    def catalogue(self) -> None:
        spec = data.build_catalogue(self.options["courses"], self.seed)
        self._categories(spec)
        tags = self._tags(spec)
        self._courses(spec, tags)

    def _categories(self, spec: data.Catalogue) -> None:
        existing = set(
            Category.objects.filter(slug__startswith=data.SLUG_PREFIX).values_list(
                "slug", flat=True
            )
        )
        missing = [c for c in spec.categories if c[0] not in existing]
        top = [Category(slug=s, name=n) for s, n, parent in missing if parent is None]
        Category.objects.bulk_create(top)
        ids = dict(
            Category.objects.filter(slug__startswith=data.SLUG_PREFIX).values_list("slug", "id")
        )
        Category.objects.bulk_create(
            [Category(slug=s, name=n, parent_id=ids[p]) for s, n, p in missing if p is not None]
        )
        self._tally("categories", len(spec.categories), len(missing))

    def _tags(self, spec: data.Catalogue) -> dict[str, int]:
        existing = set(
            Tag.objects.filter(slug__startswith=data.SLUG_PREFIX).values_list("slug", flat=True)
        )
        missing = [Tag(slug=s, name=n) for s, n in spec.tags if s not in existing]
        Tag.objects.bulk_create(missing)
        self._tally("tags", len(spec.tags), len(missing))
        return dict(Tag.objects.filter(slug__startswith=data.SLUG_PREFIX).values_list("slug", "id"))

    def _courses(self, spec: data.Catalogue, tag_ids: dict[str, int]) -> None:
        existing = set(self.seed_courses().values_list("slug", flat=True))
        missing = [c for c in spec.courses if c.slug not in existing]
        self._tally("courses", len(spec.courses), len(missing))
        if not missing:
            return
        categories = dict(
            Category.objects.filter(slug__startswith=data.SLUG_PREFIX).values_list("slug", "id")
        )
        instructors = sorted(
            self.seed_users().filter(role="instructor").values_list("email", "id"),
            key=lambda row: data.email_number(row[0]),
        )
        courses = Course.objects.bulk_create(
            [
                Course(
                    slug=c.slug,
                    title=c.title,
                    status=CourseStatus.DRAFT,
                    thumbnail=c.thumbnail,
                    learning_objectives=c.objectives,
                    price=c.price,
                    discount_percent=c.discount,
                    category_id=categories[c.category_slug],
                    instructor_id=(
                        instructors[c.instructor_index % len(instructors)][1]
                        if instructors
                        else None
                    ),
                )
                for c in missing
            ],
            batch_size=1000,
        )
        by_slug = {course.slug: course.id for course in courses}
        sessions = [
            Session(course_id=by_slug[c.slug], title=f"{c.title}: part {n}", position=n)
            for c in missing
            for n in range(1, c.session_count + 1)
        ]
        Session.objects.bulk_create(sessions, batch_size=2000)
        self.created["sessions"] += len(sessions)
        through = Course.tags.through
        through.objects.bulk_create(
            [
                through(course_id=by_slug[c.slug], tag_id=tag_ids[t])
                for c in missing
                for t in c.tag_slugs
            ]
        )
        # Publish through the model layer, which checks every publish rule.
        to_publish = [by_slug[c.slug] for c in missing if c.published]
        Course.objects.filter(id__in=to_publish).update(status=CourseStatus.PUBLISHED)

    # ------------------------------------------------------------------------ enrollments
    def enrollments(self) -> None:
        learners = sorted(
            self.seed_users().filter(role="learner").values_list("email", flat=True),
            key=data.email_number,
        )
        published = dict(self.seed_courses().published().order_by("slug").values_list("slug", "id"))
        if not published:
            raise CommandError(
                "--with-enrollments needs published seed courses: add --with-catalogue "
                "(in this run or an earlier one)"
            )
        user_ids = dict(self.seed_users().filter(role="learner").values_list("email", "id"))
        wanted = data.enrollment_choices(learners, list(published), self.seed)
        existing = set(self.seed_enrollments().values_list("user__email", "course__slug"))
        missing = [pair for pair in wanted if pair not in existing]
        Enrollment.objects.bulk_create(
            [Enrollment(user_id=user_ids[e], course_id=published[s]) for e, s in missing],
            batch_size=2000,
        )
        self._tally("enrollments", len(wanted), len(missing))

    # --------------------------------------------------------------------------- progress
    def progress(self) -> None:
        enrollments = list(
            self.seed_enrollments().values_list("id", "user__email", "course__slug", "course_id")
        )
        if not enrollments:
            raise CommandError(
                "--with-progress needs seed enrollments: add --with-enrollments "
                "(in this run or an earlier one)"
            )
        sessions: dict[int, list[tuple[int, int]]] = {}
        for course_id, session_id, position in Session.objects.filter(
            course__in=self.seed_courses()
        ).values_list("course_id", "id", "position"):
            sessions.setdefault(course_id, []).append((position, session_id))
        existing = set(
            SessionProgress.objects.filter(enrollment__in=self.seed_enrollments()).values_list(
                "enrollment_id", "session_id"
            )
        )
        now = timezone.now()
        wanted = 0
        rows = []
        for enrollment_id, email, slug, course_id in enrollments:
            course_sessions = sorted(sessions.get(course_id, []))
            done = data.completed_sessions(email, slug, len(course_sessions), self.seed)
            for position, session_id in course_sessions:
                wanted += 1
                if (enrollment_id, session_id) in existing:
                    continue
                completed = position <= done
                rows.append(
                    SessionProgress(
                        enrollment_id=enrollment_id,
                        session_id=session_id,
                        completed=completed,
                        completed_at=now if completed else None,
                    )
                )
        SessionProgress.objects.bulk_create(rows, batch_size=5000)
        self._tally("progress", wanted, len(rows))

    # ------------------------------------------------------------------------ certificates
    def certificates(self) -> None:
        enrollments = self.seed_enrollments()
        if not SessionProgress.objects.filter(enrollment__in=enrollments).exists():
            raise CommandError(
                "--with-certificates needs session progress: add --with-progress "
                "(in this run or an earlier one)"
            )
        totals = Counter(
            dict(
                Session.objects.filter(course__in=self.seed_courses())
                .values_list("course_id")
                .annotate(n=Count("id"))
            )
        )
        done = Counter(
            dict(
                SessionProgress.objects.filter(enrollment__in=enrollments, completed=True)
                .values_list("enrollment_id")
                .annotate(n=Count("id"))
            )
        )
        existing = set(
            Certificate.objects.filter(enrollment__in=enrollments).values_list(
                "enrollment_id", flat=True
            )
        )
        eligible = [
            (eid, email, slug)
            for eid, email, slug, course_id in enrollments.values_list(
                "id", "user__email", "course__slug", "course_id"
            )
            if totals[course_id] and done[eid] >= data.CERTIFICATE_THRESHOLD * totals[course_id]
        ]
        missing = [row for row in eligible if row[0] not in existing]
        Certificate.objects.bulk_create(
            [
                Certificate(enrollment_id=eid, code=data.certificate_code(e, s))
                for eid, e, s in missing
            ]
        )
        self._tally("certificates", len(eligible), len(missing))

    # -------------------------------------------------------------------------- checking
    def check_invariants(self) -> None:
        drafts = Enrollment.objects.exclude(course__status=CourseStatus.PUBLISHED).count()
        if drafts:
            raise CommandError(f"{drafts} enrollments in unpublished courses: rolled back")

    def summary(self, seconds: float) -> dict:
        flags = [
            f
            for f in (
                "with_catalogue",
                "with_enrollments",
                "with_progress",
                "with_certificates",
                "reset",
            )
            if self.options[f]
        ]
        return {
            "seed": self.seed,
            "flags": flags,
            "created": dict(self.created),
            "existing": dict(self.existing),
            "deleted": dict(self.deleted),
            "seconds": round(seconds, 3),
        }
