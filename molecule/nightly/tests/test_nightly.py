"""The nightly reset on a droplet test host: timer, manual start, lock, failure, pause, removal.

The tests run in file order and share one host: each leaves the host healthy for the next.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from conftest import run_playbook  # noqa: E402

testinfra_hosts = ["ansible://tasc_app"]
INVENTORY = str(REPO / "tests" / "inventory" / "droplet")
# The scenario's settings (molecule.yml's ansible_args): every playbook run here passes them too,
# or it would rewrite the host's reset settings without them.
SCENARIO_VARS = [
    "-e",
    "nightly_schedule_time=04:15",
    "-e",
    "nightly_schedule_timezone=Europe/Berlin",
    "-e",
    "nightly_reset_mail_purge_older_than=30s",
    "-e",
    "nightly_reset_notify_webhook_url=http://127.0.0.1:9099/hook",
]
UNIT = "tasc-nightly-reset"
PURGE_AGE = 30  # seconds: nightly_reset_mail_purge_older_than in molecule.yml
TESTER_TITLE = "Edited by a tester"
WEBHOOK = """
import http.server, pathlib
class Hook(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with open("/tmp/webhook.log", "ab") as log:
            log.write(body + b"\\n")
        self.send_response(204)
        self.end_headers()
http.server.HTTPServer(("127.0.0.1", 9099), Hook).serve_forever()
"""


def play(playbook: str, *args: str):
    return run_playbook(playbook, "-i", INVENTORY, *SCENARIO_VARS, *args)


def sh(host, command: str) -> str:
    with host.sudo():
        return host.check_output(command)


def run(host, command: str):
    with host.sudo():
        return host.run(command)


@pytest.fixture(scope="module")
def cfg(host):
    v = host.ansible.get_variables()
    keys = ("tasc_app_dir", "tasc_backup_dir", "tasc_compose_project", "tasc_deploy_log")
    return {k: v[k] for k in keys}


def compose(cfg) -> str:
    return (
        f"docker compose --project-directory {cfg['tasc_app_dir']} "
        f"-p {cfg['tasc_compose_project']} -f {cfg['tasc_app_dir']}/docker-compose.staging.yml"
    )


def manage(host, cfg, *args: str) -> str:
    return sh(host, f"{compose(cfg)} exec -T web python manage.py {' '.join(args)}")


def psql(host, cfg, sql: str) -> str:
    return sh(
        host,
        f'{compose(cfg)} exec -T db sh -c \'psql -qAt -U "$POSTGRES_USER" -d "$POSTGRES_DB"\' '
        f"<<'SQL'\n{sql}\nSQL",
    ).strip()


def status(host, cfg) -> dict:
    return json.loads(manage(host, cfg, "seed_status"))


def edit_like_a_tester(host, cfg) -> None:
    psql(
        host,
        cfg,
        f"UPDATE catalogue_course SET title = '{TESTER_TITLE}' WHERE slug LIKE 'seed-%';"
        "DELETE FROM catalogue_certificate WHERE id IN "
        "(SELECT id FROM catalogue_certificate ORDER BY id LIMIT 5);",
    )


def count_tester_edits(host, cfg) -> int:
    return int(
        psql(host, cfg, f"SELECT count(*) FROM catalogue_course WHERE title = '{TESTER_TITLE}'")
    )


def backups(host, cfg) -> list[str]:
    return sorted(sh(host, f"ls {cfg['tasc_backup_dir']}").split())


def last_log_line(host, cfg) -> dict:
    return json.loads(sh(host, f"tail -n 1 {cfg['tasc_deploy_log']}"))


def mail_recipients(host) -> list[str]:
    listing = json.loads(sh(host, "curl -fsS 'http://127.0.0.1:8025/api/v1/messages?limit=500'"))
    return sorted(to["Address"] for m in listing["messages"] for to in m["To"])


def start_service(host):
    """What `systemctl start` returns for a oneshot: when the run is over, with its result."""
    return run(host, f"systemctl start {UNIT}.service")


def journal(host, since: str, *expected: str) -> str:
    """The service's journal since a time, once it shows every expected text (journald
    receives the script's output through a pipe: it can trail systemd's own lines)."""
    deadline = time.monotonic() + 15
    while True:
        text = sh(host, f"journalctl -u {UNIT}.service --since '{since}' --no-pager -o cat")
        if all(part in text for part in expected) or time.monotonic() > deadline:
            return text
        time.sleep(0.5)


def host_now(host) -> str:
    return sh(host, "date '+%Y-%m-%d %H:%M:%S'").strip()


@pytest.fixture(scope="module")
def seeded(host, cfg):
    """The seed state every full reset must return to."""
    return status(host, cfg)


@pytest.fixture(scope="module")
def old_mail(host, cfg):
    """A captured mail that will be older than the purge age when the reset runs."""
    manage(host, cfg, "sendtestemail", "old-mail@example.com")
    return time.monotonic()


def test_timer_is_installed_enabled_and_lists_the_next_run(host, old_mail):
    assert sh(host, f"systemctl is-enabled {UNIT}.timer").strip() == "enabled"
    assert sh(host, f"systemctl is-active {UNIT}.timer").strip() == "active"
    timer = host.file(f"/etc/systemd/system/{UNIT}.timer").content_string
    assert "OnCalendar=*-*-* 04:15:00 Europe/Berlin" in timer
    assert "Persistent=true" in timer
    assert "RandomizedDelaySec=" in timer
    next_run = sh(host, f"systemctl show {UNIT}.timer --property=NextElapseUSecRealtime --value")
    assert next_run.strip(), "the timer has no next run"
    assert f"{UNIT}.timer" in sh(host, "systemctl list-timers --all --no-pager")
    # The service only ever starts from the timer (no [Install] section of its own).
    assert sh(host, f"systemctl is-enabled {UNIT}.service || true").strip() == "static"


def test_status_before_any_run_names_the_schedule(host):
    run(host, "rm -f /var/lib/tasc/nightly-reset.json")  # a fresh host (verify may run again)
    out = run(host, f"{UNIT} status --config /etc/tasc/nightly-reset.json")
    assert out.rc == 0, out.stdout + out.stderr
    assert "Last success:  never" in out.stdout
    assert "Schedule:      enabled, next run" in out.stdout


def test_starting_the_service_by_hand_resets_everything(host, cfg, seeded, old_mail):
    edit_like_a_tester(host, cfg)
    assert count_tester_edits(host, cfg) > 0
    assert status(host, cfg)["certificates"] == seeded["certificates"] - 5
    # The old mail must be older than the purge age; the new one younger when the reset ends.
    time.sleep(max(0.0, PURGE_AGE + 2 - (time.monotonic() - old_mail)))
    manage(host, cfg, "sendtestemail", "new-mail@example.com")
    before, since = backups(host, cfg), host_now(host)

    result = start_service(host)

    assert result.rc == 0, journal(host, since)
    assert count_tester_edits(host, cfg) == 0
    after = status(host, cfg)
    assert after == seeded
    assert after["draft_enrollments"] == 0
    new_backups = sorted(set(backups(host, cfg)) - set(before))
    assert [name for name in new_backups if name.endswith("_nightly.dump")], new_backups
    line = last_log_line(host, cfg)
    assert (line["action"], line["trigger"], line["result"]) == (
        "nightly_reset",
        "timer",
        "success",
    )
    assert line["backup"].endswith("_nightly.dump")
    assert line["mail_purged"] >= 1
    assert mail_recipients(host) == ["new-mail@example.com"]
    assert "done in" in journal(host, since, "done in")
    state = json.loads(sh(host, f"{UNIT} status --config /etc/tasc/nightly-reset.json --json"))
    assert state["healthy"] and state["last_success"] == line["when"]
    assert state["timer"]["next_run"]


def test_a_reset_while_a_deploy_holds_the_lock_fails_fast_and_changes_nothing(host, cfg):
    token = json.loads(
        sh(
            host,
            "tasc-lock acquire --dir /run/lock/tasc --holder 'Deploy the TASC LMS (alice@laptop)'",
        )
    )["token"]
    try:
        edit_like_a_tester(host, cfg)
        before, since = backups(host, cfg), host_now(host)
        started = time.monotonic()
        result = start_service(host)
        took = time.monotonic() - started
        assert result.rc != 0
        assert took < 30, f"a locked-out reset should fail fast, took {took:.0f}s"
        holder = "locked by Deploy the TASC LMS (alice@laptop)"
        assert holder in journal(host, since, holder)
        assert backups(host, cfg) == before
        assert count_tester_edits(host, cfg) > 0
        line = last_log_line(host, cfg)
        assert (line["result"], line["failed_step"]) == ("failed", "lock")

        played = play("playbooks/nightly_reset.yml")
        assert played.returncode == 2
        assert "locked by Deploy the TASC LMS (alice@laptop)" in " ".join(played.stdout.split())
        assert backups(host, cfg) == before
    finally:
        sh(host, f"tasc-lock release --dir /run/lock/tasc --token {token}")


def test_a_failed_reset_is_marked_failed_reported_and_keeps_yesterdays_data(host, cfg):
    run(host, "rm -f /tmp/webhook.log")
    sh(host, f"cat > /tmp/webhook.py <<'PY'\n{WEBHOOK}\nPY")
    sh(host, "systemd-run --unit=tasc-test-webhook python3 /tmp/webhook.py")
    sh(
        host,
        "bash -c 'for i in $(seq 100); do (echo > /dev/tcp/127.0.0.1/9099) 2>/dev/null "
        "&& exit 0; sleep 0.1; done; exit 1'",
    )
    # The fault: the database refuses new enrollments, half way through the reseed.
    psql(
        host,
        cfg,
        "CREATE FUNCTION tasc_test_fault() RETURNS trigger LANGUAGE plpgsql AS "
        "$$ BEGIN RAISE EXCEPTION 'injected fault'; END $$;"
        "CREATE TRIGGER tasc_test_fault BEFORE INSERT ON catalogue_enrollment "
        "FOR EACH STATEMENT EXECUTE FUNCTION tasc_test_fault();",
    )
    try:
        yesterday, since = status(host, cfg), host_now(host)
        assert count_tester_edits(host, cfg) > 0  # left by the previous test: yesterday's data

        result = start_service(host)

        assert result.rc != 0
        shown = sh(host, f"systemctl show {UNIT}.service --property=Result,ExecMainStatus")
        assert "Result=exit-code" in shown and "ExecMainStatus=1" in shown
        logged = journal(host, since, "FAILED at step seed", "injected fault")
        assert "FAILED at step seed" in logged and "injected fault" in logged
        assert status(host, cfg) == yesterday
        assert count_tester_edits(host, cfg) > 0
        line = last_log_line(host, cfg)
        assert (line["result"], line["failed_step"]) == ("failed", "seed")
        hook = json.loads(sh(host, "cat /tmp/webhook.log").splitlines()[-1])
        assert "FAILED" in hook["text"] and hook["reset"]["failed_step"] == "seed"
        checked = run(host, f"{UNIT} status --config /etc/tasc/nightly-reset.json")
        assert checked.rc == 1 and "PROBLEM" in checked.stdout
        failed_report = play("playbooks/nightly_status.yml")
        assert failed_report.returncode == 2
        assert "failed at seed" in " ".join(failed_report.stdout.split())
    finally:
        psql(host, cfg, "DROP TRIGGER tasc_test_fault ON catalogue_enrollment;")
        run(host, "systemctl stop tasc-test-webhook")


def test_the_playbook_runs_the_same_reset(host, cfg, seeded):
    played = play("playbooks/nightly_reset.yml")
    assert played.returncode == 0, played.stdout[-3000:]
    assert count_tester_edits(host, cfg) == 0
    assert status(host, cfg) == seeded
    line = last_log_line(host, cfg)
    assert (line["trigger"], line["result"]) == ("ansible", "success")
    report = play("playbooks/nightly_status.yml")
    assert report.returncode == 0, report.stdout[-2000:]


def test_unapplied_migrations_are_refused_with_deploy_first(host, cfg):
    latest = psql(
        host,
        cfg,
        "SELECT id || '|' || app || '|' || name FROM django_migrations "
        "WHERE app = 'catalogue' ORDER BY id DESC LIMIT 1",
    )
    row_id, app, name = latest.split("|")
    psql(host, cfg, f"DELETE FROM django_migrations WHERE id = {row_id}")
    try:
        before = backups(host, cfg)
        played = play("playbooks/nightly_reset.yml")
        assert played.returncode == 2
        flat = " ".join(played.stdout.split())
        assert "Deploy first" in flat and name in flat
        assert backups(host, cfg) == before
    finally:
        psql(
            host,
            cfg,
            f"INSERT INTO django_migrations (id, app, name, applied) "
            f"VALUES ({row_id}, '{app}', '{name}', now())",
        )


def test_production_is_refused_before_anything_changes(host, cfg):
    timer_before = sh(host, f"stat -c %Y /etc/systemd/system/{UNIT}.timer")
    before = backups(host, cfg)
    for playbook in ("playbooks/nightly_reset.yml", "playbooks/schedule_nightly_reset.yml"):
        played = play(playbook, "-e", "tasc_environment=production")
        assert played.returncode == 2, playbook
        assert "production never runs a seeder" in " ".join(played.stdout.split()), playbook
    assert sh(host, f"stat -c %Y /etc/systemd/system/{UNIT}.timer") == timer_before
    assert backups(host, cfg) == before
    # The script refuses on its own too, whatever started it.
    settings = json.loads(sh(host, "cat /etc/tasc/nightly-reset.json"))
    settings["environment"] = "production"
    sh(host, f"cat > /tmp/production.json <<'JSON'\n{json.dumps(settings)}\nJSON")
    refused = run(host, f"{UNIT} run --config /tmp/production.json")
    assert refused.rc == 2 and "production never runs a seeder" in refused.stderr
    assert backups(host, cfg) == before


def test_pause_then_remove_the_schedule(host):
    schedule = "playbooks/schedule_nightly_reset.yml"
    paused = play(schedule, "-e", "nightly_schedule_enabled=false")
    assert paused.returncode == 0, paused.stdout[-2000:]
    assert run(host, f"systemctl is-active {UNIT}.timer").stdout.strip() == "inactive"
    assert run(host, f"systemctl is-enabled {UNIT}.timer").stdout.strip() == "disabled"
    checked = run(host, f"{UNIT} status --config /etc/tasc/nightly-reset.json")
    assert checked.rc == 1 and "DISABLED" in checked.stdout

    removed = play(schedule, "-e", "nightly_schedule_state=absent")
    assert removed.returncode == 0, removed.stdout[-2000:]
    assert not host.file(f"/etc/systemd/system/{UNIT}.timer").exists
    assert not host.file(f"/etc/systemd/system/{UNIT}.service").exists
    assert sh(host, f"systemctl list-unit-files '{UNIT}.*' --no-legend || true").strip() == ""
    again = play(schedule, "-e", "nightly_schedule_state=absent")
    assert again.returncode == 0 and "changed=0" in again.stdout
