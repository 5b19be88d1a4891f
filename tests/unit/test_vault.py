"""The example vault opens with the documented example password, and the README's rotation
(`ansible-vault rekey`) leaves a vault only the new password opens."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml
from conftest import REPO, ansible_env

VAULT = REPO / "inventories" / "droplet" / "group_vars" / "staging" / "vault.yml"
EXAMPLE_PASSWORD = REPO / "inventories" / "droplet" / "vault-password.example"
DOCUMENTED = ("vault_django_secret_key", "vault_postgres_password", "vault_mailpit_ui_password")


def vault(*args: str) -> subprocess.CompletedProcess[str]:
    env = ansible_env()
    env.pop("ANSIBLE_VAULT_PASSWORD_FILE")
    return subprocess.run(
        [str(REPO / ".venv" / "bin" / "ansible-vault"), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_example_vault_is_encrypted_and_the_readme_names_its_password():
    assert VAULT.read_text().startswith("$ANSIBLE_VAULT;1.1;AES256")
    password = EXAMPLE_PASSWORD.read_text().strip()
    assert password in (REPO / "README.md").read_text()


def test_the_example_password_opens_it_with_every_documented_variable():
    opened = vault("view", "--vault-password-file", str(EXAMPLE_PASSWORD), str(VAULT))
    assert opened.returncode == 0, opened.stderr
    assert set(yaml.safe_load(opened.stdout)) == set(DOCUMENTED)
    readme = (REPO / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in DOCUMENTED)


def test_rekey_as_documented_leaves_a_vault_only_the_new_password_opens(tmp_path: Path):
    copy = tmp_path / "vault.yml"
    shutil.copy(VAULT, copy)
    new = tmp_path / "new-password"
    new.write_text("a-new-team-password-for-the-test\n")
    rekeyed = vault(
        "rekey",
        "--vault-password-file",
        str(EXAMPLE_PASSWORD),
        "--new-vault-password-file",
        str(new),
        str(copy),
    )
    assert rekeyed.returncode == 0, rekeyed.stderr
    assert vault("view", "--vault-password-file", str(new), str(copy)).returncode == 0
    old = vault("view", "--vault-password-file", str(EXAMPLE_PASSWORD), str(copy))
    assert old.returncode != 0 and "Decryption failed" in old.stderr
    assert (
        "ansible-vault rekey inventories/droplet/group_vars/staging/vault.yml"
        in (REPO / "README.md").read_text()
    )
