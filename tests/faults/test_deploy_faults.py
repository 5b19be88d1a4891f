"""The five-step deploy under faults: refuse early, or roll back to what was running before."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest
from faultbed import APP_DIR, flat, inventory_with_vault, record_data_check

pytestmark = pytest.mark.docker

DEPLOY = "playbooks/deploy_staging.yml"


def migration(name: str, body: str, atomic: bool = True):
    """A change that adds catalogue migration `name` with the given operations."""

    def change(tree: Path) -> None:
        migrations = tree / "catalogue" / "migrations"
        latest = sorted(p.stem for p in migrations.glob("0*.py"))[-1]
        (migrations / f"{name}.py").write_text(
            "from django.db import migrations, models\n\n\n"
            "def fail(apps, schema_editor):\n"
            "    raise RuntimeError('injected migration failure')\n\n\n"
            "class Migration(migrations.Migration):\n"
            f"    atomic = {atomic}\n"
            f"    dependencies = [('catalogue', '{latest}')]\n"
            f"    operations = [{body}]\n"
        )

    return change


def test_an_unreachable_git_remote_fails_before_any_change(healthy):
    before = healthy.snapshot()
    healthy.sh("mv /srv/git/tasc-lms.git /srv/git/moved-away.git")
    try:
        result = healthy.play(DEPLOY)
    finally:
        healthy.sh("mv /srv/git/moved-away.git /srv/git/tasc-lms.git")
    assert result.returncode == 2
    assert "failed at step pull" in flat(result.stdout)
    assert "/srv/git/tasc-lms.git" in flat(result.stdout)
    assert healthy.snapshot() == before  # no backup, same containers, same data, lock free


def test_a_dirty_working_tree_is_refused_with_the_fix(healthy):
    before = healthy.snapshot()
    healthy.sh(f"echo 'edited on the server' >> {APP_DIR}/README.md")
    try:
        result = healthy.play(DEPLOY)
    finally:
        healthy.sh(f"git -C {APP_DIR} checkout -- README.md")
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "has local changes to tracked files (README.md)" in out
    assert f"git -C {APP_DIR} stash" in out
    assert healthy.snapshot() == before


def test_a_failing_image_build_keeps_the_old_containers_serving(healthy, tmp_path):
    before = healthy.snapshot()
    migrations_before = healthy.psql("SELECT count(*) FROM django_migrations")
    previous = healthy.deployed_sha()

    def broken_build(tree: Path) -> None:
        with (tree / "Dockerfile").open("a") as dockerfile:
            dockerfile.write("RUN echo 'injected build failure' && exit 1\n")

    healthy.push(tmp_path, broken_build, "broken build")
    result = healthy.play(DEPLOY)
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "failed at step rebuild" in out and f"Rolled back: code to {previous[:12]}" in out
    assert healthy.containers() == before["containers"], "the serving containers were replaced"
    assert healthy.healthz() == 200
    assert healthy.psql("SELECT count(*) FROM django_migrations") == migrations_before
    assert healthy.deployed_sha() == previous
    record_data_check("deploy: image build fails", before["data"], healthy.fingerprint())


def test_a_migration_that_raises_is_rolled_back(healthy, tmp_path):
    before, schema = healthy.snapshot(), healthy.schema()
    previous = healthy.deployed_sha()
    healthy.push(tmp_path, migration("0900_fault_raises", "migrations.RunPython(fail)"), "raises")
    result = healthy.play(DEPLOY)
    assert result.returncode == 2
    assert "failed at step migrate" in flat(result.stdout)
    assert "injected migration failure" in flat(result.stdout)
    assert healthy.deployed_sha() == previous
    assert healthy.schema() == schema
    record_data_check("deploy: migration raises", before["data"], healthy.fingerprint())


def test_a_non_atomic_migration_failing_half_way_is_undone_by_the_predeploy_dump(healthy, tmp_path):
    before, schema = healthy.snapshot(), healthy.schema()
    half_way = (
        "migrations.CreateModel('FaultHalfWay', [('id', models.AutoField(primary_key=True))]), "
        "migrations.RunPython(fail)"
    )
    healthy.push(tmp_path, migration("0901_fault_half_way", half_way, atomic=False), "half way")
    result = healthy.play(DEPLOY)
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "failed at step migrate" in out and "database from /srv/tasc-lms-backups/" in out
    assert "catalogue_faulthalfway" not in healthy.psql(
        "SELECT string_agg(tablename, ',') FROM pg_tables WHERE schemaname = 'public'"
    )
    assert healthy.schema() == schema
    record_data_check("deploy: non-atomic migration", before["data"], healthy.fingerprint())


def test_a_web_container_that_never_turns_healthy_is_rolled_back(healthy, tmp_path):
    before = healthy.snapshot()
    previous = healthy.deployed_sha()

    def unhealthy(tree: Path) -> None:
        views = tree / "core" / "views.py"
        text = views.read_text()
        ok = 'return JsonResponse({"status": "ok", "environment": settings.DJANGO_ENV})'
        assert ok in text
        views.write_text(text.replace(ok, 'return JsonResponse({"status": "broken"}, status=500)'))

    healthy.push(tmp_path, unhealthy, "never healthy")
    result = healthy.play(DEPLOY, "-e", "app_compose_wait_timeout=40")
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "failed at step rebuild" in out and f"Rolled back: code to {previous[:12]}" in out
    assert healthy.deployed_sha() == previous
    healthy.wait_healthy()
    assert healthy.healthz() == 200
    record_data_check("deploy: never healthy", before["data"], healthy.fingerprint())


def test_a_control_node_killed_mid_deploy_converges_on_the_next_run(healthy, tmp_path):
    sha = healthy.push(tmp_path, message="a good change")
    run = healthy.start(DEPLOY)
    seen = []
    for line in run.stdout:
        seen.append(line)
        if "TASK [app_compose : " in line:  # step 3: the rebuild has started
            break
    os.killpg(run.pid, signal.SIGKILL)
    run.wait(timeout=60)
    assert run.returncode == -signal.SIGKILL, "".join(seen)[-2000:]
    assert healthy.lock().get("held"), "the killed deploy should have left its lock"

    result = healthy.play(DEPLOY)
    assert result.returncode == 0, result.stdout[-3000:]
    assert healthy.deployed_sha().startswith(sha[:12])
    assert not healthy.lock().get("held")
    assert healthy.healthz() == 200


def test_an_unreachable_target_host_exits_4_and_changes_nothing(healthy):
    before = healthy.snapshot()
    result = healthy.play(DEPLOY, "-e", "ansible_port=1")
    assert result.returncode == 4
    assert "UNREACHABLE" in result.stdout
    assert healthy.snapshot() == before


def test_a_missing_vault_variable_fails_in_preflight_naming_it(healthy, tmp_path):
    inventory = inventory_with_vault(tmp_path, {"vault_django_secret_key": "only-this-one-is-set"})
    before = healthy.snapshot()
    result = healthy.play(DEPLOY, inventory=inventory)
    assert result.returncode == 2
    out = flat(result.stdout)
    assert "Missing required variables on tasc-staging-1: vault_postgres_password" in out
    assert "only-this-one-is-set" not in result.stdout
    assert healthy.snapshot() == before


def test_rollback_with_no_previous_release_refuses(healthy):
    before = healthy.snapshot()
    healthy.sh("mv /var/lib/tasc/release.json /var/lib/tasc/release.json.away")
    try:
        result = healthy.play("playbooks/rollback.yml")
    finally:
        healthy.sh("mv /var/lib/tasc/release.json.away /var/lib/tasc/release.json")
    assert result.returncode == 2
    assert "There is no previous release on tasc-staging-1 to roll back to" in flat(result.stdout)
    assert healthy.snapshot() == before
