"""The test bed's stand-in images keep the contracts of the real images they replace."""

from __future__ import annotations

import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest
import testbed
from conftest import REPO

pytestmark = pytest.mark.docker


def docker(*args: str, check: bool = True, input_text: str | None = None) -> str:
    proc = subprocess.run(
        ["docker", *args], capture_output=True, text=True, input=input_text, check=False
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed: {proc.stderr}")
    return proc.stdout.strip()


@pytest.fixture
def container() -> Iterator:
    names: list[str] = []

    def start(*args: str) -> str:
        name = f"tasc-test-{uuid.uuid4().hex[:8]}"
        docker("run", "-d", "--name", name, *args)
        names.append(name)
        return name

    yield start
    for name in names:
        docker("rm", "-f", "-v", name, check=False)


def wait_healthy(name: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = docker("inspect", "-f", "{{.State.Health.Status}}", name)
        if status == "healthy":
            return
        time.sleep(0.5)
    raise AssertionError(f"{name} is {status!r}, not healthy, after {timeout} s")


def wait_for_postgres(name: str, timeout: float = 60) -> None:
    """Ready once the init phase has finished and the final server accepts connections."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        initialised = "init process complete" in logs.stdout + logs.stderr
        if (
            initialised
            and subprocess.run(["docker", "exec", name, "pg_isready", "-q"]).returncode == 0
        ):
            return
        time.sleep(0.5)
    raise AssertionError(f"postgres in {name} did not start")


def test_second_build_reuses_every_image():
    out = subprocess.run(
        [sys.executable, str(REPO / "tests/testbed/testbed.py"), "build"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    tags = [testbed.ROOTFS_TAG] + [image.tag for image in testbed.images()]
    for tag in tags:
        assert f"{tag}: up to date" in out
    assert "docker build" not in out


def test_mailpit_double_image_is_clearly_named():
    labels = json.loads(
        docker("image", "inspect", "-f", "{{json .Config.Labels}}", testbed.MAILPIT_DOUBLE_TAG)
    )
    assert "double" in testbed.MAILPIT_DOUBLE_TAG
    assert "not Mailpit" in labels["org.opencontainers.image.title"]


def test_mailpit_double_builtin_healthcheck_turns_healthy(container):
    name = container("--health-interval", "1s", testbed.MAILPIT_DOUBLE_TAG)
    wait_healthy(name)
    assert docker("exec", name, "/mailpit", "readyz", check=False) == ""


def test_postgres_standin_honours_the_official_contract(container, tmp_path):
    init = tmp_path / "init"
    init.mkdir()
    (init / "10-marker.sql").write_text(
        "CREATE TABLE marker (id int); INSERT INTO marker VALUES (42);"
    )
    name = container(
        "-e",
        "POSTGRES_USER=tasc",
        "-e",
        "POSTGRES_PASSWORD=s3cret",
        "-e",
        "POSTGRES_DB=tasc_lms",
        "-v",
        f"{init}:/docker-entrypoint-initdb.d:ro",
        "postgres:15-bookworm",
    )
    wait_for_postgres(name)
    # initdb.d ran against POSTGRES_DB, as POSTGRES_USER
    assert (
        docker(
            "exec", name, "psql", "-U", "tasc", "-d", "tasc_lms", "-tAc", "SELECT id FROM marker"
        )
        == "42"
    )
    # local socket is trusted: pg_dump inside the container needs no password
    assert "CREATE TABLE public.marker" in docker("exec", name, "pg_dump", "-U", "tasc", "tasc_lms")
    # TCP needs the password
    tcp = ["psql", "-h", "127.0.0.1", "-U", "tasc", "-d", "tasc_lms", "-w", "-tAc", "SELECT 1"]
    denied = subprocess.run(["docker", "exec", name, *tcp], capture_output=True)
    assert denied.returncode != 0
    assert docker("exec", "-e", "PGPASSWORD=s3cret", name, *tcp) == "1"
    assert docker(
        "exec", name, "psql", "-U", "tasc", "-d", "tasc_lms", "-tAc", "SHOW server_version"
    ).startswith("15.")


def test_postgres_standin_refuses_to_start_without_a_password(container):
    name = container("postgres:15-bookworm")
    deadline = time.monotonic() + 20
    while docker("inspect", "-f", "{{.State.Running}}", name) == "true":
        assert time.monotonic() < deadline
        time.sleep(0.2)
    logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
    assert "superuser password is not specified" in logs.stderr


def test_python_standin_is_311_with_a_working_pip(container):
    out = docker(
        "run",
        "--rm",
        "python:3.11-slim-bookworm",
        "sh",
        "-c",
        "python --version && pip install --no-cache-dir --quiet six"
        " && python -c 'import six; print(six.__name__)'",
    )
    assert out.splitlines()[0].startswith("Python 3.11")
    assert out.splitlines()[-1] == "six"
