"""The reference a seeder is measured against (bench only, never shipped): the obvious way to
write seed_staging, one save() per row and one password hash per user.

Run inside the web container: python manage.py shell < naive_seed.py
It creates the guide's 77 users, 24 courses with 4 sessions each (18 published) and 3
enrollments per learner: close to the default dataset (`--with-catalogue --with-enrollments`).
"""

from decimal import Decimal

from accounts.models import User
from catalogue.models import Course, Enrollment, Session
from django.db import transaction
from seeding import data

with transaction.atomic():
    User.objects.filter(email__endswith="@naive.bench").delete()
    Course.objects.filter(slug__startswith="naive-").delete()
    learners = []
    for cohort in data.COHORTS:
        for n in range(1, cohort.default + 1):
            user = User.objects.create_user(  # hashes the password, once per user
                email=f"{cohort.prefix}{n}@naive.bench",
                password=data.DEFAULT_PASSWORD,
                role=cohort.role,
            )
            if cohort.option == "learners":
                learners.append(user)
    published = []
    for n in range(24):
        course = Course(
            title=f"Naive course {n}",
            slug=f"naive-course-{n}",
            thumbnail=f"/static/naive/{n}.png",
            learning_objectives=[f"Objective {k}" for k in range(4)],
            price=Decimal("49.00"),
        )
        course.save()  # a draft first, as the model requires
        for position in range(1, 5):
            Session(course=course, title=f"Session {position}", position=position).save()
        if n % 4:
            course.status = "published"
            course.save()
            published.append(course)
    for i, learner in enumerate(learners):
        for k in range(3):
            Enrollment(user=learner, course=published[(i + k) % len(published)]).save()
print(f"NAIVE users={User.objects.filter(email__endswith='@naive.bench').count()}")
