"""The catalogue's rules hold in the model layer, whatever path writes the data."""

from __future__ import annotations

from decimal import Decimal

import pytest
from accounts.models import User
from catalogue.models import Category, Course, CourseStatus, Enrollment, Session
from django.core.exceptions import ValidationError

pytestmark = pytest.mark.django_db
GOOD = {"thumbnail": "/t.png", "learning_objectives": ["a", "b", "c", "d"]}


def make_course(slug="c1", sessions=1, **fields) -> Course:
    course = Course.objects.create(slug=slug, title=slug, **{**GOOD, **fields})
    for n in range(1, sessions + 1):
        Session.objects.create(course=course, title=f"s{n}", position=n)
    return course


def test_a_complete_course_can_be_published():
    course = make_course()
    course.status = CourseStatus.PUBLISHED
    course.save()
    course.refresh_from_db()
    assert course.status == CourseStatus.PUBLISHED


@pytest.mark.parametrize(
    ("fields", "sessions", "reason"),
    [
        ({"thumbnail": ""}, 1, "no thumbnail"),
        ({"thumbnail": "   "}, 1, "no thumbnail"),
        ({"learning_objectives": ["a", "b", "c"]}, 1, "fewer than 4 learning objectives"),
        ({"learning_objectives": ["a", "b", "c", " "]}, 1, "fewer than 4 learning objectives"),
        ({}, 0, "no sessions"),
    ],
)
def test_publishing_an_incomplete_course_is_refused(fields, sessions, reason):
    course = make_course(sessions=sessions, **fields)
    course.status = CourseStatus.PUBLISHED
    with pytest.raises(ValidationError, match=reason):
        course.save()


def test_bulk_update_cannot_publish_an_incomplete_course():
    make_course(slug="ok")
    make_course(slug="bad", sessions=0)
    with pytest.raises(ValidationError, match="bad cannot be published"):
        Course.objects.all().update(status=CourseStatus.PUBLISHED)
    assert not Course.objects.published().exists()


def test_bulk_create_cannot_create_published_courses():
    with pytest.raises(ValidationError, match="created as drafts"):
        Course.objects.bulk_create([Course(slug="x", title="x", status="published", **GOOD)])


@pytest.fixture
def learner() -> User:
    return User.objects.create_user("someone@tasc.example", "x" * 12)


def test_enrolling_in_a_draft_is_refused(learner):
    course = make_course()
    with pytest.raises(ValidationError, match="not published"):
        Enrollment.objects.create(user=learner, course=course)


def test_bulk_enrolling_in_a_draft_is_refused(learner):
    course = make_course()
    with pytest.raises(ValidationError, match="need published courses"):
        Enrollment.objects.bulk_create([Enrollment(user=learner, course=course)])
    assert Enrollment.objects.count() == 0


def test_a_course_with_enrollments_cannot_go_back_to_draft(learner):
    course = make_course()
    Course.objects.filter(pk=course.pk).update(status=CourseStatus.PUBLISHED)
    Enrollment.objects.create(user=learner, course=course)
    course.refresh_from_db()
    course.status = CourseStatus.DRAFT
    with pytest.raises(ValidationError, match="stays published"):
        course.save()
    with pytest.raises(ValidationError, match="stay published"):
        Course.objects.filter(pk=course.pk).update(status=CourseStatus.DRAFT)
    assert Enrollment.objects.exclude(course__status="published").count() == 0


def test_categories_have_at_most_two_levels():
    top = Category.objects.create(slug="top", name="Top")
    child = Category.objects.create(slug="child", name="Child", parent=top)
    with pytest.raises(ValidationError, match="two levels"):
        Category.objects.create(slug="grandchild", name="Grandchild", parent=child)


# ------------------------------------------------------------------------------ pricing


@pytest.mark.parametrize(
    ("price", "discount", "expected"),
    [
        ("19.99", "15", "16.99"),  # 16.9915
        ("99.00", "12.5", "86.63"),  # 86.625 rounds half up
        ("149.50", "25", "112.13"),  # 112.125 rounds half up
        ("49.00", "0", "49.00"),
        ("10.00", "33.33", "6.67"),
        ("10.00", "100", "0.00"),
    ],
)
def test_discounted_price_is_exact_decimal(price, discount, expected):
    course = make_course(price=Decimal(price), discount_percent=Decimal(discount))
    course.refresh_from_db()  # values as the database returns them: Decimal
    result = course.discounted_price
    assert isinstance(result, Decimal)
    assert result == Decimal(expected)
    assert result.as_tuple().exponent == -2


def test_the_original_bug_is_gone():
    """The guide's bug: Decimal * float raised TypeError. This is the call that used to fail."""
    course = make_course(price=Decimal("80.00"), discount_percent=Decimal("10"))
    course.refresh_from_db()
    with pytest.raises(TypeError):
        course.price * 0.9  # what the old code did
    assert course.discounted_price == Decimal("72.00")


def test_discount_outside_0_to_100_is_refused():
    with pytest.raises(ValidationError, match="between 0 and 100"):
        make_course(discount_percent=Decimal("120"))
