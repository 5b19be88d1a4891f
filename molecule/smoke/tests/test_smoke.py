"""Smoke test of the test bed: the droplet host behaves like a fresh staging droplet."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests" / "testbed"))
import testbed  # noqa: E402

testinfra_hosts = ["ansible://tasc_app"]


def test_connects_as_the_inventory_user(host):
    """SSH logs in as the inventory's non-root user; become (sudo) records it in SUDO_USER."""
    expected = host.ansible.get_variables()["ansible_user"]
    assert expected != "root"
    login = host.check_output("printenv SUDO_USER || id -un")
    assert login == expected


def test_become_gives_root(host):
    with host.sudo():
        assert host.check_output("id -u") == "0"


def test_systemd_is_pid_1_and_running(host):
    assert host.process.get(pid=1).comm == "systemd"
    assert host.run("systemctl is-system-running").stdout.strip() == "running"


def test_docker_service_is_active_and_enabled(host):
    docker = host.service("docker")
    assert docker.is_running
    assert docker.is_enabled


def test_compose_is_v2(host):
    with host.sudo():
        version = host.check_output("docker compose version --short")
    assert version.lstrip("v").startswith("2.")


@pytest.mark.parametrize("image", sorted(testbed.droplet_preload()))
def test_preloaded_image_is_present(host, image):
    with host.sudo():
        found = json.loads(host.check_output(f"docker image inspect {image}"))
    assert found and found[0]["Id"].startswith("sha256:")


@pytest.mark.parametrize(
    "alias", sorted(a for aliases in testbed.droplet_preload().values() for a in aliases)
)
def test_real_image_tags_resolve_on_the_host(host, alias):
    with host.sudo():
        assert host.run(f"docker image inspect {alias}").rc == 0


def test_sshd_refuses_passwords_and_root(host):
    with host.sudo():
        config = host.check_output("sshd -T")
    assert "passwordauthentication no" in config
    assert "permitrootlogin no" in config


def test_test_host_runs_without_privileged_mode(host):
    container = host.ansible.get_variables()["tasc_testbed_container"]
    inspect = subprocess.run(
        ["docker", "inspect", "-f", "{{.HostConfig.Privileged}}", container],
        capture_output=True,
        text=True,
        check=True,
    )
    assert inspect.stdout.strip() == "false"


def test_ssh_is_published_on_loopback_only(host):
    container = host.ansible.get_variables()["tasc_testbed_container"]
    ports = subprocess.run(
        ["docker", "port", container, "22/tcp"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert ports and all(p.startswith("127.0.0.1:") for p in ports)


# ----------------------------------------------------------- after playbooks/bootstrap_droplet.yml


def test_deploy_user_logs_in_with_its_key_only(host):
    with host.sudo():
        status = host.check_output("passwd -S deploy").split()
        keys = host.file("/home/deploy/.ssh/authorized_keys")
        assert keys.user == "deploy" and keys.mode == 0o600
        sudoers = host.file("/etc/sudoers.d/deploy")
        assert sudoers.mode == 0o440 and "NOPASSWD:ALL" in sudoers.content_string
    assert status[1] == "L"  # password locked
    assert host.run("sudo -n true").rc == 0


def test_docker_publishes_ports_without_an_address_on_loopback(host):
    with host.sudo():
        settings = json.loads(host.file("/etc/docker/daemon.json").content_string)
        assert settings["ip"] == "127.0.0.1"
        assert settings["log-opts"]["max-size"] == "10m"
        host.run("docker rm -f bind-check")
        host.check_output(
            "docker run -d --name bind-check -p 18081:8000 python:3.11-slim-bookworm sleep 60"
        )
        try:
            published = host.check_output("docker port bind-check 8000/tcp")
        finally:
            host.run("docker rm -f bind-check")
    assert published.splitlines() == ["127.0.0.1:18081"]


def test_firewall_allows_ssh_and_denies_the_rest(host):
    with host.sudo():
        status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert "Default: deny (incoming)" in status
    assert any(line.startswith("22/tcp") and "ALLOW IN" in line for line in status.splitlines())


@pytest.mark.parametrize(
    ("variable", "mode"),
    [("tasc_app_dir", 0o755), ("tasc_backup_dir", 0o700), ("tasc_state_dir", 0o700)],
)
def test_app_backup_and_state_directories_exist(host, variable, mode):
    path = host.ansible.get_variables()[variable]
    directory = host.file(path)
    assert directory.is_directory and directory.user == "root" and directory.mode == mode
