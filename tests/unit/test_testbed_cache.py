"""The test bed rebuilds an image exactly when its inputs change."""

from __future__ import annotations

from pathlib import Path

import testbed


def write(path: Path, text: str, mode: int = 0o644) -> Path:
    path.write_text(text)
    path.chmod(mode)
    return path


def test_same_inputs_same_hash(tmp_path: Path):
    files = [write(tmp_path / "Dockerfile", "FROM x\n")]
    assert testbed.sha256_tree(files, "parent") == testbed.sha256_tree(files, "parent")


def test_content_change_changes_hash(tmp_path: Path):
    path = write(tmp_path / "Dockerfile", "FROM x\n")
    before = testbed.sha256_tree([path], "parent")
    write(path, "FROM y\n")
    assert testbed.sha256_tree([path], "parent") != before


def test_executable_bit_changes_hash(tmp_path: Path):
    path = write(tmp_path / "entrypoint.sh", "#!/bin/sh\n")
    before = testbed.sha256_tree([path], "parent")
    path.chmod(0o755)
    assert testbed.sha256_tree([path], "parent") != before


def test_parent_change_changes_hash(tmp_path: Path):
    files = [write(tmp_path / "Dockerfile", "FROM x\n")]
    assert testbed.sha256_tree(files, "a") != testbed.sha256_tree(files, "b")


def test_every_image_folder_is_built():
    folders = {p.name for p in (testbed.HERE / "images").iterdir() if p.is_dir()}
    assert folders == {image.name for image in testbed.images()}


def test_stand_ins_carry_the_real_tags_the_compose_files_name():
    aliases = {alias for image in testbed.images() for alias in image.aliases}
    assert aliases == {"python:3.11-slim-bookworm", "postgres:15-bookworm"}
