"""docker_preflight refuses a host it cannot deploy to, with a message that names the fix."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from conftest import REPO, ansible_env, run_playbook

PLAYBOOK = REPO / "tests" / "playbooks" / "docker_preflight.yml"
pytestmark = pytest.mark.docker


def test_passes_on_this_machine():
    result = run_playbook(PLAYBOOK)
    assert result.returncode == 0, result.stdout
    assert "Docker Engine" in result.stdout
    assert "changed=0" in result.stdout


def test_passes_in_check_mode_with_real_probes():
    result = run_playbook(PLAYBOOK, "--check")
    assert result.returncode == 0, result.stdout
    assert "Compose 2." in result.stdout


def test_stopped_engine_is_named_with_the_fix():
    result = run_playbook(PLAYBOOK, env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert result.returncode == 2
    assert "does not answer" in result.stdout
    assert "systemctl start docker" in result.stdout


def test_too_old_compose_is_refused():
    result = run_playbook(PLAYBOOK, "-e", "docker_preflight_compose_min_version=99.0")
    assert result.returncode == 2
    assert "the stack needs" in result.stdout
    assert "Compose >= 99.0" in result.stdout


def docker_without_compose(tmp_path: Path, compose_reply: str) -> dict[str, str]:
    """PATH with a `docker` that forwards to the real CLI but answers `compose` itself.

    The Compose plugin may live in a system folder a test cannot hide, so the fault is
    injected in front of the CLI instead.
    """
    real = shutil.which("docker")
    assert real, "the Docker CLI is needed"
    wrapper = tmp_path / "docker"
    wrapper.write_text(
        f'#!/bin/sh\nif [ "$1" = compose ]; then {compose_reply}; fi\nexec {real} "$@"\n'
    )
    wrapper.chmod(0o755)
    return {"PATH": f"{tmp_path}{os.pathsep}{ansible_env()['PATH']}"}


def test_missing_compose_plugin_is_refused(tmp_path: Path):
    env = docker_without_compose(
        tmp_path, "echo \"docker: 'compose' is not a docker command.\" >&2; exit 1"
    )
    result = run_playbook(PLAYBOOK, env=env)
    assert result.returncode == 2
    assert "Docker Compose v2 is missing" in result.stdout
    assert "is not a docker command" in result.stdout


def test_compose_v1_is_refused(tmp_path: Path):
    result = run_playbook(PLAYBOOK, env=docker_without_compose(tmp_path, "echo 1.29.2; exit 0"))
    assert result.returncode == 2
    assert "Docker Compose v2 is missing" in result.stdout


def test_malformed_minimum_is_refused_before_probing():
    result = run_playbook(PLAYBOOK, "-e", "docker_preflight_engine_min_version=latest")
    assert result.returncode == 2
    assert "must be dotted version numbers" in result.stdout
    assert "Ask the Docker Engine" not in result.stdout
