"""The bootstrap and doctor roles refuse bad input before they change or probe anything."""

from __future__ import annotations

import json

import pytest
from conftest import REPO, run_playbook

HARNESS = REPO / "tests" / "playbooks" / "role_inputs.yml"


def run_role(role: str, **inputs) -> str:
    extra = json.dumps({"role_under_test": role, **inputs})
    result = run_playbook(HARNESS, "--check", "-e", extra)
    assert result.returncode == 2, result.stdout[-2000:]
    assert "changed=0" in result.stdout
    return " ".join(result.stdout.split())


def test_deploy_user_refuses_an_empty_key_list():
    out = run_role("deploy_user", deploy_user_authorized_keys=[])
    assert "must list at least one public SSH key" in out and "Nothing was changed" in out


def test_deploy_user_refuses_something_that_is_not_a_public_key():
    out = run_role("deploy_user", deploy_user_authorized_keys=["/home/me/.ssh/id_ed25519"])
    assert "must list at least one public SSH key" in out


def test_host_firewall_refuses_a_port_without_protocol():
    out = run_role("host_firewall", host_firewall_allowed_ports=["443", "80/tcp"])
    assert "these are not: 443." in out


def test_docker_engine_refuses_daemon_options_that_are_not_a_mapping():
    out = run_role("docker_engine", docker_engine_daemon_options=["ip", "0.0.0.0"])
    assert "docker_engine_daemon_options" in out and "dict" in out


@pytest.mark.parametrize("environment", ["prod", "qa"])
def test_doctor_refuses_an_unknown_environment(environment):
    out = run_role("doctor", doctor_environment=environment)
    assert "doctor_environment" in out and "development, staging, production" in out
