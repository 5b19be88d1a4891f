"""execution-environment.yml stays in step with what the playbooks are tested with here."""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

import yaml
from conftest import REPO

EE = REPO / "execution-environment.yml"


def pins() -> dict[str, str]:
    text = (REPO / "requirements-dev.txt").read_text()
    return dict(re.findall(r"^([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?==(\S+)$", text, re.M))


def test_ansible_builder_renders_a_build_context(tmp_path: Path):
    done = subprocess.run(
        [
            str(REPO / ".venv" / "bin" / "ansible-builder"),
            "create",
            "-f",
            str(EE),
            "-c",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    build = tmp_path / "_build"
    assert (build / "requirements.yml").read_text() == (REPO / "requirements.yml").read_text()
    python = (build / "requirements.txt").read_text()
    for package in ("docker", "passlib"):
        assert f"{package}=={pins()[package]}" in python
    assert "openssh-clients" in (build / "bindep.txt").read_text()


def test_it_pins_the_ansible_core_the_tests_run():
    spec = yaml.safe_load(EE.read_text())
    assert spec["version"] == 3
    core = spec["dependencies"]["ansible_core"]["package_pip"]
    assert core == f"ansible-core=={metadata.version('ansible-core')}"
    assert spec["dependencies"]["galaxy"] == "requirements.yml"
