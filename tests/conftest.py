"""Shared fixtures: the repository layout and a way to run Ansible as an operator would."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests" / "testbed"))


def free_port() -> int:
    """A TCP port nothing listens on right now, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def ansible_env() -> dict[str, str]:
    env = dict(os.environ)
    env["ANSIBLE_CONFIG"] = str(REPO / "ansible.cfg")
    env["ANSIBLE_FORCE_COLOR"] = "false"
    env["PATH"] = f"{REPO / '.venv' / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    # The example droplet vault, opened with its documented example password.
    env["ANSIBLE_VAULT_PASSWORD_FILE"] = str(
        REPO / "inventories" / "droplet" / "vault-password.example"
    )
    return env


def run_playbook(
    playbook: str | Path, *args: str, env: dict[str, str] | None = None, timeout: float = 600
) -> subprocess.CompletedProcess[str]:
    """Run ansible-playbook from the repository root, the way the README tells people to."""
    return subprocess.run(
        ["ansible-playbook", str(playbook), *args],
        cwd=REPO,
        env={**ansible_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def inventory_host_vars(inventory: str | Path, host: str) -> dict:
    """The variables a playbook in playbooks/ sees for a host (`ansible-inventory --host`).

    --playbook-dir matters: without it ansible-inventory treats the working directory as the
    playbook directory and would load the top-level group_vars/ as playbook group_vars.
    """
    out = subprocess.run(
        [
            "ansible-inventory",
            "-i",
            str(inventory),
            "--playbook-dir",
            str(REPO / "playbooks"),
            "--host",
            host,
        ],
        cwd=REPO,
        env=ansible_env(),
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


# ------------------------------------------------------------------ the fault-injection suite
# One droplet test host for every test under tests/faults/ (see tests/faults/README.md).


def _faultbed():
    sys.path.insert(0, str(REPO / "tests" / "faults"))
    import faultbed  # imports this module, so it is imported late

    return faultbed


@pytest.fixture(scope="session")
def droplet():
    faultbed = _faultbed()
    try:
        yield faultbed.bring_up()
    finally:
        faultbed.tear_down()


@pytest.fixture
def healthy(droplet):
    """Every fault test starts from, and must leave, a healthy stack with the lock free."""
    droplet.wait_healthy()
    held = droplet.lock()
    assert not held.get("held"), f"a previous test left the stack lock held: {held}"
    yield droplet
    droplet.wait_healthy()


def pytest_runtest_logreport(report):
    if "tests/faults/" in report.nodeid and (
        report.when == "call" or (report.when == "setup" and report.outcome != "passed")
    ):
        _faultbed().RESULTS[report.nodeid] = report.outcome


def pytest_terminal_summary(terminalreporter):
    if "faultbed" in sys.modules and (line := sys.modules["faultbed"].summary_line()):
        terminalreporter.write_sep("=", "fault-injection suite")
        terminalreporter.write_line(line)
