"""playbooks/doctor.yml on the fault suite's droplet: all green when healthy, and for each broken
thing a red line that names the fix. The doctor must never change anything."""

from __future__ import annotations

import re

import pytest
from faultbed import inventory_with_vault, record_data_check

pytestmark = pytest.mark.docker

RESET = "tasc-nightly-reset run --config /etc/tasc/nightly-reset.json --trigger manual"
CHECKS = [
    "connection",
    "privileges",
    "docker engine",
    "docker compose v2",
    "disk for backups",
    "app checkout",
    "vault variables",
    "mailpit",
    "nightly reset",
]
COMPOSE_PLUGIN = "/usr/libexec/docker/cli-plugins/docker-compose"


def report(stdout: str) -> dict[str, tuple[str, str]]:
    """Check name -> (mark, the line's text plus its fix line, if any)."""
    lines: dict[str, tuple[str, str]] = {}
    last = None
    for line in stdout.splitlines():
        found = re.match(r"\s*\[( OK |TODO|FAIL)\] ([a-z0-9 ]+): (.*)", line)
        if found:
            last = found.group(2)
            lines[last] = (found.group(1).strip(), found.group(3))
        elif last and line.strip().startswith("fix: "):
            mark, text = lines[last]
            lines[last] = (mark, f"{text} | {line.strip()}")
    return lines


def run_doctor(droplet, *args: str):
    before = droplet.snapshot()
    result = droplet.play("playbooks/doctor.yml", *args)
    assert "changed=0" in result.stdout, result.stdout[-1500:]
    record_data_check("doctor", before["data"], droplet.fingerprint())
    return result, report(result.stdout)


@pytest.fixture
def reset_once(healthy):
    """A staging host is healthy only with a successful nightly reset on record."""
    healthy.sh(RESET, timeout=300)
    return healthy


def test_doctor_is_green_on_a_healthy_droplet_and_changes_nothing(reset_once):
    before = reset_once.snapshot()
    result, lines = run_doctor(reset_once)
    assert result.returncode == 0, result.stdout[-3000:]
    assert list(lines) == CHECKS
    assert {mark for mark, _ in lines.values()} == {"OK"}, lines
    assert "last success" in lines["nightly reset"][1]
    assert reset_once.snapshot() == before
    # Check mode too: a new hire may try it that way first.
    checked = reset_once.play("playbooks/doctor.yml", "--check")
    assert checked.returncode == 0 and "changed=0" in checked.stdout


def test_docker_stopped_is_red_with_the_command_that_starts_it(reset_once):
    data = reset_once.fingerprint()
    reset_once.sh("systemctl stop docker.socket docker.service")
    try:
        result = reset_once.play("playbooks/doctor.yml")
    finally:
        reset_once.sh("systemctl start docker.service")
        reset_once.compose("up -d --wait", check=False)
    record_data_check("doctor: docker stopped", data, reset_once.fingerprint())
    lines = report(result.stdout)
    assert result.returncode == 2 and "changed=0" in result.stdout
    mark, text = lines["docker engine"]
    assert mark == "FAIL" and "does not answer" in text
    assert "fix: start it: `sudo systemctl start docker`" in text
    assert "docker engine" in result.stdout.split("checks failed on")[1]


def test_compose_missing_is_red_with_how_to_install_it(reset_once):
    data = reset_once.fingerprint()
    reset_once.sh(f"mv {COMPOSE_PLUGIN} {COMPOSE_PLUGIN}.away")
    try:
        result = reset_once.play("playbooks/doctor.yml")
    finally:
        reset_once.sh(f"mv {COMPOSE_PLUGIN}.away {COMPOSE_PLUGIN}")
    record_data_check("doctor: compose missing", data, reset_once.fingerprint())
    lines = report(result.stdout)
    assert result.returncode == 2 and "changed=0" in result.stdout
    mark, text = lines["docker compose v2"]
    assert mark == "FAIL" and "missing" in text
    assert "fix: install the Compose v2 plugin" in text and "bootstrap_droplet.yml" in text
    assert [name for name, (m, _) in lines.items() if m == "FAIL"] == ["docker compose v2"]


def test_a_missing_vault_variable_is_named_and_its_value_never_printed(reset_once, tmp_path):
    secret = "SENTINEL-doctor-secret-key-5c1d"
    inventory = inventory_with_vault(tmp_path, {"vault_django_secret_key": secret})
    before = reset_once.snapshot()
    result = reset_once.play("playbooks/doctor.yml", inventory=inventory)
    lines = report(result.stdout)
    assert result.returncode == 2
    mark, text = lines["vault variables"]
    assert mark == "FAIL" and "not defined: vault_postgres_password" in text
    assert "fix: add vault_postgres_password" in text and "ansible-vault edit" in text
    assert secret not in result.stdout
    assert [name for name, (m, _) in lines.items() if m == "FAIL"] == ["vault variables"]
    assert reset_once.snapshot() == before


def test_a_nearly_full_backup_disk_is_red_with_what_to_free(reset_once):
    small = "/srv/nearly-full-backups"
    reset_once.sh(
        f"mkdir -p {small} && (mountpoint -q {small} || mount -t tmpfs -o size=8m tmpfs {small})"
        f" && head -c 7800000 /dev/zero > {small}/filler"
    )
    try:
        result, lines = run_doctor(reset_once, "-e", f"tasc_backup_dir={small}")
    finally:
        reset_once.sh(f"umount {small} && rmdir {small}")
    assert result.returncode == 2
    mark, text = lines["disk for backups"]
    assert mark == "FAIL" and f"for {small}" in text and "% used" in text
    assert "fix: free space on that disk" in text and "retention" in text
    assert [name for name, (m, _) in lines.items() if m == "FAIL"] == ["disk for backups"]
