"""Backups under faults: nothing unverified is ever published, nothing older is ever lost."""

from __future__ import annotations

import pytest
from faultbed import BACKUP_DIR, COMPOSE, flat, record_data_check, wait_for

pytestmark = pytest.mark.docker

PG_DUMP = "/usr/lib/postgresql/15/bin/pg_dump"


def db_pids(droplet, pattern: str) -> list[str]:
    """PIDs inside the db container whose command line contains pattern."""
    pattern = f"[{pattern[0]}]{pattern[1:]}"  # so the search never finds itself
    out = droplet.compose(
        "exec -T db sh -c 'for p in /proc/[0-9]*; do "
        f'tr "\\0" " " < $p/cmdline 2>/dev/null | grep -q -- "{pattern}" && echo ${{p#/proc/}}; '
        "done; true'"
    ).stdout
    return [pid for pid in out.split() if pid.isdigit()]


def test_backup_with_the_database_container_stopped(healthy):
    before = healthy.snapshot()
    healthy.compose("stop db")
    try:
        result = healthy.play("playbooks/backup.yml")
        assert result.returncode == 2
        assert "'db' container of project 'tasc_lms' is not running" in flat(result.stdout)
        assert "Older backups in /srv/tasc-lms-backups are untouched" in flat(result.stdout)
        assert healthy.backups() == before["backups"]
        assert not healthy.lock().get("held")
    finally:
        healthy.compose("start db")
    healthy.wait_healthy()
    record_data_check("backup: db stopped", before["data"], healthy.fingerprint())


def test_pg_dump_killed_mid_dump_publishes_nothing(healthy):
    before = healthy.snapshot()
    # pg_dump waits for the table behind another session's lock: it is caught mid-dump.
    healthy.hold_table("catalogue_course", "ACCESS EXCLUSIVE")
    run = healthy.start("playbooks/backup.yml")
    try:
        pid = wait_for(lambda: db_pids(healthy, "pg_dump -U"), "pg_dump to start")[0]
        partials = wait_for(
            lambda: [f for f in healthy.backups() if f.endswith(".partial")], "the partial file"
        )
        assert partials
        healthy.compose(f"exec -T db sh -c 'kill -9 {pid}'")
    finally:
        healthy.release_tables()
        output, _ = run.communicate(timeout=300)
    assert run.returncode == 2
    assert "pg_dump into" in flat(output) and "nothing was published" in flat(output)
    assert healthy.backups() == before["backups"], "a partial or unverified dump was left behind"
    record_data_check("backup: pg_dump killed", before["data"], healthy.fingerprint())


def test_backup_volume_full_fails_clearly_and_leaves_nothing(healthy):
    small = "/srv/tiny-backups"
    healthy.sh(
        f"mkdir -p {small} && (mountpoint -q {small} || mount -t tmpfs -o size=64k tmpfs {small})"
    )
    before = healthy.snapshot()
    try:
        result = healthy.play("playbooks/backup.yml", "-e", f"tasc_backup_dir={small}")
        assert result.returncode == 2
        assert "disk is full" in flat(result.stdout)
        assert healthy.out(f"ls -A {small}").split() == [".tasc-pg-backup.lock"]
    finally:
        healthy.sh(f"umount {small} && rmdir {small}")
    assert healthy.backups() == before["backups"]
    record_data_check("backup: volume full", before["data"], healthy.fingerprint())


@pytest.mark.parametrize(
    ("fake", "message"),
    [
        ("exit 0", "empty or truncated"),
        ('"$0.real" "$@" | head -c 4000', "table of contents"),
    ],
    ids=["empty", "truncated"],
)
def test_a_dump_that_exits_0_but_is_empty_or_truncated_is_not_published(healthy, fake, message):
    before = healthy.snapshot()
    healthy.compose(
        f'exec -T db sh -c \'mv {PG_DUMP} {PG_DUMP}.real && printf "%s\\n" "#!/bin/sh" '
        f"\"$1\" > {PG_DUMP} && chmod +x {PG_DUMP}' sh '{fake}'"
    )
    try:
        result = healthy.play("playbooks/backup.yml")
    finally:
        healthy.compose(f"exec -T db mv {PG_DUMP}.real {PG_DUMP}")
    assert result.returncode == 2
    assert message in flat(result.stdout)
    assert healthy.backups() == before["backups"]


def test_two_backups_started_at_once(healthy):
    before = healthy.snapshot()
    # The first one is held up inside pg_dump, so the second surely starts while it runs.
    healthy.hold_table("catalogue_course", "ACCESS EXCLUSIVE")
    first = healthy.start("playbooks/backup.yml")
    try:
        wait_for(lambda: db_pids(healthy, "pg_dump -U"), "the first pg_dump")
        second = healthy.play("playbooks/backup.yml")
    finally:
        healthy.release_tables()
        output, _ = first.communicate(timeout=300)
    assert first.returncode == 0, output[-2000:]
    assert second.returncode == 2
    assert "the stack is locked by Back up the database, verified" in flat(second.stdout)
    new = sorted(set(healthy.backups()) - set(before["backups"]))
    assert len(new) == 2 and new[0].endswith(".dump") and new[1].endswith(".dump.sha256"), new


def test_a_dump_taken_while_the_app_writes_restores_to_a_consistent_database(healthy):
    healthy.psql("CREATE TABLE fault_ledger (txn int NOT NULL, part int NOT NULL)")
    try:
        # A writer commits pairs of rows, one transaction per pair, while the backup runs.
        healthy.sh(
            f"nohup {COMPOSE} exec -T db sh -c 'for i in $(seq 1 3000); do psql -q -U "
            '"$POSTGRES_USER" -d "$POSTGRES_DB" -c "BEGIN; INSERT INTO fault_ledger VALUES '
            "($i, 1); INSERT INTO fault_ledger VALUES ($i, 2); COMMIT;\"; done' "
            ">/tmp/writer.log 2>&1 &"
        )
        wait_for(lambda: int(healthy.psql("SELECT count(*) FROM fault_ledger")) > 50, "writes")
        result = healthy.play("playbooks/backup.yml")
        assert result.returncode == 0, result.stdout[-2000:]
        written_after = int(healthy.psql("SELECT count(*) FROM fault_ledger")) // 2
        dump = [f for f in healthy.backups() if f.endswith(".dump")][-1]
        healthy.compose("exec -T db sh -c 'createdb -U \"$POSTGRES_USER\" fault_scratch'")
        healthy.sh(
            f'{COMPOSE} exec -T db sh -c \'pg_restore -U "$POSTGRES_USER" -d fault_scratch '
            f"--no-owner' < {BACKUP_DIR}/{dump}"
        )
        check = healthy.compose(
            'exec -T db sh -c \'psql -qAt -U "$POSTGRES_USER" -d fault_scratch -c '
            '"SELECT count(*), count(*) FILTER (WHERE n <> 2) FROM '
            "(SELECT txn, count(*) AS n FROM fault_ledger GROUP BY txn) t\"'"
        ).stdout.strip()
        transactions, torn = (int(x) for x in check.split("|"))
        assert torn == 0, f"{torn} transactions only half in the dump"
        assert transactions > 0, "the dump holds none of the writes"
        assert transactions <= written_after
    finally:
        for pid in db_pids(healthy, "fault_ledger VALUES"):
            healthy.compose(f"exec -T db sh -c 'kill {pid}'", check=False)
        healthy.compose(
            "exec -T db sh -c 'dropdb -U \"$POSTGRES_USER\" --if-exists fault_scratch'",
            check=False,
        )
        healthy.psql("DROP TABLE IF EXISTS fault_ledger")
