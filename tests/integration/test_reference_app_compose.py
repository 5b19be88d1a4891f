"""The reference app's compose contract, exactly as the staging guide runs it by hand:

docker compose -f docker-compose.staging.yml up -d --build
docker compose -f docker-compose.staging.yml exec -T web python manage.py seed_staging ...
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from conftest import REPO, free_port

pytestmark = pytest.mark.docker
APP = REPO / "examples" / "tasc_lms"
COMPOSE_FILE = "docker-compose.staging.yml"


class Stack:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.project = f"tasc-it-{uuid.uuid4().hex[:8]}"
        self.port = free_port()

    def compose(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        cmd = ["docker", "compose", "-p", self.project, "-f", COMPOSE_FILE, *args]
        result = subprocess.run(
            cmd,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            env={
                "WEB_PORT": str(self.port),
                "PATH": "/usr/bin:/bin:/usr/local/bin",
                "HOME": str(Path.home()),
            },
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)}: {result.stdout}\n{result.stderr}")
        return result

    def manage(self, *args: str) -> str:
        return self.compose("exec", "-T", "web", "python", "manage.py", *args).stdout

    def get(self, path: str) -> tuple[int, bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as err:
            return err.code, err.read()


@pytest.fixture(scope="module")
def stack(tmp_path_factory) -> Iterator[Stack]:
    workdir = tmp_path_factory.mktemp("tasc_lms")
    shutil.copytree(
        APP,
        workdir,
        dirs_exist_ok=True,
        ignore=shutil.ignore_patterns("__pycache__", "*.sqlite3", ".pytest_cache"),
    )
    (workdir / ".env").write_text(
        "DJANGO_ENV=staging\nSECRET_KEY=" + "s" * 50 + "\nALLOWED_HOSTS=localhost\n"
        "POSTGRES_DB=tasc_lms\nPOSTGRES_USER=tasc\nPOSTGRES_PASSWORD=compose-test\n"
        "POSTGRES_HOST=db\nEMAIL_PROVIDER=django\nEMAIL_HOST=mailpit\nEMAIL_PORT=1025\n"
    )
    stack = Stack(workdir)
    try:
        stack.compose("up", "-d", "--build", "--wait", "--wait-timeout", "180")
        stack.manage("migrate", "--noinput")
        yield stack
    finally:
        stack.compose("down", "-v", "--remove-orphans", check=False)


def test_healthz_serves_200(stack):
    status, body = stack.get("/healthz")
    assert status == 200
    assert json.loads(body)["environment"] == "staging"


def test_the_guides_full_seed_produces_the_dataset(stack):
    out = stack.manage(
        "seed_staging",
        "--with-catalogue",
        "--with-enrollments",
        "--with-progress",
        "--with-certificates",
    )
    summary = json.loads(out.strip().splitlines()[-1].removeprefix("SEED_STAGING "))
    assert summary["created"]["users"] + summary["existing"]["users"] == 77
    report = json.loads(stack.manage("seed_status"))
    assert report["seed_users"] == 77
    assert report["draft_enrollments"] == 0
    assert report["certificates"] > 0


def test_healthz_is_503_when_the_database_stops(stack):
    stack.compose("stop", "db")
    try:
        deadline = time.monotonic() + 30
        status = 200
        while time.monotonic() < deadline and status == 200:
            status, _ = stack.get("/healthz")
            time.sleep(0.5)
        assert status == 503
    finally:
        stack.compose("start", "db")
        stack.compose("up", "-d", "--wait", "--wait-timeout", "120")


def test_db_publishes_no_port_and_web_binds_loopback(stack):
    config = yaml.safe_load(stack.compose("config").stdout)
    assert "ports" not in config["services"]["db"]
    assert all(p.get("host_ip") == "127.0.0.1" for p in config["services"]["web"]["ports"])


def test_build_context_keeps_out_git_and_env():
    ignored = (APP / ".dockerignore").read_text().split()
    assert ".git" in ignored and ".env" in ignored


def test_dependency_layer_comes_before_the_source():
    lines = [
        ln.split()[0:2]
        for ln in (APP / "Dockerfile").read_text().splitlines()
        if ln.strip() and not ln.startswith("#")
    ]
    copy_reqs = lines.index(["COPY", "requirements.txt"])
    pip = next(i for i, ln in enumerate(lines) if ln[:2] == ["RUN", "pip"])
    copy_all = lines.index(["COPY", "."])
    assert copy_reqs < pip < copy_all
