"""Production guards, the lock under concurrency, and secrets that never leak."""

from __future__ import annotations

import json
import signal
import time

import pytest
from faultbed import (
    APP_DIR,
    BACKUP_DIR,
    COMPOSE,
    flat,
    inventory_with_vault,
    record_data_check,
    wait_for,
)

pytestmark = pytest.mark.docker

RESET = "tasc-nightly-reset run --config /etc/tasc/nightly-reset.json --trigger manual"
DESTRUCTIVE = [
    "deploy_staging.yml",
    "rollback.yml",
    "restore.yml",
    "seed.yml",
    "migrate.yml",
    "backup.yml",
    "nightly_reset.yml",
    "schedule_nightly_reset.yml",
    "mailpit.yml",
]


# ------------------------------------------------------------------------ seeder and guards


@pytest.mark.parametrize("playbook", DESTRUCTIVE)
def test_every_playbook_refuses_an_inventory_marked_production(healthy, playbook):
    before = healthy.snapshot()
    timer = healthy.out("stat -c %Y /etc/systemd/system/tasc-nightly-reset.timer")
    extra = ["-e", "postgres_restore_mode=live", "-e", "postgres_restore_confirm=tasc_lms"]
    result = healthy.play(f"playbooks/{playbook}", "-e", "tasc_environment=production", *extra)
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "production" in out and ("Nothing was changed" in out or "never" in out), out[-800:]
    assert "changed=0" in result.stdout
    assert healthy.snapshot() == before
    assert healthy.out("stat -c %Y /etc/systemd/system/tasc-nightly-reset.timer") == timer


@pytest.mark.parametrize(
    "flags",
    [
        "",
        "--reset",
        "--reset --with-catalogue --with-enrollments --with-progress --with-certificates",
        "--with-catalogue --learners 5",
    ],
    ids=["no-flags", "reset", "reset-full-demo", "sizes"],
)
def test_the_seeder_refuses_django_env_production_whatever_the_flags(healthy, flags):
    before = healthy.fingerprint()
    # Production settings need SendGrid to load at all: give them, so the seeder's own guard
    # is what refuses.
    result = healthy.compose(
        "exec -T -e DJANGO_ENV=production -e EMAIL_PROVIDER=sendgrid -e SENDGRID_API_KEY=SG.x "
        f"web python manage.py seed_staging {flags}",
        check=False,
    )
    assert result.returncode != 0
    assert "production" in (result.stderr + result.stdout).lower()
    record_data_check(f"seeder: production {flags or 'no flags'}", before, healthy.fingerprint())


# ----------------------------------------------------------------------------- concurrency


def start_held_reset(droplet) -> None:
    """A nightly reset in the background, held mid-reseed: readers (pg_dump) pass a SHARE lock
    on the enrollments, writers (the seeder) wait behind it until release_tables()."""
    droplet.hold_table("catalogue_enrollment", "SHARE")
    droplet.sh(f"nohup {RESET} >/tmp/reset.log 2>&1 &")
    wait_for(lambda: seeder_waiting(droplet), "the reset to be mid-reseed")


def seeder_waiting(droplet) -> bool:
    return (
        droplet.psql(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND pid <> pg_backend_pid()"
        )
        != "0"
    )


def seeder_running(droplet) -> bool:
    """Is a seed_staging process running inside the web container?"""
    probe = (
        "import os; print(any(b'seed_staging' in open(f'/proc/{p}/cmdline', 'rb').read() "
        "for p in os.listdir('/proc') if p.isdigit() and int(p) != os.getpid()))"
    )
    return droplet.compose(f'exec -T web python -c "{probe}"').stdout.strip() == "True"


def test_a_deploy_while_the_nightly_reset_runs_fails_fast(healthy):
    try:
        start_held_reset(healthy)
        before = healthy.snapshot()
        started = time.monotonic()
        result = healthy.play("playbooks/deploy_staging.yml")
        assert result.returncode == 2
        assert time.monotonic() - started < 120
        assert "the stack is locked by nightly reset (manual" in flat(result.stdout)
        assert healthy.snapshot() == before
    finally:
        healthy.release_tables()
    wait_for(lambda: "NIGHTLY_RESET" in healthy.out("cat /tmp/reset.log"), "the reset", 300)
    last = json.loads(healthy.out("grep '^NIGHTLY_RESET ' /tmp/reset.log")[14:])
    assert last["result"] == "success", last
    report = json.loads(healthy.manage("seed_status").stdout)
    assert report["draft_enrollments"] == 0 and report["seed_users"] == 77


def test_a_lock_holder_killed_with_sigkill_never_blocks_the_next_run(healthy):
    try:
        start_held_reset(healthy)
        holder = healthy.lock()
        assert holder["holder"].startswith("nightly reset")
        healthy.sh(f"kill -{int(signal.SIGKILL)} {holder['pid']}")
        wait_for(
            lambda: healthy.sh(f"kill -0 {holder['pid']}", check=False).returncode != 0, "kill"
        )
        assert healthy.lock()["held"], "SIGKILL leaves the lock behind"
    finally:
        healthy.release_tables()
    # The killed run's seeder was still inside the web container; let it end, then deploy.
    wait_for(lambda: not seeder_waiting(healthy), "the orphaned seeder to end", 120)
    result = healthy.play("playbooks/deploy_staging.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not healthy.lock().get("held")
    report = json.loads(healthy.manage("seed_status").stdout)
    assert report["draft_enrollments"] == 0 and report["seed_users"] == 77


def test_a_reset_stopped_with_sigterm_gives_the_lock_back_and_keeps_yesterdays_data(healthy):
    before = healthy.fingerprint()
    try:
        start_held_reset(healthy)
        pid = healthy.lock()["pid"]
        healthy.sh(f"kill -TERM {pid}")  # what systemd does on stop or timeout
        wait_for(lambda: healthy.sh(f"kill -0 {pid}", check=False).returncode != 0, "the stop")
        assert not healthy.lock().get("held")
        wait_for(lambda: not seeder_running(healthy), "the seeder in the container to end", 30)
    finally:
        healthy.release_tables()
    # Its database session notices the closed connection once the blocker lets it run: it
    # then rolls back.
    wait_for(lambda: not seeder_waiting(healthy), "the orphaned session to end", 60)
    line = json.loads(healthy.out("tail -n 1 /var/log/tasc-deploy.log"))
    assert (line["result"], line["failed_step"]) == ("failed", "terminated")
    record_data_check("nightly reset: SIGTERM mid-reseed", before, healthy.fingerprint())


# --------------------------------------------------------------------------------- secrets

# Values only a leak could print: long enough to pass the roles' own checks (32+ and 12+).
SENTINELS = {
    "vault_django_secret_key": "SENTINEL-django-secret-7f3a9c-0123456789abcdef",
    "vault_postgres_password": "SENTINEL-pg-password-2b8e41",
    "vault_mailpit_ui_password": "SENTINEL-mailpit-password-c05d",
}


def assert_no_sentinel(result) -> None:
    for name, value in SENTINELS.items():
        for stream in (result.stdout, result.stderr):
            assert value not in stream, f"{name}'s value appeared in the output"
            assert value.replace("-", "") not in stream.replace("-", "")


def test_vault_values_never_appear_at_vvvv_on_success(healthy, tmp_path):
    inventory = inventory_with_vault(tmp_path, SENTINELS)
    result = healthy.play(
        "playbooks/deploy_staging.yml",
        "--tags",
        "rebuild",
        "--check",
        "--diff",
        "-vvvv",
        "-e",
        "mailpit_ui_auth_enabled=true",
        inventory=inventory,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "SENTINEL" not in result.stdout
    assert_no_sentinel(result)


def test_vault_values_never_appear_at_vvvv_when_their_task_fails(healthy, tmp_path):
    inventory = inventory_with_vault(tmp_path, SENTINELS)
    before = healthy.snapshot()
    # The task that writes them into the .env fails: its directory does not exist.
    result = healthy.play(
        "playbooks/deploy_staging.yml",
        "--tags",
        "rebuild",
        "-vvvv",
        "-e",
        "mailpit_ui_auth_enabled=true",
        "-e",
        "app_env_dir=/nonexistent/dir",
        inventory=inventory,
    )
    assert result.returncode == 2
    assert "no_log: true" in result.stdout
    assert_no_sentinel(result)
    assert healthy.snapshot()["data"] == before["data"]
    restored = healthy.play("playbooks/mailpit.yml")
    assert restored.returncode == 0, restored.stdout[-2000:]


def test_env_file_and_dumps_are_private(healthy):
    assert healthy.out(f"stat -c '%a %U' {APP_DIR}/.env") == "600 deploy"
    modes = healthy.out(f"stat -c '%a %n' {BACKUP_DIR}/*").splitlines()
    assert modes and all(line.startswith("600 ") for line in modes), modes
    assert healthy.out(f"stat -c %a {BACKUP_DIR}") == "700"


# ---------------------------------------------------------------------------- Mailpit


def mailpit(droplet, path: str, auth: str = "") -> tuple[int, str]:
    user = f"-u {auth} " if auth else ""
    out = droplet.out(
        f"curl -s {user}-o /tmp/mailpit.out -w '%{{http_code}}' http://127.0.0.1:8025{path}; "
        "echo; cat /tmp/mailpit.out"
    )
    code, _, body = out.partition("\n")
    return int(code), body


def test_mailpit_smtp_is_not_published_and_the_ui_is_on_loopback_only(healthy):
    ports = json.loads(healthy.out("docker inspect mailpit"))[0]["NetworkSettings"]["Ports"]
    published = {port: [b["HostIp"] for b in binds or []] for port, binds in ports.items()}
    assert published.get("1025/tcp") in (None, [])
    assert published["8025/tcp"] == ["127.0.0.1"]


@pytest.mark.parametrize(
    "variable",
    [
        "mailpit_smtp_relay_host=smtp.sendgrid.net",
        "mailpit_forward_to=ops@tasc.example",
        "mailpit_webhook_url=https://hooks.example/x",
    ],
)
def test_mailpit_relay_forward_and_webhook_settings_are_refused(healthy, variable):
    before = healthy.containers(), healthy.out("docker inspect -f '{{.Id}}' mailpit")
    result = healthy.play("playbooks/mailpit.yml", "-e", variable)
    assert result.returncode == 2
    assert "would let captured mail leave Mailpit" in flat(result.stdout)
    assert (healthy.containers(), healthy.out("docker inspect -f '{{.Id}}' mailpit")) == before


def test_with_auth_on_the_mailpit_api_refuses_anonymous_requests(healthy):
    password = "fault-suite-password-1234"
    on = healthy.play(
        "playbooks/mailpit.yml",
        "-e",
        "mailpit_ui_auth_enabled=true",
        "-e",
        f"mailpit_ui_auth_password={password}",
    )
    try:
        assert on.returncode == 0, on.stdout[-2000:]
        assert mailpit(healthy, "/api/v1/messages")[0] == 401
        assert mailpit(healthy, "/api/v1/messages", f"ops:{password}")[0] == 200
    finally:
        off = healthy.play("playbooks/mailpit.yml")
        assert off.returncode == 0, off.stdout[-2000:]
    assert mailpit(healthy, "/api/v1/messages")[0] == 200


def test_the_app_stays_responsive_when_mailpit_is_down(healthy):
    healthy.sh("docker stop mailpit")
    try:
        started = time.monotonic()
        otp = healthy.out(
            "curl -s -o /dev/null -w '%{http_code}' --max-time 30 -X POST "
            "-H 'Content-Type: application/json' -d '{\"email\": \"learner1@test.com\"}' "
            "http://127.0.0.1:8000/api/auth/otp/request"
        )
        took = time.monotonic() - started
        assert otp == "503", otp
        assert took < 15, f"the OTP request hung for {took:.0f}s"
        assert healthy.healthz() == 200
        time.sleep(5)  # several health-check intervals without Mailpit
        assert "web=healthy" in healthy.out(
            f"{COMPOSE} ps --format '{{{{.Service}}}}={{{{.Health}}}}'"
        )
    finally:
        healthy.sh("docker start mailpit")
    wait_for(lambda: mailpit(healthy, "/readyz")[0] == 200, "Mailpit to come back")


# ------------------------------------------------------------------------------- load


def test_a_burst_of_3000_otp_mails_is_captured_with_bounded_memory(healthy):
    healthy.out("curl -s -X DELETE http://127.0.0.1:8025/api/v1/messages")
    script = (
        "from django.core.mail import get_connection, EmailMessage\n"
        "connection = get_connection()\n"
        "connection.open()\n"
        "for i in range(3000):\n"
        "    EmailMessage(f'Your TASC code {i:06d}', f'Your one-time code is {i:06d}.',\n"
        "                 'no-reply@tasc.example', [f'learner{i % 50 + 1}@test.com'],\n"
        "                 connection=connection).send()\n"
        "connection.close()\n"
    )
    healthy.sh(f"{COMPOSE} exec -T web python manage.py shell <<'PY'\n{script}PY", timeout=600)
    total = json.loads(mailpit(healthy, "/api/v1/messages?limit=1")[1])["messages_count"]
    assert total == 3000
    limit = json.loads(healthy.out("docker inspect mailpit"))[0]["HostConfig"]["Memory"]
    assert limit == 256 * 1024 * 1024
    usage = healthy.out("docker stats --no-stream --format '{{.MemUsage}}' mailpit").split("/")[0]
    number, unit = float(usage.strip()[:-3]), usage.strip()[-3:]
    mib = number * {"KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[unit]
    assert mib < 256, usage
    healthy.out("curl -s -X DELETE http://127.0.0.1:8025/api/v1/messages")


def test_the_app_keeps_answering_healthz_during_a_nightly_reset(healthy):
    healthy.sh(
        "nohup bash -c 'while [ ! -f /tmp/stop-probe ]; do curl -s -o /dev/null -w "
        '"%{http_code}\\n" --max-time 5 http://127.0.0.1:8000/healthz; sleep 0.05; done\' '
        ">/tmp/probe.log 2>&1 &"
    )
    try:
        reset = healthy.sh(RESET, check=False, timeout=600)
    finally:
        healthy.sh("touch /tmp/stop-probe; sleep 1; rm -f /tmp/stop-probe")
    assert reset.returncode == 0, reset.stderr[-2000:]
    codes = healthy.out("cat /tmp/probe.log").split()
    assert len(codes) > 20, codes
    assert set(codes) == {"200"}, {code: codes.count(code) for code in set(codes)}
