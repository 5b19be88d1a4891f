"""The catalogue and learning records.

Two rules from the staging guide live here, in the model layer, so no code path (the seeder,
the admin, a bulk update) can break them:
- a course is published only with a thumbnail, >= 4 learning objectives and >= 1 session;
- enrollments exist only in published courses.
Money is Decimal end to end (the guide's Decimal * float TypeError).
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

CENT = Decimal("0.01")
HUNDRED = Decimal(100)
MIN_LEARNING_OBJECTIVES = 4


class Category(models.Model):
    """Two levels: a top-level category, or a child of one."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=140, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )

    class Meta:
        verbose_name_plural = "categories"

    def clean(self) -> None:
        if self.parent_id and self.parent.parent_id:
            raise ValidationError("categories have two levels: a child's parent must be top-level")

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    def __str__(self) -> str:
        return self.name


class Tag(models.Model):
    name = models.CharField(max_length=60)
    slug = models.SlugField(max_length=80, unique=True)

    def __str__(self) -> str:
        return self.name


class CourseStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    PUBLISHED = "published", "Published"


def publish_problems(course: Course) -> list[str]:
    """Why a course cannot be published (empty when it can)."""
    problems = []
    if not (course.thumbnail or "").strip():
        problems.append("it has no thumbnail")
    if (
        len([o for o in course.learning_objectives or [] if str(o).strip()])
        < MIN_LEARNING_OBJECTIVES
    ):
        problems.append(f"it has fewer than {MIN_LEARNING_OBJECTIVES} learning objectives")
    if course.pk is None or not course.sessions.exists():
        problems.append("it has no sessions")
    return problems


class CourseQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=CourseStatus.PUBLISHED)

    def update(self, **kwargs):
        if kwargs.get("status") == CourseStatus.DRAFT:
            enrolled = self.filter(enrollments__isnull=False).values_list("slug", flat=True)
            if enrolled:
                raise ValidationError(
                    f"courses with enrollments stay published: {sorted(set(enrolled))}"
                )
        if kwargs.get("status") == CourseStatus.PUBLISHED:
            for course in self.prefetch_related(None):
                problems = publish_problems(course)
                if problems:
                    raise ValidationError(
                        f"course {course.slug} cannot be published: {', '.join(problems)}"
                    )
        return super().update(**kwargs)

    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        if any(o.status == CourseStatus.PUBLISHED for o in objs):
            raise ValidationError(
                "courses are created as drafts and published once they have sessions"
            )
        return super().bulk_create(objs, *args, **kwargs)


class Course(models.Model):
    title = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    status = models.CharField(
        max_length=10, choices=CourseStatus.choices, default=CourseStatus.DRAFT
    )
    thumbnail = models.CharField(max_length=300, blank=True, default="")
    learning_objectives = models.JSONField(default=list, blank=True)
    price = models.DecimalField(max_digits=10, decimal_places=2, default=Decimal("0.00"))
    discount_percent = models.DecimalField(max_digits=5, decimal_places=2, default=Decimal("0"))
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.SET_NULL, related_name="courses"
    )
    tags = models.ManyToManyField(Tag, blank=True, related_name="courses")
    instructor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="courses_taught",
    )
    created_at = models.DateTimeField(default=timezone.now)

    objects = CourseQuerySet.as_manager()

    def clean(self) -> None:
        if not Decimal(0) <= Decimal(self.discount_percent) <= HUNDRED:
            raise ValidationError("discount_percent must be between 0 and 100")
        if self.status == CourseStatus.DRAFT and self.pk and self.enrollments.exists():
            raise ValidationError(f"{self.slug} has enrollments, so it stays published")
        if self.status == CourseStatus.PUBLISHED:
            problems = publish_problems(self)
            if problems:
                raise ValidationError(f"cannot publish {self.slug}: {', '.join(problems)}")

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)

    @property
    def discounted_price(self) -> Decimal:
        """Price after the discount, rounded half-up to cents, in Decimal only."""
        price = Decimal(self.price)
        discount = Decimal(self.discount_percent)
        return (price * (HUNDRED - discount) / HUNDRED).quantize(CENT, rounding=ROUND_HALF_UP)

    def __str__(self) -> str:
        return self.title


class Session(models.Model):
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(max_length=200)
    position = models.PositiveIntegerField()
    starts_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["course_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["course", "position"], name="session_position_unique")
        ]

    def __str__(self) -> str:
        return f"{self.course.slug} #{self.position}"


class EnrollmentQuerySet(models.QuerySet):
    def bulk_create(self, objs, *args, **kwargs):
        objs = list(objs)
        course_ids = {o.course_id for o in objs}
        unpublished = set(
            Course.objects.filter(id__in=course_ids)
            .exclude(status=CourseStatus.PUBLISHED)
            .values_list("slug", flat=True)
        )
        if unpublished:
            raise ValidationError(
                f"enrollments need published courses; not published: {sorted(unpublished)}"
            )
        return super().bulk_create(objs, *args, **kwargs)


class Enrollment(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="enrollments"
    )
    course = models.ForeignKey(Course, on_delete=models.CASCADE, related_name="enrollments")
    enrolled_at = models.DateTimeField(default=timezone.now)

    objects = EnrollmentQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "course"], name="enrollment_unique")]

    def clean(self) -> None:
        # Read the status from the database: an in-memory course object may be stale.
        if not Course.objects.filter(pk=self.course_id, status=CourseStatus.PUBLISHED).exists():
            raise ValidationError(f"{self.course.slug} is not published: no enrollments")

    def save(self, *args, **kwargs) -> None:
        self.clean()
        super().save(*args, **kwargs)


class SessionProgress(models.Model):
    enrollment = models.ForeignKey(Enrollment, on_delete=models.CASCADE, related_name="progress")
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="progress")
    completed = models.BooleanField(default=False)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["enrollment", "session"], name="progress_unique")
        ]


class Certificate(models.Model):
    enrollment = models.OneToOneField(
        Enrollment, on_delete=models.CASCADE, related_name="certificate"
    )
    code = models.CharField(max_length=32, unique=True)
    issued_at = models.DateTimeField(default=timezone.now)
