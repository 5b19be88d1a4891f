"""The five-step deploy on a fresh droplet: first deploy, a new migration, a failing one."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from conftest import run_playbook  # noqa: E402

testinfra_hosts = ["ansible://tasc_app"]
INVENTORY = str(REPO / "tests" / "inventory" / "droplet")
ORIGIN = REPO / ".testbed" / "deploy-origin.git"
MAILPIT_IMAGE = os.environ.get("TASC_MAILPIT_IMAGE") or "tasc-testbed/mailpit-double:v1.30.5"
IMAGE_ARGS = ["-e", f"mailpit_image={MAILPIT_IMAGE}"]


@pytest.fixture(scope="module")
def cfg(host):
    v = host.ansible.get_variables()
    return {
        k: v[k]
        for k in (
            "tasc_app_dir",
            "tasc_backup_dir",
            "tasc_compose_project",
            "tasc_deploy_log",
            "tasc_web_port",
            "tasc_state_dir",
        )
    }


def sh(host, command: str) -> str:
    with host.sudo():
        return host.check_output(command)


def compose(cfg) -> str:
    return (
        f"cd {cfg['tasc_app_dir']} && docker compose -p {cfg['tasc_compose_project']} "
        "-f docker-compose.staging.yml"
    )


def manage(host, cfg, *args: str) -> str:
    return sh(host, f"{compose(cfg)} exec -T web python manage.py {' '.join(args)}")


def log_lines(host, cfg) -> list[dict]:
    return [json.loads(line) for line in sh(host, f"cat {cfg['tasc_deploy_log']}").splitlines()]


def deploy(*args: str):
    return run_playbook(
        "playbooks/deploy_staging.yml",
        "-i",
        INVENTORY,
        *IMAGE_ARGS,
        "-e",
        "tasc_app_repo=/srv/git/tasc-lms.git",
        *args,
    )


def push_commit(host, tmp_path: Path, migration_name: str, operations: str) -> str:
    """Commit the reference app plus one migration to the origin, and serve it on the host."""
    tree = tmp_path / "app"
    shutil.copytree(
        REPO / "examples" / "tasc_lms",
        tree,
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"),
    )
    migrations = tree / "catalogue" / "migrations"
    latest = sorted(p.stem for p in migrations.glob("0*.py"))[-1]
    (migrations / f"{migration_name}.py").write_text(
        "from django.db import migrations\n\n\n"
        "class Migration(migrations.Migration):\n"
        f"    dependencies = [('catalogue', '{latest}')]\n"
        f"    operations = [{operations}]\n"
    )
    out = subprocess.run(
        [str(REPO / "scripts" / "publish_reference_app"), str(tree), str(ORIGIN)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    result = run_playbook("molecule/default/prepare.yml", "-i", INVENTORY, "-e", "publish=false")
    assert result.returncode == 0, result.stdout[-2000:]
    return out.split()[-1]


def test_containers_are_healthy(host, cfg):
    out = sh(host, f"{compose(cfg)} ps --format json")
    services = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert {s["Service"]: s["Health"] for s in services} == {"db": "healthy", "web": "healthy"}


def test_the_guides_77_users_exist_with_their_emails(host, cfg):
    report = json.loads(manage(host, cfg, "seed_status"))
    assert report["seed_users"] == 77
    assert report["cohorts"] == {
        "learner": 50,
        "instructor": 15,
        "lms_manager": 5,
        "finance": 3,
        "tasc_admin": 2,
        "org_admin": 2,
    }


def test_no_draft_enrollments(host, cfg):
    assert json.loads(manage(host, cfg, "seed_status"))["draft_enrollments"] == 0


def test_a_learner_logs_in_with_the_guide_password(host, cfg):
    body = json.dumps({"email": "learner1@test.com", "password": "Pass12345!"})
    out = sh(
        host,
        f"curl -s -X POST -H 'Content-Type: application/json' -d '{body}' "
        f"http://127.0.0.1:{cfg['tasc_web_port']}/api/auth/login",
    )
    assert json.loads(out)["email"] == "learner1@test.com"


def test_env_file_is_private_to_the_deploy_user(host, cfg):
    with host.sudo():
        env = host.file(f"{cfg['tasc_app_dir']}/.env")
        assert env.mode == 0o600
        assert env.user == host.ansible.get_variables()["ansible_user"]
        assert "EMAIL_HOST=mailpit" in env.content_string
        assert "SENDGRID" not in env.content_string


def test_deploy_log_lines_are_json_with_the_summary(host, cfg):
    lines = log_lines(host, cfg)
    assert lines
    keys = {"who", "when", "inventory", "sha_from", "sha_to", "backup", "step_seconds"}
    for entry in lines:
        assert entry["result"] == "success"
        assert keys <= set(entry)
    assert lines[0]["sha_from"] == ""  # the first deploy
    assert lines[0]["backup"] == ""  # a fresh host has no database to back up yet


def test_a_new_commit_with_a_migration_is_pulled_backed_up_and_applied(host, cfg, tmp_path):
    sha = push_commit(
        host,
        tmp_path,
        "0900_deploy_test_marker",
        "migrations.RunSQL('CREATE TABLE deploy_marker (id int)', 'DROP TABLE deploy_marker')",
    )
    result = deploy()
    assert result.returncode == 0, result.stdout[-4000:]
    entry = log_lines(host, cfg)[-1]
    assert entry["sha_to"] == sha and entry["sha_from"] != sha
    assert entry["migrations_applied"] == ["catalogue.0900_deploy_test_marker"]
    assert entry["backup"].endswith("_predeploy.dump")
    assert sh(host, f"test -f {entry['backup']}.sha256 && echo verified") == "verified"


def test_a_second_deploy_while_the_lock_is_held_fails_fast(host, cfg):
    lock_dir = host.ansible.get_variables().get("tasc_lock_dir", "/run/lock/tasc")
    sh(
        host,
        f"/usr/local/sbin/tasc-lock acquire --dir {lock_dir} --holder 'nightly reset (test)' "
        f"--pid $$ --ttl 600 >/dev/null; sleep 0",
    )
    # The holder's pid ($$ of that shell) is gone now: stale, so a deploy takes the lock over.
    result = deploy("--tags", "pull")
    assert result.returncode == 0, result.stdout[-3000:]
    sh(
        host,
        f"/usr/local/sbin/tasc-lock acquire --dir {lock_dir} --holder 'nightly reset (test)' "
        f"--pid 1 --ttl 600",
    )  # pid 1 lives: a real holder
    try:
        blocked = deploy("--tags", "pull")
        assert blocked.returncode == 2
        assert "locked by nightly reset (test)" in " ".join(blocked.stdout.split())
    finally:
        token = json.loads(sh(host, f"/usr/local/sbin/tasc-lock status --dir {lock_dir}"))["token"]
        sh(host, f"/usr/local/sbin/tasc-lock release --dir {lock_dir} --token {token}")
