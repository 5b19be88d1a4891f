"""`make deploy` on this machine: the README's first command, on the local inventory.

Runs the deploy twice (the second must change only the backup and the log line), checks the
URLs it prints answer, and tears the stack down so other tests start clean.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import urllib.request

import pytest
import testbed
from conftest import REPO, ansible_env, inventory_host_vars, run_playbook

pytestmark = pytest.mark.docker
IMAGE = os.environ.get("TASC_MAILPIT_IMAGE") or testbed.MAILPIT_DOUBLE_TAG
LOCAL = inventory_host_vars(REPO / "inventories" / "local", "localhost")


def make_deploy() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "deploy", f"DEPLOY_ARGS=-e mailpit_image={IMAGE}"],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        timeout=900,
    )


def recap(output: str) -> dict[str, int]:
    line = next(ln for ln in output.splitlines() if ln.startswith("localhost") and "ok=" in ln)
    return {k: int(v) for k, v in re.findall(r"(\w+)=(\d+)", line)}


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


@pytest.fixture(scope="module")
def deployed():
    first = make_deploy()
    second = make_deploy()
    yield first, second
    app_dir = REPO / ".local" / "tasc-lms"
    subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            LOCAL["tasc_compose_project"],
            "-f",
            "docker-compose.staging.yml",
            "down",
            "-v",
        ],
        cwd=app_dir,
        capture_output=True,
    )
    run_playbook(
        "playbooks/mailpit.yml",
        "-e",
        f"mailpit_image={IMAGE}",
        "-e",
        "mailpit_state=absent",
        "-e",
        "mailpit_purge_data=true",
    )


def test_first_deploy_succeeds(deployed):
    first, _ = deployed
    assert first.returncode == 0, first.stdout[-4000:] + first.stderr[-2000:]


def test_it_prints_the_app_url_the_mailpit_url_and_a_login(deployed):
    output = deployed[0].stdout
    assert "App:     http://127.0.0.1:8000/login/" in output
    assert "Mailpit: http://127.0.0.1:8025" in output
    assert "learner1@test.com / Pass12345!" in output


def test_the_printed_urls_answer(deployed):
    assert get("http://127.0.0.1:8000/login/") == 200
    assert get("http://127.0.0.1:8025/readyz") == 200


def test_the_local_demo_is_the_full_dataset(deployed):
    out = subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            LOCAL["tasc_compose_project"],
            "-f",
            "docker-compose.staging.yml",
            "exec",
            "-T",
            "web",
            "python",
            "manage.py",
            "seed_status",
        ],
        cwd=REPO / ".local" / "tasc-lms",
        capture_output=True,
        text=True,
        check=True,
    )
    report = json.loads(out.stdout)
    assert report["seed_users"] == 77 and report["certificates"] > 0
    assert report["draft_enrollments"] == 0


def test_a_second_deploy_changes_only_the_backup_and_the_log(deployed):
    second = deployed[1]
    assert second.returncode == 0, second.stdout[-3000:]
    assert recap(second.stdout)["changed"] == 2
    changed = re.findall(r"TASK \[([^\]]+)\][^\n]*\n(?:[^\n]*\n)?changed:", second.stdout)
    assert changed == [
        "postgres_backup : Dump the database inside its container, verify it and publish it",
        "Append the summary to the deploy log",
    ]


def test_rollback_without_a_previous_release_refuses(deployed):
    result = run_playbook("playbooks/rollback.yml")
    assert result.returncode == 2
    assert "no previous release" in " ".join(result.stdout.split())
