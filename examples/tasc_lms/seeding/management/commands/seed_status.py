"""manage.py seed_status: read-only JSON report of the seeded dataset and the guide's invariants.

The nightly reset and the tests parse it to verify a seed run; it changes nothing. seed_staging's
summary line carries the same report under "status" (seeding/report.py).
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from seeding.report import dataset_report


class Command(BaseCommand):
    help = "Print counts of the seeded dataset and the invariant checks as one JSON object."

    def handle(self, *args, **options) -> None:
        self.stdout.write(json.dumps(dataset_report(), sort_keys=True))
