"""The README's quick start, followed literally on a fresh machine with Docker.

A fresh droplet test host plays the new hire's machine (Debian 12, Docker Engine + Compose v2,
the images a registry pull would give it preloaded). The test installs what the README's
Prerequisites list, clones this repository (the working tree's commit, as a git bundle), runs
the quick start's deploy command as written (with the README's documented DEPLOY_ARGS for a
machine that cannot reach Docker Hub), opens the URLs it prints, reads an OTP mail in Mailpit
and logs in with it, then runs `make doctor`. The quick start's test command is the one
.ci/run calls on a clean clone, which is its literal run.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.docker

HOST = "quickstart-machine"
SSH_PORT = 2229
README = (REPO / "README.md").read_text()
CLONE_DIR = "/root/tasc-staging-ops"


def quick_start() -> list[str]:
    """The commands of the README's quick-start block, comments stripped."""
    section = README.split("\n## Quick start", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S).group(1)
    return [line.split("  #")[0].strip() for line in block.splitlines() if line.strip()]


def on_host(
    command: str, timeout: float = 900, cwd: str = CLONE_DIR
) -> subprocess.CompletedProcess:
    """A login shell on the machine, as its owner would type the command."""
    return subprocess.run(
        ["docker", "exec", "-w", cwd, HOST, "bash", "-lc", command],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def ok(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 0, f"{done.args[-1]!r}: {done.stdout[-3000:]}{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def machine(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("quickstart")
    ok(
        subprocess.run(
            [
                "python3",
                str(REPO / "tests/testbed/testbed.py"),
                "host",
                "up",
                HOST,
                "--ssh-port",
                str(SSH_PORT),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
    )
    try:
        # This machine's pip settings (a CA bundle for its TLS proxy), as any machine has its own.
        for path in ("/etc/pip.conf", "/etc/ssl/certs/ca-certificates.crt"):
            if Path(path).exists():
                subprocess.run(["docker", "cp", path, f"{HOST}:{path}"], check=True)
        # The README's Prerequisites: Python 3.11 with venv, GNU make, git (Docker is there).
        ok(
            on_host(
                "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "
                "python3-venv make git >/dev/null",
                cwd="/root",
            )
        )
        # The commit under test (working-tree changes to tracked files included), as the
        # `main` of a bundle the clone command reads instead of the repository's URL.
        sha = git("stash", "create") or git("rev-parse", "HEAD")
        bare = tmp / "origin.git"
        git("init", "-q", "--bare", str(bare))
        git("push", "-q", str(bare), f"{sha}:refs/heads/main")
        bundle = tmp / "tasc-staging-ops.bundle"  # `git clone` names the directory after it
        git("--git-dir", str(bare), "symbolic-ref", "HEAD", "refs/heads/main")
        git("--git-dir", str(bare), "bundle", "create", str(bundle), "HEAD", "main")
        subprocess.run(["docker", "cp", str(bundle), f"{HOST}:/root/{bundle.name}"], check=True)
        yield
    finally:
        testbed_down = ["python3", str(REPO / "tests/testbed/testbed.py"), "host", "down", HOST]
        subprocess.run(testbed_down, capture_output=True, check=False)


@pytest.fixture(scope="module")
def deployed(machine):
    commands = quick_start()
    clone, deploy = commands[0], commands[1]
    url = re.search(r"git clone (\S+)", clone).group(1)
    # The bundle stands in for the repository URL; the rest of the line runs as written.
    ok(on_host(clone.replace(url, "/root/tasc-staging-ops.bundle"), cwd="/root"))
    assert deploy == "make deploy"
    offline = 'make deploy DEPLOY_ARGS="-e mailpit_image=tasc-testbed/mailpit-double:v1.30.5"'
    assert offline in " ".join(README.split()), "the README documents the offline variant"
    started = time.monotonic()
    done = on_host(offline, timeout=1500)
    return ok(done), time.monotonic() - started


def test_the_quick_start_is_clone_then_the_two_commands():
    commands = quick_start()
    assert len(commands) == 3 and commands[0].startswith("git clone ")
    assert commands[1:] == ["make deploy", "make test"]
    ci = (REPO / ".ci" / "run").read_text()
    assert re.search(r"^make test$", ci, re.M), ".ci/run must run the README's test command"


def test_the_deploy_prints_urls_that_answer(deployed):
    out, _ = deployed
    app = re.search(r"App:\s+(http://[^\s']+)", out).group(1)
    mailpit = re.search(r"Mailpit:\s+(http://[^\s']+)", out).group(1)
    for url in (app, mailpit, app.replace("/login/", "/healthz")):
        code = on_host(f"curl -s -o /dev/null -w '%{{http_code}}' {shlex.quote(url)}").stdout
        assert code == "200", f"{url} answered {code}"


def test_a_newcomer_reads_the_otp_mail_in_mailpit_and_logs_in(deployed):
    email = "learner1@test.com"
    asked = on_host(
        "curl -s -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' "
        f"-d '{json.dumps({'email': email})}' http://127.0.0.1:8000/api/auth/otp/request"
    ).stdout
    assert asked == "202"
    code = None
    for _ in range(30):
        mail = on_host(
            "curl -sf 'http://127.0.0.1:8025/view/latest.txt?query=to%3Alearner1%40test.com'"
        ).stdout
        found = re.search(r"\b(\d{6})\b", mail)
        if found:
            code = found.group(1)
            break
        time.sleep(1)
    assert code, "no login code arrived in Mailpit"
    login = on_host(
        "curl -s -H 'Content-Type: application/json' "
        f"-d '{json.dumps({'email': email, 'code': code})}' http://127.0.0.1:8000/api/auth/otp/verify"
    ).stdout
    assert json.loads(login)["email"] == email


def test_make_doctor_is_green_on_the_new_machine(deployed):
    out = ok(on_host("make doctor", timeout=300))
    marks = re.findall(r"\[( OK |TODO|FAIL)\] ([a-z0-9 ]+):", out)
    assert marks and {mark for mark, _ in marks} == {" OK "}, out[-2500:]
