"""What the seeder owns and the dataset it builds, as plain data (no database access here).

Everything is derived from the options and a fixed random seed, so the same command always
describes the same dataset; the command then creates only what is missing.
"""

from __future__ import annotations

import hashlib
import random
import re
from dataclasses import dataclass, field
from decimal import Decimal

from accounts.models import Role

DEFAULT_PASSWORD = "Pass12345!"
DEFAULT_RANDOM_SEED = 2024
SLUG_PREFIX = "seed-"
EMAIL_DOMAIN = "test.com"
ENROLLMENTS_PER_LEARNER = 3
# A certificate is issued when at least this share of a course's sessions is completed.
CERTIFICATE_THRESHOLD = Decimal("0.80")


@dataclass(frozen=True)
class Cohort:
    role: str
    prefix: str  # emails are <prefix><n>@test.com, n from 1
    default: int
    option: str  # the command-line size option


COHORTS = (
    Cohort(Role.LEARNER, "learner", 50, "learners"),
    Cohort(Role.INSTRUCTOR, "instructor", 15, "instructors"),
    Cohort(Role.LMS_MANAGER, "manager", 5, "managers"),
    Cohort(Role.FINANCE, "finance", 3, "finance"),
    Cohort(Role.TASC_ADMIN, "admin", 2, "admins"),
    Cohort(Role.ORG_ADMIN, "orgadmin", 2, "org_admins"),
)
# The seeder owns exactly these users: the cohort patterns in the test.com domain.
SEED_EMAIL_REGEX = (
    r"^(" + "|".join(c.prefix for c in COHORTS) + r")[0-9]+@" + re.escape(EMAIL_DOMAIN) + r"$"
)


def seed_email(prefix: str, n: int) -> str:
    return f"{prefix}{n}@{EMAIL_DOMAIN}"


def email_number(email: str) -> int:
    return int(re.search(r"([0-9]+)@", email).group(1))


TOP_CATEGORIES = {
    "Technology": ["Software Engineering", "Data and AI", "Cloud and Security"],
    "Business": ["Leadership", "Finance Essentials", "Project Management"],
    "Design": ["User Experience", "Visual Design", "Product Design"],
    "Health and Safety": ["Workplace Safety", "Wellbeing", "First Aid"],
}
TAGS = [
    "beginner",
    "intermediate",
    "advanced",
    "certification",
    "hands-on",
    "self-paced",
    "live",
    "compliance",
    "soft-skills",
    "technical",
]
SUBJECTS = [
    "Python",
    "SQL",
    "Negotiation",
    "Budgeting",
    "Accessibility",
    "Kubernetes",
    "Agile",
    "Typography",
    "Risk",
    "Coaching",
    "Security",
    "Statistics",
]
LEVELS = ["Foundations of", "Practical", "Advanced", "Introduction to"]
PRICES = [Decimal("19.99"), Decimal("49.00"), Decimal("99.00"), Decimal("149.50")]
DISCOUNTS = [Decimal("0"), Decimal("10"), Decimal("12.5"), Decimal("15"), Decimal("25")]


def slugify(text: str) -> str:
    return SLUG_PREFIX + re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


@dataclass
class CourseSpec:
    slug: str
    title: str
    published: bool
    thumbnail: str
    objectives: list[str]
    price: Decimal
    discount: Decimal
    category_slug: str
    tag_slugs: list[str]
    session_count: int
    instructor_index: int  # into the instructors, ordered by number


@dataclass
class Catalogue:
    categories: list[tuple[str, str, str | None]] = field(
        default_factory=list
    )  # slug, name, parent
    tags: list[tuple[str, str]] = field(default_factory=list)  # slug, name
    courses: list[CourseSpec] = field(default_factory=list)


def build_catalogue(course_count: int, seed: int) -> Catalogue:
    """Two-level categories, tags, and courses: two in three published (each meeting the
    publish rules), the rest drafts (some of which could not be published)."""
    rng = random.Random(f"{seed}:catalogue")
    catalogue = Catalogue()
    children: list[str] = []
    for top, subs in TOP_CATEGORIES.items():
        catalogue.categories.append((slugify(top), top, None))
        for sub in subs:
            catalogue.categories.append((slugify(sub), sub, slugify(top)))
            children.append(slugify(sub))
    catalogue.tags = [(slugify(t), t) for t in TAGS]
    for i in range(1, course_count + 1):
        subject = SUBJECTS[(i - 1) % len(SUBJECTS)]
        title = f"{LEVELS[(i - 1) // len(SUBJECTS) % len(LEVELS)]} {subject} {i}"
        published = i % 3 != 0
        objectives = [f"Explain {subject} concept {n}" for n in range(1, rng.randint(4, 6) + 1)]
        thumbnail = f"/static/thumbnails/{slugify(subject)[len(SLUG_PREFIX) :]}.png"
        if not published and i % 2:
            thumbnail, objectives = "", objectives[:2]  # an unfinished draft
        catalogue.courses.append(
            CourseSpec(
                slug=f"{SLUG_PREFIX}course-{i:04d}",
                title=title,
                published=published,
                thumbnail=thumbnail,
                objectives=objectives,
                price=rng.choice(PRICES),
                discount=rng.choice(DISCOUNTS),
                category_slug=children[rng.randrange(len(children))],
                tag_slugs=sorted(rng.sample([s for s, _ in catalogue.tags], 2)),
                session_count=rng.randint(3, 6),
                instructor_index=i - 1,
            )
        )
    return catalogue


def enrollment_choices(learners: list[str], courses: list[str], seed: int) -> list[tuple[str, str]]:
    """(learner email, course slug) pairs: each learner in a few published courses."""
    rng = random.Random(f"{seed}:enrollments")
    per_learner = min(ENROLLMENTS_PER_LEARNER, len(courses))
    return [(email, slug) for email in learners for slug in rng.sample(courses, per_learner)]


def completed_sessions(email: str, slug: str, session_count: int, seed: int) -> int:
    """How many sessions (in order) this enrollment has completed."""
    return random.Random(f"{seed}:progress:{email}:{slug}").randint(0, session_count)


def certificate_code(email: str, slug: str) -> str:
    return "SEED-" + hashlib.sha256(f"{email}:{slug}".encode()).hexdigest()[:16].upper()
