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


def local_compose(*args: str, check: bool = False) -> subprocess.CompletedProcess[str]:
    """docker compose on the locally deployed stack."""
    return subprocess.run(
        [
            "docker",
            "compose",
            "-p",
            LOCAL["tasc_compose_project"],
            "-f",
            "docker-compose.staging.yml",
            *args,
        ],
        cwd=REPO / ".local" / "tasc-lms",
        capture_output=True,
        text=True,
        check=check,
    )


def get(url: str) -> int:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.status


@pytest.fixture(scope="module")
def deployed():
    first = make_deploy()
    second = make_deploy()
    yield first, second
    local_compose("down", "-v")
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
    out = local_compose("exec", "-T", "web", "python", "manage.py", "seed_status", check=True)
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


def test_a_person_logs_in_with_the_code_from_mailpit_in_a_browser(deployed):
    """Headless Chromium: ask for a code, read it through Mailpit's API, sign in."""
    chromium, driver_path = "/usr/bin/chromium", "/usr/bin/chromedriver"
    if not (os.path.exists(chromium) and os.path.exists(driver_path)):
        if os.environ.get("CI"):
            pytest.fail(
                "CI must have Debian's chromium and chromium-driver (.ci/run installs them)"
            )
        pytest.skip("install Debian's chromium and chromium-driver to run the browser test")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for flag in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--no-first-run",
    ):
        options.add_argument(flag)
    browser = webdriver.Chrome(service=Service(driver_path), options=options)
    try:
        browser.set_page_load_timeout(30)
        browser.get("http://127.0.0.1:8000/login/")
        browser.find_element(By.ID, "email").send_keys("learner1@test.com")
        browser.find_element(By.ID, "send-code").click()
        # A click returns before the next page has loaded: wait for it, as a person would.
        page_shows = WebDriverWait(browser, 20)
        page_shows.until(lambda b: "Enter your code" in b.page_source)
        with urllib.request.urlopen(
            "http://127.0.0.1:8025/view/latest.txt?query=to%3Alearner1%40test.com", timeout=10
        ) as response:
            code = re.search(r"\b(\d{6})\b", response.read().decode()).group(1)
        browser.find_element(By.ID, "code").send_keys(code)
        browser.find_element(By.ID, "verify").click()
        page_shows.until(lambda b: b.current_url.endswith("/dashboard/"))
        assert "learner1@test.com" in browser.find_element(By.ID, "signed-in").text
    finally:
        browser.quit()


def test_seed_playbook_resets_to_the_full_demo_dataset(deployed):
    local_compose(
        "exec",
        "-T",
        "db",
        "psql",
        "-U",
        "tasc",
        "-d",
        "tasc_lms",
        "-c",
        "DELETE FROM catalogue_certificate",
        check=True,
    )
    result = run_playbook(
        "playbooks/seed.yml", "-e", "app_seed_reset=true", "-e", "app_seed_full_demo=true"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    out = local_compose("exec", "-T", "web", "python", "manage.py", "seed_status", check=True)
    assert json.loads(out.stdout)["certificates"] > 0


def test_migrate_playbook_in_check_mode_shows_the_plan(deployed):
    result = run_playbook("playbooks/migrate.yml", "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "No migrations pending" in result.stdout


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "app_env_sendgrid_api_key=SG.real-key"], "must send every email to Mailpit"),
        (["-e", "app_env_email_host=smtp.sendgrid.net"], "must send every email to Mailpit"),
        (["-e", "tasc_environment=production"], "runs on development and staging only"),
    ],
)
def test_unsafe_configuration_is_refused_in_preflight(deployed, extra, message):
    before = local_compose("ps", "-q").stdout
    result = run_playbook("playbooks/deploy_staging.yml", "-e", f"mailpit_image={IMAGE}", *extra)
    assert result.returncode == 2
    assert message in " ".join(result.stdout.split())
    assert "Step 1" not in result.stdout  # nothing ran past the preflight
    assert local_compose("ps", "-q").stdout == before


def test_a_dirty_working_tree_is_refused_with_the_fix(deployed):
    tracked = REPO / ".local" / "tasc-lms" / "README.md"
    original = tracked.read_text()
    tracked.write_text(original + "\nlocal edit\n")
    try:
        result = run_playbook("playbooks/deploy_staging.yml", "-e", f"mailpit_image={IMAGE}")
    finally:
        tracked.write_text(original)
    output = " ".join(result.stdout.split())
    assert result.returncode == 2
    assert "has local changes to tracked files (README.md)" in output
    assert "stash" in output
