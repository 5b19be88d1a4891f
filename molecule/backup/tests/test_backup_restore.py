"""Backups that restore, and restores that never surprise: on a droplet, seeded reference app."""

from __future__ import annotations

import hashlib
import json
import re
import shlex
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tests"))
from conftest import run_playbook  # noqa: E402

testinfra_hosts = ["ansible://tasc_app"]
INVENTORY = str(REPO / "tests" / "inventory" / "droplet")
NAME = re.compile(r"^[a-z]+_[A-Za-z0-9_]+_\d{8}T\d{6}Z(-\d+)?_[0-9a-z]+_[a-z]+\.(dump|sql\.gz)$")


@pytest.fixture(scope="module")
def cfg(host):
    v = host.ansible.get_variables()
    return {
        "dir": v["tasc_backup_dir"],
        "app": v["tasc_app_dir"],
        "project": v["tasc_compose_project"],
        "files": v["tasc_compose_files"],
        "env": v["tasc_environment"],
        # The inventory's own values (testinfra does not template "{{ tasc_bin_dir }}/...").
        "backup": f"{v['tasc_bin_dir']}/tasc-pg-backup",
        "restore": f"{v['tasc_bin_dir']}/tasc-pg-restore",
    }


def sh(host, command: str) -> str:
    with host.sudo():
        return host.check_output(command)


def listing(host, cfg) -> list[str]:
    return sorted(sh(host, f"ls -A {cfg['dir']}").split())


def verified(host, cfg) -> list[str]:
    return sh(host, f"{cfg['backup']} list --dir {cfg['dir']}").split()


def compose(cfg) -> str:
    files = " ".join(f"-f {f}" for f in cfg["files"])
    return f"cd {cfg['app']} && docker compose -p {cfg['project']} {files}"


def psql(host, cfg, sql: str) -> str:
    return sh(host, f"{compose(cfg)} exec -T db psql -U tasc -d tasc_lms -tAc {shlex.quote(sql)}")


def common_args(cfg) -> str:
    files = " ".join(f"--compose-file {f}" for f in cfg["files"])
    return f"--project-dir {cfg['app']} --project {cfg['project']} --service db {files}"


def backup_now(host, cfg, *extra: str) -> dict:
    out = sh(
        host,
        f"{cfg['backup']} backup --dir {cfg['dir']} --env {cfg['env']} "
        f"--reason manual --sha test {common_args(cfg)} {' '.join(extra)}",
    )
    return json.loads(out.strip().splitlines()[-1])


def playbook(name: str, *args: str):
    return run_playbook(f"playbooks/{name}", "-i", INVENTORY, *args)


@pytest.fixture
def db_in_container(host, cfg):
    """docker exec into the database container, for fault injection."""
    container = sh(host, f"{compose(cfg)} ps -q db").strip()
    assert container, "the db container should be running"

    def run(command: str) -> str:
        return sh(host, f"docker exec {container} sh -c {shlex.quote(command)}")

    return run


# ----------------------------------------------------------------------- the happy path


def test_converge_published_one_verified_backup(host, cfg):
    files = verified(host, cfg)
    assert files, "converge should have published a backup"
    assert all(NAME.match(Path(f).name) for f in files)


def test_restore_playbook_drill_passes(host, cfg):
    result = playbook("restore.yml")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Drill a restore" in result.stdout or "scratch database" in result.stdout


def test_backup_then_drill_gives_equal_row_counts_for_every_table(host, cfg):
    published = backup_now(host, cfg)
    out = sh(
        host, f"{cfg['restore']} drill --file {published['path']} --compare-live {common_args(cfg)}"
    )
    report = json.loads(out.strip().splitlines()[-1])
    assert report["mismatched_tables"] == 0
    assert report["drill"] == report["live"]
    assert report["drill"]["public.accounts_user"] == 77
    assert report["drill"]["public.catalogue_certificate"] > 0
    databases = psql(host, cfg, "SELECT datname FROM pg_database").split()
    assert not [d for d in databases if "_drill_" in d], "the scratch database must be dropped"


def test_two_backups_in_the_same_second_do_not_overwrite(host, cfg):
    first, second = backup_now(host, cfg), backup_now(host, cfg)
    assert first["path"] != second["path"]
    assert sh(host, f"test -f {first['path']} && test -f {second['path']} && echo both") == "both"


def test_file_and_directory_modes(host, cfg):
    with host.sudo():
        assert host.file(cfg["dir"]).mode == 0o700
        for path in verified(host, cfg):
            assert host.file(path).mode == 0o600
            assert host.file(path + ".sha256").mode == 0o600


def test_sidecar_matches_the_dump(host, cfg):
    newest = verified(host, cfg)[0]
    assert sh(host, f"cd {cfg['dir']} && sha256sum -c {Path(newest).name}.sha256").endswith("OK")


def test_plain_format_for_the_guides_backup_sql_habit(host, cfg):
    published = backup_now(host, cfg, "--format plain")
    assert published["path"].endswith(".sql.gz")
    # (pg_dump 15.14+ ends plain dumps with an \\unrestrict line after the completion marker)
    assert "PostgreSQL database dump complete" in sh(host, f"zcat {published['path']} | tail -n 5")


# -------------------------------------------------------------------------- retention


@pytest.fixture
def mixed_directory(host, cfg):
    """Old verified backups, a stale partial, an unverified dump and a foreign file."""
    real = verified(host, cfg)[0]
    made = []
    for day in ("01", "02", "03", "04"):
        name = f"{cfg['env']}_tasc_lms_202001{day}T000000Z_abc123_nightly.dump"
        sh(
            host,
            f"cd {cfg['dir']} && cp {real} {name} && touch -d 2020-01-{day} {name} && "
            f"sha256sum {name} > {name}.sha256",
        )
        made.append(name)
    extras = {
        "stale.dump.partial": "partial",
        f"{cfg['env']}_tasc_lms_20200105T000000Z_abc123_manual.dump": "unverified",
        "notes.txt": "foreign",
    }
    for name in extras:
        sh(host, f"cd {cfg['dir']} && echo x > {name} && chmod 600 {name}")
    return made, extras


def test_retention_dry_run_deletes_nothing(host, cfg, mixed_directory):
    before = listing(host, cfg)
    result = playbook(
        "backup.yml",
        "-e",
        "postgres_backup_keep_last=2",
        "-e",
        "postgres_backup_keep_days=0",
        "-e",
        "postgres_backup_prune_dry_run=true",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    after = listing(host, cfg)
    assert set(before) <= set(after)  # only the new backup was added


def test_retention_keeps_exactly_the_right_set(host, cfg, mixed_directory):
    old, extras = mixed_directory
    result = playbook(
        "backup.yml", "-e", "postgres_backup_keep_last=2", "-e", "postgres_backup_keep_days=0"
    )
    assert result.returncode == 0, result.stdout[-3000:]
    kept = verified(host, cfg)
    assert len(kept) == 2
    remaining = listing(host, cfg)
    for name in old:
        assert name not in remaining and f"{name}.sha256" not in remaining
    for name, kind in extras.items():
        if kind == "partial":
            assert name not in remaining  # a leftover of a killed run
        else:
            assert name in remaining  # unverified and foreign files are not ours to delete


def test_retention_never_deletes_the_newest_verified_backup(host, cfg):
    result = playbook(
        "backup.yml", "-e", "postgres_backup_keep_last=0", "-e", "postgres_backup_keep_days=1"
    )
    assert result.returncode == 0
    sh(host, f"touch -d 2020-01-01 {cfg['dir']}/*.dump")  # every backup now looks ancient
    out = sh(host, f"{cfg['backup']} prune --dir {cfg['dir']} --keep-days 1")
    assert len(json.loads(out)["kept"]) == 1
    assert len(verified(host, cfg)) == 1


# Failures (stopped database, full disk, bad dumps, killed pg_dump) are in the fault suite:
# tests/faults/test_backup_faults.py.


# ---------------------------------------------------------------------------- restores


def test_live_restore_without_confirmation_refuses_and_changes_nothing(host, cfg):
    before = listing(host, cfg)
    result = playbook("restore.yml", "-e", "postgres_restore_mode=live")
    assert result.returncode == 2
    assert "Confirm by naming it" in result.stdout
    assert listing(host, cfg) == before


def test_live_restore_naming_another_database_refuses_and_changes_nothing(host, cfg):
    before = listing(host, cfg)
    result = playbook(
        "restore.yml",
        "-e",
        "postgres_restore_mode=live",
        "-e",
        "postgres_restore_confirm=some_other_db",
    )
    assert result.returncode == 2
    assert "does not name the live database" in result.stdout
    assert listing(host, cfg) == before


def test_live_restore_brings_back_data_deleted_after_the_backup(host, cfg):
    backup = backup_now(host, cfg)
    certificates = int(psql(host, cfg, "SELECT count(*) FROM catalogue_certificate"))
    assert certificates > 0
    psql(host, cfg, "DELETE FROM catalogue_certificate")
    result = playbook(
        "restore.yml",
        "-e",
        "postgres_restore_mode=live",
        "-e",
        "postgres_restore_confirm=tasc_lms",
        "-e",
        f"postgres_restore_file={Path(backup['path']).name}",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert int(psql(host, cfg, "SELECT count(*) FROM catalogue_certificate")) == certificates
    assert "_prerestore.dump" in " ".join(verified(host, cfg))
    health = sh(host, "curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:8000/healthz")
    assert health == "200"


def test_copy_to_the_control_node_matches_the_published_backup(host, cfg, tmp_path):
    destination = tmp_path / "fetched"
    result = playbook("backup.yml", "-e", f"postgres_backup_fetch_dest={destination}")
    assert result.returncode == 0, result.stdout[-3000:]
    newest = Path(verified(host, cfg)[0])
    copied = destination / newest.name
    assert copied.exists() and (destination / f"{newest.name}.sha256").exists()
    remote_digest = sh(host, f"sha256sum {newest}").split()[0]
    assert hashlib.sha256(copied.read_bytes()).hexdigest() == remote_digest
