#!/usr/bin/env bash
# The guide's five manual commands as one script: the baseline deploy_staging.yml is measured
# against (bench/bench.py runs it on the test host as root, over the same SSH).
set -euo pipefail
cd /srv/tasc-lms
compose() { docker compose -p tasc_lms -f docker-compose.staging.yml "$@"; }

git fetch -q origin main && git checkout -q --detach FETCH_HEAD                     # 1 pull
# shellcheck disable=SC2016  # expanded inside the container, on purpose
compose exec -T db sh -c \
    'pg_dump -U "$POSTGRES_USER" -d "$POSTGRES_DB" --format=custom --compress=1' \
    > /tmp/by-hand.dump                                                             # 2 back up
compose up -d --build --wait                                                        # 3 rebuild
compose exec -T web python manage.py migrate --noinput                             # 4 migrate
compose exec -T web python manage.py seed_staging --with-catalogue --with-enrollments  # 5 seed
