"""playbooks/mailpit.yml on the local inventory: the guide's developer flow, and every refusal.

The local inventory publishes SMTP on 127.0.0.1:1025 and the UI on 127.0.0.1:8025, so
`manage.py runserver` on this machine sends mail that a developer reads in the browser.
"""

from __future__ import annotations

import json
import os
import smtplib
import subprocess
import time
import urllib.request
from email.message import EmailMessage

import pytest
import testbed
from conftest import REPO, inventory_host_vars, run_playbook

pytestmark = pytest.mark.docker
PLAYBOOK = "playbooks/mailpit.yml"
IMAGE = os.environ.get("TASC_MAILPIT_IMAGE") or testbed.MAILPIT_DOUBLE_TAG
LOCAL = inventory_host_vars(REPO / "inventories" / "local", "localhost")
NAME = LOCAL.get("mailpit_container_name", "mailpit")


# A compose project of its own, so these tests never touch a deployed local stack.
PROJECT = "tasc_mailpit_test"


def mailpit(*args: str) -> subprocess.CompletedProcess[str]:
    return run_playbook(
        PLAYBOOK, "-e", f"mailpit_image={IMAGE}", "-e", f"tasc_compose_project={PROJECT}", *args
    )


def inspect() -> dict:
    out = subprocess.run(["docker", "inspect", NAME], capture_output=True, text=True)
    return json.loads(out.stdout)[0] if out.returncode == 0 else {}


def recap_changed(output: str) -> int:
    line = next(ln for ln in output.splitlines() if ln.startswith("localhost") and "ok=" in ln)
    return int(line.split("changed=")[1].split()[0])


def api(path: str) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:8025{path}", timeout=5) as response:
        return json.loads(response.read())


def send(to: str, subject: str) -> None:
    msg = EmailMessage()
    msg["From"], msg["To"], msg["Subject"] = "noreply@tasc.test", to, subject
    msg.set_content(f"{subject} body")
    with smtplib.SMTP("127.0.0.1", 1025, timeout=5) as smtp:
        smtp.send_message(msg)


@pytest.fixture(scope="module")
def running():
    first = mailpit()
    assert first.returncode == 0, first.stdout + first.stderr
    yield first
    mailpit("-e", "mailpit_state=absent", "-e", "mailpit_purge_data=true")


def test_second_run_changes_nothing(running):
    again = mailpit()
    assert again.returncode == 0
    assert recap_changed(again.stdout) == 0


def test_container_is_healthy_and_restarts_unless_stopped(running):
    state = inspect()
    assert state["State"]["Health"]["Status"] == "healthy"
    assert state["HostConfig"]["RestartPolicy"]["Name"] == "unless-stopped"


def test_ports_are_published_on_loopback_only(running):
    ports = inspect()["NetworkSettings"]["Ports"]
    assert ports["8025/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "8025"}]
    assert ports["1025/tcp"] == [{"HostIp": "127.0.0.1", "HostPort": "1025"}]


def test_configured_only_through_mp_variables(running):
    config = inspect()["Config"]
    env = dict(e.split("=", 1) for e in config["Env"])
    assert env["MP_DATABASE"].startswith("/data/")
    assert env["MP_LABEL"] == LOCAL["tasc_environment"]
    assert not [k for k in env if k.startswith(("MP_SMTP_RELAY", "MP_SMTP_FORWARD", "MP_WEBHOOK"))]
    assert not config["Cmd"]  # no flags: the health check reads the same environment


def test_a_mail_sent_to_loopback_1025_is_readable_in_the_api(running):
    send("learner1@test.com", "local flow")
    found = api("/api/v1/search?query=subject%3A%22local%20flow%22")
    assert found["messages_count"] == 1


def test_stop_keeps_the_mail_and_start_brings_it_back(running):
    send("learner2@test.com", "kept across a stop")
    stopped = mailpit("-e", "mailpit_state=stopped")
    assert stopped.returncode == 0
    assert inspect()["State"]["Running"] is False
    started = mailpit()
    assert started.returncode == 0
    found = api("/api/v1/search?query=subject%3A%22kept%20across%20a%20stop%22")
    assert found["messages_count"] == 1


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["-e", "tasc_environment=production"], "Mailpit is for development and staging only"),
        (["-e", "mailpit_image=axllent/mailpit:latest"], "is not pinned"),
        (["-e", "mailpit_image=axllent/mailpit"], "is not pinned"),
        (["-e", "mailpit_image=axllent/mailpit:v1.20.0"], "is not pinned"),
        (["-e", "mailpit_smtp_relay_host=smtp.sendgrid.net"], "would let captured mail leave"),
        (["-e", "mailpit_webhook_url=https://hooks.example"], "would let captured mail leave"),
        (["-e", "mailpit_ui_bind_address=0.0.0.0"], "would publish the Mailpit UI"),
        (
            ["-e", "mailpit_ui_bind_address=0.0.0.0", "-e", "mailpit_ui_public=true"],
            "would publish the Mailpit UI",
        ),
        (["-e", "mailpit_smtp_bind_address=0.0.0.0"], "would accept mail from the internet"),
        (
            ["-e", "mailpit_ui_auth_enabled=true", "-e", "mailpit_ui_auth_password=short"],
            "credentials are not usable",
        ),
        (["-e", "mailpit_state=paused"], "mailpit_state"),
    ],
)
def test_unsafe_input_is_refused_before_any_change(running, extra, message):
    before = inspect()
    networks_before = subprocess.run(
        ["docker", "network", "ls", "-q"], capture_output=True, text=True
    ).stdout
    result = mailpit(*extra)
    assert result.returncode == 2
    assert message in result.stdout
    assert "changed=0" in result.stdout
    after = inspect()
    assert (after["Id"], after["State"]["StartedAt"]) == (
        before["Id"],
        before["State"]["StartedAt"],
    )
    assert (
        subprocess.run(["docker", "network", "ls", "-q"], capture_output=True, text=True).stdout
        == networks_before
    )


def test_first_run_creates_the_network_compose_adopts(running, tmp_path):
    """Mailpit first, app second (a fresh droplet): compose adopts the network Mailpit made."""
    project = PROJECT  # mailpit_network is <project>_default
    (tmp_path / "compose.yml").write_text(
        'services:\n  web:\n    image: python:3.11-slim-bookworm\n    command: ["sleep", "300"]\n'
    )
    compose = ["docker", "compose", "-p", project, "-f", str(tmp_path / "compose.yml")]
    try:
        for step in (["up", "-d"], ["down"], ["up", "-d"]):
            run = subprocess.run([*compose, *step], capture_output=True, text=True)
            assert run.returncode == 0, run.stderr
        probe = subprocess.run(
            [
                *compose,
                "exec",
                "-T",
                "web",
                "python",
                "-c",
                "import smtplib; s = smtplib.SMTP('mailpit', 1025, timeout=5);"
                "s.sendmail('a@tasc.test', ['net@test.com'], 'Subject: via network\\n\\nx');"
                "s.quit()",
            ],
            capture_output=True,
            text=True,
        )
        assert probe.returncode == 0, probe.stderr
    finally:
        subprocess.run([*compose, "down"], capture_output=True)
    deadline = time.monotonic() + 5
    while api("/api/v1/search?query=to%3Anet%40test.com")["messages_count"] != 1:
        assert time.monotonic() < deadline
        time.sleep(0.2)
