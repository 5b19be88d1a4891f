"""The fault-injection suite's test bed: one droplet test host, deployed once, shared by every test.

The fixtures (`droplet`, `healthy`) and the end-of-run summary live in tests/conftest.py.

Each test snapshots the host, injects a fault, runs a playbook as an operator would (a subprocess
of ansible-playbook through the real droplet inventory), checks the exit code, the message and
the state afterwards, and leaves the host healthy for the next test.

Safety: playbooks run only through `Droplet.play`, which refuses unless the inventory's
connection settings are the ones the test bed wrote for this suite's own container on
127.0.0.1. Nothing here can reach a real droplet.
"""

from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "tests"))
from conftest import ansible_env, run_playbook  # noqa: E402

# bench/ borrows this test bed under its own container name and port.
HOST = os.environ.get("TASC_FAULTS_HOST", "faults-droplet")
SSH_PORT = os.environ.get("TASC_FAULTS_SSH_PORT", "2227")
INVENTORY = REPO / "tests" / "inventory" / "droplet"
HOST_VARS = REPO / ".testbed" / "host_vars" / "droplet"
ORIGIN = REPO / ".testbed" / "faults-origin.git"
MAILPIT_IMAGE = os.environ.get("TASC_MAILPIT_IMAGE") or "tasc-testbed/mailpit-double:v1.30.5"
APP_DIR = "/srv/tasc-lms"
BACKUP_DIR = "/srv/tasc-lms-backups"
COMPOSE = (
    f"docker compose --project-directory {APP_DIR} -p tasc_lms "
    f"-f {APP_DIR}/docker-compose.staging.yml"
)
# The tables whose contents are the demo data: a fingerprint of each proves "nothing lost".
DATA_TABLES = {
    "accounts_user": "email",
    "catalogue_course": "slug || title || status || price",
    "catalogue_enrollment": "user_id || '-' || course_id",
    "catalogue_certificate": "id",
}

# What the end-of-run summary reports.
RESULTS: dict[str, str] = {}
DATA_CHECKS: list[tuple[str, bool]] = []


@dataclass
class Droplet:
    container: str = HOST
    extra_args: list[str] = field(default_factory=list)

    # ----------------------------------------------------------------- inspecting the host
    def sh(self, command: str, check: bool = True, timeout: float = 300):
        """A shell command on the test host (docker exec: inspection and fault injection)."""
        done = subprocess.run(
            ["docker", "exec", self.container, "bash", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"{command!r} exited {done.returncode}: {done.stderr[-2000:]}")
        return done

    def out(self, command: str) -> str:
        return self.sh(command).stdout.strip()

    def compose(self, args: str, check: bool = True):
        return self.sh(f"{COMPOSE} {args}", check=check)

    def psql(self, sql: str) -> str:
        return self.out(
            f"{COMPOSE} exec -T db sh -c 'psql -qAt -v ON_ERROR_STOP=1 "
            f'-U "$POSTGRES_USER" -d "$POSTGRES_DB"\' <<\'SQL\'\n{sql}\nSQL'
        )

    def manage(self, args: str, check: bool = True):
        return self.compose(f"exec -T web python manage.py {args}", check=check)

    def backups(self) -> list[str]:
        return sorted(self.out(f"ls {BACKUP_DIR}").split())  # the script's own lock file is hidden

    def containers(self) -> dict[str, str]:
        """Service -> container ID and image ID: a changed one was recreated."""
        listing = self.out(f"{COMPOSE} ps -q")
        result = {}
        for container_id in listing.split():
            info = json.loads(self.out(f"docker inspect {container_id}"))[0]
            service = info["Config"]["Labels"]["com.docker.compose.service"]
            result[service] = f"{info['Id'][:12]} {info['Image'][7:19]}"
        return result

    def fingerprint(self) -> dict[str, str]:
        rows = [
            f"SELECT '{table}', count(*) || ':' || coalesce(md5(string_agg(({key})::text, ',' "
            f"ORDER BY ({key})::text)), '') FROM {table}"
            for table, key in DATA_TABLES.items()
        ]
        out = self.psql(" UNION ALL ".join(rows))
        return dict(line.split("|", 1) for line in out.splitlines())

    def schema(self) -> list[str]:
        return self.psql(
            "SELECT table_name || '.' || column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' ORDER BY 1"
        ).splitlines()

    def hold_table(self, table: str, mode: str, seconds: int = 300) -> None:
        """Another session holds a table lock in the background until release_tables()."""
        self.sh(
            f'nohup {COMPOSE} exec -T db sh -c \'psql -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c '
            f'"BEGIN; LOCK TABLE {table} IN {mode} MODE; SELECT pg_sleep({seconds});"\' '
            ">/tmp/blocker.log 2>&1 &"
        )
        lock_name = mode.title().replace(" ", "") + "Lock"  # SHARE -> ShareLock
        wait_for(
            lambda: self.psql(
                "SELECT count(*) FROM pg_locks WHERE granted "
                f"AND relation = '{table}'::regclass AND mode = '{lock_name}'"
            )
            != "0",
            f"the blocker to lock {table}",
        )

    def release_tables(self) -> None:
        self.psql(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE query LIKE '%pg_sleep%' AND pid <> pg_backend_pid()"
        )

    def lock(self) -> dict:
        return json.loads(self.out("tasc-lock status --dir /run/lock/tasc"))

    def snapshot(self) -> dict:
        return {
            "backups": self.backups(),
            "containers": self.containers(),
            "data": self.fingerprint(),
            "lock": self.lock().get("held"),
        }

    def healthz(self) -> int:
        done = self.sh(
            "curl -s -o /dev/null -w '%{http_code}' --max-time 5 http://127.0.0.1:8000/healthz",
            check=False,
        )
        return int(done.stdout or 0)

    def wait_healthy(self, timeout: float = 120) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            states = self.sh(
                f"{COMPOSE} ps --format '{{{{.Service}}}}={{{{.Health}}}}'", check=False
            )
            lines = set(states.stdout.split())
            if {"db=healthy", "web=healthy"} <= lines:
                return
            time.sleep(1)
        raise AssertionError(f"the stack did not turn healthy: {states.stdout}")

    # ------------------------------------------------------------------------ running Ansible
    def play(self, playbook: str, *args: str, inventory: Path | None = None, timeout: float = 900):
        guard_test_bed_inventory()
        return run_playbook(
            playbook, "-i", str(inventory or INVENTORY), *self.base_args(), *args, timeout=timeout
        )

    def start(self, playbook: str, *args: str) -> subprocess.Popen:
        """The same as play(), in the background (its own process group, output piped)."""
        guard_test_bed_inventory()
        return subprocess.Popen(
            ["ansible-playbook", playbook, "-i", str(INVENTORY), *self.base_args(), *args],
            cwd=REPO,
            env=ansible_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )

    def base_args(self) -> list[str]:
        return [
            "-e",
            f"mailpit_image={MAILPIT_IMAGE}",
            "-e",
            "tasc_app_repo=/srv/git/tasc-lms.git",
            *self.extra_args,
        ]

    def push(self, tmp_path: Path, change=None, message: str = "change") -> str:
        """Commit the reference app (plus `change(tree)`) to the origin the host deploys from."""
        tree = tmp_path / "app"
        if tree.exists():
            shutil.rmtree(tree)
        shutil.copytree(
            REPO / "examples" / "tasc_lms",
            tree,
            ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3"),
        )
        if change:
            change(tree)
        (tree / "FAULT_SUITE_COMMIT").write_text(f"{message} {time.time()}\n")
        out = subprocess.run(
            [str(REPO / "scripts" / "publish_reference_app"), str(tree), str(ORIGIN)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        served = self.play(
            "molecule/default/prepare.yml", "-e", "publish=false", "-e", f"__origin={ORIGIN}"
        )
        assert served.returncode == 0, served.stdout[-2000:]
        return out.split()[-1]

    def deployed_sha(self) -> str:
        return self.out(f"git -C {APP_DIR} rev-parse HEAD")


def guard_test_bed_inventory() -> None:
    """Refuse to run a playbook unless the inventory points at this suite's local container."""
    text = "".join(p.read_text() for p in sorted(HOST_VARS.glob("*.yml")))
    if f"tasc_testbed_container: {HOST}" not in text or "ansible_host: 127.0.0.1" not in text:
        pytest.exit(
            f"refusing to run playbooks: {HOST_VARS} does not point at the test host {HOST} on "
            "127.0.0.1 (a destructive fault test must never reach a real droplet)",
            returncode=3,
        )


def flat(text: str) -> str:
    """Ansible's YAML callback folds long messages: compare with whitespace normalized."""
    return " ".join(text.split())


def record_data_check(scenario: str, before: dict, after: dict) -> None:
    DATA_CHECKS.append((scenario, before == after))
    assert after == before, f"data changed: {before} -> {after}"


def testbed(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "tests" / "testbed" / "testbed.py"), *args],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )


def quote(text: str) -> str:
    return shlex.quote(text)


def wait_for(predicate, what: str, timeout: float = 60):
    """Poll until predicate() returns something true; return it."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def bring_up() -> Droplet:
    """A fresh droplet test host with the reference app deployed by deploy_staging.yml.

    TASC_FAULTS_KEEP_HOST=1 keeps the host after the run and reuses a running one (for
    working on the suite; CI always starts fresh)."""
    if (
        os.environ.get("TASC_FAULTS_KEEP_HOST")
        and subprocess.run(
            ["docker", "inspect", "-f", "{{.State.Running}}", HOST], capture_output=True, text=True
        ).stdout.strip()
        == "true"
    ):
        return Droplet()
    up = testbed("host", "up", HOST, "--ssh-port", SSH_PORT, "--inventory-host", "tasc-staging-1")
    assert up.returncode == 0, up.stdout[-2000:] + up.stderr[-2000:]
    host = Droplet()
    published = host.play("molecule/default/prepare.yml", "-e", f"__origin={ORIGIN}")
    assert published.returncode == 0, published.stdout[-3000:]
    deployed = host.play("playbooks/deploy_staging.yml")
    assert deployed.returncode == 0, deployed.stdout[-3000:]
    # The nightly reset's script and settings, as the schedule playbook installs them.
    installed = host.play("playbooks/schedule_nightly_reset.yml")
    assert installed.returncode == 0, installed.stdout[-3000:]
    return host


def tear_down() -> None:
    if not os.environ.get("TASC_FAULTS_KEEP_HOST"):
        testbed("host", "down", HOST)


def summary_line() -> str | None:
    if not RESULTS:
        return None
    passed = sum(1 for outcome in RESULTS.values() if outcome == "passed")
    lost = sum(1 for _, intact in DATA_CHECKS if not intact)
    return (
        f"scenarios passed: {passed}/{len(RESULTS)}; data checked after "
        f"{len(DATA_CHECKS)} faults, data lost: {lost}"
    )


def inventory_with_vault(tmp_path: Path, vault: dict[str, str]) -> Path:
    """The droplet inventory (same hosts, group_vars and test-bed host_vars) with another vault.yml,
    encrypted with the example password as an operator's would be."""
    inventory = tmp_path / "inventory"
    staging = inventory / "group_vars" / "staging"
    staging.mkdir(parents=True)
    real = REPO / "inventories" / "droplet"
    (inventory / "hosts.yml").symlink_to(real / "hosts.yml")
    (inventory / "group_vars" / "all").symlink_to(REPO / "group_vars" / "all")
    (inventory / "host_vars").symlink_to(INVENTORY / "host_vars")
    (staging / "main.yml").symlink_to(real / "group_vars" / "staging" / "main.yml")
    vault_file = staging / "vault.yml"
    vault_file.write_text("".join(f"{name}: {value}\n" for name, value in vault.items()))
    subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-vault"), "encrypt", str(vault_file)],
        env=ansible_env(),
        check=True,
        capture_output=True,
    )
    return inventory
