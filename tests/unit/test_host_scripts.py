"""The host-side scripts on their own: tasc-lock, and tasc-nightly-reset's records and refusals.

They run here as they run on a host (real processes, a real lock directory, a real HTTP
listener for the webhook); steps that need the app stack are covered on the droplet test host
(molecule/nightly).
"""

from __future__ import annotations

import http.server
import json
import subprocess
import threading
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LOCK = REPO / "roles" / "deploy_lock" / "files" / "tasc-lock"
RESET = REPO / "roles" / "nightly_reset" / "files" / "tasc-nightly-reset"


def lock(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LOCK), *args], capture_output=True, text=True, check=False)


def test_a_held_lock_fails_fast_with_exit_3_naming_the_holder(tmp_path):
    first = lock("acquire", "--dir", str(tmp_path), "--holder", "Deploy (alice@laptop)")
    assert first.returncode == 0, first.stderr
    second = lock("acquire", "--dir", str(tmp_path), "--holder", "nightly reset")
    assert second.returncode == 3
    assert "locked by Deploy (alice@laptop) since" in second.stderr
    # The error never hands out the token that would release someone else's lock.
    assert json.loads(first.stdout)["token"] not in second.stderr


def test_a_lock_whose_process_is_gone_is_taken_over(tmp_path):
    dead = subprocess.Popen(["true"])
    dead.wait()
    held = lock("acquire", "--dir", str(tmp_path), "--holder", "killed", "--pid", str(dead.pid))
    assert held.returncode == 0
    taken = lock("acquire", "--dir", str(tmp_path), "--holder", "next run")
    assert taken.returncode == 0, taken.stderr
    assert "taking over a stale lock" in taken.stderr


def test_only_the_token_releases_the_lock(tmp_path):
    token = json.loads(lock("acquire", "--dir", str(tmp_path), "--holder", "a").stdout)["token"]
    assert json.loads(lock("release", "--dir", str(tmp_path), "--token", "wrong").stdout) == {
        "released": False
    }
    assert json.loads(lock("status", "--dir", str(tmp_path)).stdout)["held"] is True
    lock("release", "--dir", str(tmp_path), "--token", token)
    assert json.loads(lock("status", "--dir", str(tmp_path)).stdout) == {"held": False}


# ------------------------------------------------------------------------- tasc-nightly-reset


@pytest.fixture
def webhook():
    """A real HTTP listener that keeps what is POSTed to it."""
    received: list[dict] = []

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def settings(tmp_path: Path, **overrides) -> Path:
    config = {
        "environment": "staging",
        "host": "unit-test",
        "project_dir": str(tmp_path / "no-app-here"),
        "compose_project": "tasc_unit_test_nothing_runs",
        "compose_files": ["docker-compose.staging.yml"],
        "lock": {"script": str(LOCK), "dir": str(tmp_path / "lock"), "ttl": 60},
        "backup": {"script": "/nonexistent/tasc-pg-backup", "dir": str(tmp_path / "backups")},
        "seed": {"flags": ["--with-catalogue"], "expected_cohorts": {}},
        "mail": {"purge_older_than": ""},
        "notify_webhook_url": "",
        "deploy_log": str(tmp_path / "deploy.log"),
        "state_file": str(tmp_path / "state" / "nightly-reset.json"),
        "max_age_hours": 26,
        "timer_unit": "tasc-unit-test-nothing.timer",
    }
    config.update(overrides)
    path = tmp_path / "nightly-reset.json"
    path.write_text(json.dumps(config))
    return path


def reset(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(RESET), *args], capture_output=True, text=True, check=False, timeout=120
    )


def test_production_is_refused_and_nothing_is_recorded(tmp_path):
    config = settings(tmp_path, environment="production")
    done = reset("run", "--config", str(config))
    assert done.returncode == 2
    assert "production never runs a seeder" in done.stderr
    assert not (tmp_path / "deploy.log").exists()
    assert not (tmp_path / "lock" / "stack.lock").exists()


def test_a_stopped_app_fails_before_the_backup_and_is_recorded_and_reported(tmp_path, webhook):
    url, received = webhook
    config = settings(tmp_path, notify_webhook_url=url)
    done = reset("run", "--config", str(config), "--trigger", "timer")
    assert done.returncode == 1
    assert "FAILED at step preflight" in done.stderr
    assert "is not running" in done.stderr
    line = json.loads((tmp_path / "deploy.log").read_text().splitlines()[-1])
    assert (line["action"], line["result"], line["failed_step"]) == (
        "nightly_reset",
        "failed",
        "preflight",
    )
    assert line["backup"] == ""
    # The lock was given back, and the failure reached the webhook.
    assert not (tmp_path / "lock" / "stack.lock").exists()
    assert received and received[0]["reset"]["failed_step"] == "preflight"
    assert "FAILED" in received[0]["text"]
    status = reset("status", "--config", str(config), "--json")
    assert status.returncode == 1
    report = json.loads(status.stdout)
    assert report["last_failure"] == line["when"] and report["last_success"] is None


def test_a_held_lock_fails_the_run_with_exit_3(tmp_path):
    config = settings(tmp_path)
    lock("acquire", "--dir", str(tmp_path / "lock"), "--holder", "Deploy (bob@ops)")
    done = reset("run", "--config", str(config))
    assert done.returncode == 3
    assert "locked by Deploy (bob@ops)" in done.stderr
    assert json.loads((tmp_path / "deploy.log").read_text())["failed_step"] == "lock"


def test_bad_settings_are_refused_with_the_reason(tmp_path):
    missing = reset("run", "--config", str(tmp_path / "absent.json"))
    assert missing.returncode == 2 and "schedule_nightly_reset.yml" in missing.stderr
    bad_age = settings(tmp_path, mail={"purge_older_than": "a week"})
    done = reset("run", "--config", str(bad_age))
    assert done.returncode == 2 and "12h or 7d" in done.stderr
