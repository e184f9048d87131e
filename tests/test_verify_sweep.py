"""A byte-flip, truncation and deletion sweep over every file of a copy of registry-example:
``verify --deep`` must exit 5 for each, naming something (stdout or its one stderr line).

Every class is caught: manifests and events by their seals and the chain, model.yaml by the
digest its model events record, the newest event's deletion by the head record, head.yaml by
the event it names, mreg.yaml by its seal, blobs by their names (evidence blobs too).
Deleting mreg.yaml leaves no registry: exit 3."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mreg.cli import app

from conftest import EXAMPLE

FILES = sorted(p.relative_to(EXAMPLE).as_posix() for p in EXAMPLE.rglob("*")
               if p.is_file() and not {".cache", ".tmp"} & set(p.relative_to(EXAMPLE).parts))
MUTATIONS = ("flip", "truncate", "delete")
UNREFERENCED_OK = {".gitignore"}  # not registry content: a change there is nobody's business


def _mutate(root: Path, path: str, mutation: str) -> None:
    target = root / path
    data = target.read_bytes()
    if mutation == "delete":
        target.unlink()
    elif mutation == "truncate":
        target.write_bytes(data[: len(data) // 2])
    else:
        middle = len(data) // 2
        target.write_bytes(data[:middle] + bytes([data[middle] ^ 0x01]) + data[middle + 1:])


def _params():
    for path in FILES:
        if path in UNREFERENCED_OK:
            continue
        for mutation in MUTATIONS:
            yield pytest.param(path, mutation, id=f"{mutation}-{path}")


@pytest.fixture(scope="module")
def pristine(tmp_path_factory) -> Path:
    copy = tmp_path_factory.mktemp("sweep") / "registry"
    shutil.copytree(EXAMPLE, copy, ignore=shutil.ignore_patterns(".cache", ".tmp"))
    return copy


@pytest.mark.slow
@pytest.mark.parametrize(("path", "mutation"), list(_params()))
def test_verify_deep_detects_every_flip_truncation_and_deletion(pristine, tmp_path, path, mutation):
    copy = tmp_path / "registry"
    shutil.copytree(pristine, copy)
    _mutate(copy, path, mutation)
    result = CliRunner().invoke(app, ["--registry", str(copy), "verify", "--deep"])
    expected = 3 if (path, mutation) == ("mreg.yaml", "delete") else 5  # no registry there any more
    assert result.exit_code == expected, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
