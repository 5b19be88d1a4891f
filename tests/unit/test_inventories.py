"""The two inventories, and the promise that the top-level group_vars/ really loads for both.

Ansible reads group_vars only next to an inventory or a playbook. Each inventory links its
group_vars/all to the shared group_vars/all; these tests prove the shared values arrive, that an
environment group overrides them, and that without the link they would silently be missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO, inventory_host_vars

SHARED = yaml.safe_load((REPO / "group_vars" / "all" / "main.yml").read_text())
INVENTORIES = {"local": "localhost", "droplet": "tasc-staging-1"}
ENVIRONMENT_GROUP = {"local": "development", "droplet": "staging"}


def env_group_vars(inventory: str) -> dict:
    folder = REPO / "inventories" / inventory / "group_vars" / ENVIRONMENT_GROUP[inventory]
    merged: dict = {}
    for path in sorted(folder.glob("*.yml")):
        if path.read_text().startswith("$ANSIBLE_VAULT"):
            continue  # ciphertext: vault.yml is checked through ansible-inventory instead
        merged.update(yaml.safe_load(path.read_text()) or {})
    return merged


@pytest.mark.parametrize("inventory", sorted(INVENTORIES))
def test_shared_group_vars_load(inventory):
    resolved = inventory_host_vars(REPO / "inventories" / inventory, INVENTORIES[inventory])
    not_overridden = {k: v for k, v in SHARED.items() if k not in env_group_vars(inventory)}
    assert not_overridden, "the shared file should hold values no environment overrides"
    for key, value in not_overridden.items():
        assert resolved[key] == value


@pytest.mark.parametrize("inventory", sorted(INVENTORIES))
def test_environment_group_overrides_shared(inventory):
    resolved = inventory_host_vars(REPO / "inventories" / inventory, INVENTORIES[inventory])
    overrides = env_group_vars(inventory)
    for key, value in overrides.items():
        if isinstance(value, str) and "{{" in value:
            continue  # templated: ansible-inventory shows it unrendered, compare below
        assert resolved[key] == value
    assert resolved["tasc_environment"] == overrides["tasc_environment"]


def test_local_override_of_a_shared_value_wins():
    shared_dir = SHARED["tasc_app_dir"]
    local = inventory_host_vars(REPO / "inventories" / "local", "localhost")
    assert local["tasc_app_dir"] != shared_dir
    assert local["tasc_app_dir"] == env_group_vars("local")["tasc_app_dir"]


def test_each_inventory_names_its_environment():
    seen = {
        inv: inventory_host_vars(REPO / "inventories" / inv, host)["tasc_environment"]
        for inv, host in INVENTORIES.items()
    }
    assert seen == {"local": "development", "droplet": "staging"}


def test_local_inventory_runs_on_this_machine():
    local = inventory_host_vars(REPO / "inventories" / "local", "localhost")
    assert local["ansible_connection"] == "local"


def test_droplet_inventory_uses_a_non_root_ssh_user():
    droplet = inventory_host_vars(REPO / "inventories" / "droplet", "tasc-staging-1")
    assert droplet.get("ansible_connection", "ssh") == "ssh"
    assert droplet["ansible_user"] not in ("", "root")
    assert "ansible_become_password" not in droplet


def test_without_the_link_shared_values_would_be_missing(tmp_path: Path):
    """The mechanism matters: a copy of the inventory without the link loses the shared vars."""
    copy = tmp_path / "droplet"
    shutil.copytree(REPO / "inventories" / "droplet", copy, symlinks=True)
    (copy / "group_vars" / "all").unlink()
    resolved = inventory_host_vars(copy, "tasc-staging-1")
    assert "tasc_app_name" not in resolved
    assert resolved["tasc_environment"] == "staging"


@pytest.mark.parametrize("inventory", sorted(INVENTORIES))
def test_group_vars_all_is_a_link_to_the_shared_folder(inventory):
    link = REPO / "inventories" / inventory / "group_vars" / "all"
    assert link.is_symlink()
    assert link.resolve() == (REPO / "group_vars" / "all").resolve()


def test_the_droplet_vault_opens_with_the_documented_example_password():
    droplet = inventory_host_vars(REPO / "inventories" / "droplet", "tasc-staging-1")
    for name in ("vault_django_secret_key", "vault_postgres_password", "vault_mailpit_ui_password"):
        assert droplet[name]
