"""Mailpit on a droplet: captured, private, persistent, and only reachable as intended."""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from conftest import run_playbook  # noqa: E402

testinfra_hosts = ["ansible://tasc_app"]
PASSWORD = os.environ.get("TASC_TEST_MAILPIT_PASSWORD", "molecule-mailpit-password")
INVENTORY = str(REPO / "tests" / "inventory" / "droplet")


@pytest.fixture(scope="module")
def mp(host):
    """The role's inputs as the inventory resolves them on this host."""
    variables = host.ansible.get_variables()
    names = (
        "mailpit_container_name",
        "mailpit_ui_port",
        "mailpit_ui_auth_user",
        "tasc_compose_project",
    )
    defaults = {
        "mailpit_container_name": "mailpit",
        "mailpit_ui_port": 8025,
        "mailpit_ui_auth_user": "ops",
    }
    found = {n: variables.get(n, defaults.get(n)) for n in names}
    found["network"] = f"{found['tasc_compose_project']}_default"
    return found


def docker_json(host, *args: str):
    with host.sudo():
        return json.loads(host.check_output("docker " + " ".join(args)))


def api(host, mp, path: str, auth: bool = True) -> tuple[int, str]:
    creds = f"-u {mp['mailpit_ui_auth_user']}:{PASSWORD} " if auth else ""
    out = host.check_output(
        f"curl -s -o /tmp/body -w '%{{http_code}}' {creds}"
        f"'http://127.0.0.1:{mp['mailpit_ui_port']}{path}'; echo; cat /tmp/body"
    )
    status, _, body = out.partition("\n")
    return int(status), body


def send_from_app_network(host, mp, to: str, subject: str) -> None:
    script = (
        "import smtplib; s = smtplib.SMTP('mailpit', 1025, timeout=10);"
        f"s.sendmail('noreply@tasc.test', ['{to}'], 'To: {to}\\nSubject: {subject}\\n\\nbody');"
        "s.quit()"
    )
    with host.sudo():
        host.check_output(
            f"docker run --rm --network {mp['network']} python:3.11-slim-bookworm "
            f'python -c "{script}"'
        )


def count(host, mp, query: str) -> int:
    status, body = api(host, mp, f"/api/v1/search?query={query}")
    assert status == 200, body
    return json.loads(body)["messages_count"]


def wait_healthy(host, mp, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        state = docker_json(host, "inspect", mp["mailpit_container_name"])[0]["State"]
        if state.get("Health", {}).get("Status") == "healthy":
            return
        time.sleep(1)
    raise AssertionError("Mailpit did not turn healthy")


def test_container_is_healthy(host, mp):
    state = docker_json(host, "inspect", mp["mailpit_container_name"])[0]["State"]
    assert state["Running"] and state["Health"]["Status"] == "healthy"


def test_ui_is_bound_to_loopback_only(host, mp):
    ports = docker_json(host, "inspect", mp["mailpit_container_name"])[0]["NetworkSettings"][
        "Ports"
    ]
    assert ports["8025/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": str(mp["mailpit_ui_port"])}]


def test_smtp_is_not_published_on_the_droplet(host, mp):
    ports = docker_json(host, "inspect", mp["mailpit_container_name"])[0]["NetworkSettings"][
        "Ports"
    ]
    assert not ports.get("1025/tcp")
    assert not host.socket("tcp://0.0.0.0:1025").is_listening


def test_nothing_listens_on_public_addresses_for_mailpit(host, mp):
    with host.sudo():
        listeners = host.check_output("ss -Hltn")
    assert f"0.0.0.0:{mp['mailpit_ui_port']} " not in listeners
    assert f"127.0.0.1:{mp['mailpit_ui_port']} " in listeners


def test_a_mail_from_the_app_network_is_readable_in_the_api(host, mp):
    send_from_app_network(host, mp, "learner1@test.com", "droplet-otp")
    assert count(host, mp, "subject:droplet-otp") == 1


def test_api_refuses_anonymous_requests(host, mp):
    assert api(host, mp, "/api/v1/messages", auth=False)[0] == 401


def test_api_answers_with_credentials(host, mp):
    assert api(host, mp, "/api/v1/messages")[0] == 200


def test_readyz_stays_open_without_credentials(host, mp):
    assert api(host, mp, "/readyz", auth=False)[0] == 200


def test_password_file_is_private(host):
    variables = host.ansible.get_variables()
    config_dir = variables.get("mailpit_config_dir", "/etc/mailpit")
    with host.sudo():
        assert host.file(config_dir).mode == 0o700
        password_file = host.file(f"{config_dir}/ui-auth")
        assert password_file.mode == 0o600
        assert password_file.user == "root"
        assert PASSWORD not in password_file.content_string
        assert password_file.content_string.split(":", 1)[1].startswith("$2y$")


def test_messages_survive_a_container_restart(host, mp):
    send_from_app_network(host, mp, "learner2@test.com", "before-restart")
    with host.sudo():
        host.check_output(f"docker restart {mp['mailpit_container_name']}")
    wait_healthy(host, mp)
    assert count(host, mp, "subject:before-restart") == 1


def test_changing_the_password_restarts_mailpit(host, mp):
    name = mp["mailpit_container_name"]
    started_before = docker_json(host, "inspect", name)[0]["State"]["StartedAt"]
    new_password = "rotated-mailpit-password"
    image = os.environ.get("TASC_MAILPIT_IMAGE") or "tasc-testbed/mailpit-double:v1.30.5"
    result = run_playbook(
        "playbooks/mailpit.yml",
        "-i",
        INVENTORY,
        "-e",
        f"mailpit_image={image}",
        "-e",
        "mailpit_ui_auth_enabled=true",
        "-e",
        f"mailpit_ui_auth_password={new_password}",
    )
    assert result.returncode == 0, result.stdout
    assert "RUNNING HANDLER [mailpit : Restart Mailpit]" in result.stdout
    assert new_password not in result.stdout
    assert docker_json(host, "inspect", name)[0]["State"]["StartedAt"] != started_before
    rotated = host.run(
        f"curl -s -o /dev/null -w '%{{http_code}}' -u {mp['mailpit_ui_auth_user']}:{new_password} "
        f"http://127.0.0.1:{mp['mailpit_ui_port']}/api/v1/messages"
    )
    assert rotated.stdout == "200"
    assert api(host, mp, "/api/v1/messages")[0] == 401  # the old password no longer works
