"""Each class of operating-system failure, caused for real, is one line and its documented
exit code (README "Exit codes"), never exit 1: a full disk (a 256 KiB tmpfs), a read-only
file system, permission denied (root without its override capabilities), a name too long, a file where a directory
should be. Mount-based cases need root and skip, saying so, where mounting is not allowed."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import mreg


# As a user whom permissions bind: root without the capabilities that override file modes
# (setpriv drops them from the bounding set; the interpreter's own files stay readable).
UNPRIVILEGED = ["setpriv", "--bounding-set=-dac_override,-dac_read_search,-fowner"]


def _mreg(*args: str, unprivileged: bool = False, cwd: Path | None = None) -> subprocess.CompletedProcess:
    command = [*(UNPRIVILEGED if unprivileged else []), sys.executable, "-m", "mreg", *args]
    env = {**os.environ, "MREG_CACHE_DIR": "/tmp/mreg-os-errors-cache"}
    return subprocess.run(command, capture_output=True, text=True, timeout=120, cwd=cwd, env=env)


def _one_line(done: subprocess.CompletedProcess, code: int, words: str) -> None:
    assert done.returncode == code, done.stderr
    assert len(done.stderr.splitlines()) == 1, done.stderr
    assert done.stderr.startswith("error: ") and words in done.stderr, done.stderr
    assert "Traceback" not in done.stderr and "unexpected" not in done.stderr


@pytest.fixture
def tiny_mount(tmp_path):
    """A 256 KiB tmpfs, unmounted afterwards."""
    point = tmp_path / "mnt"
    point.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(point)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root and permission to mount a tmpfs")
    yield point
    subprocess.run(["umount", "-l", str(point)], check=False)


def test_a_full_disk_is_exit_7_naming_what_was_being_written(tiny_mount, tmp_path):
    registry = tiny_mount / "registry"
    mreg.init(str(registry)).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    before = sorted(p.relative_to(registry) for p in registry.rglob("*") if ".tmp" not in p.parts)
    done = _mreg("-r", str(registry), "register", "M@v1", "-a", str(big))
    _one_line(done, 7, "no space left on device while writing")
    assert sorted(p.relative_to(registry) for p in registry.rglob("*") if ".tmp" not in p.parts) == before
    leftovers = [p.name for p in (registry / ".tmp").rglob("*") if p.is_file() and p.suffix != ".lock"]
    assert leftovers == []  # the partial blob and the gc marker removed (the head's lock file stays)


def test_a_full_disk_under_pull_is_exit_7(tiny_mount, tmp_path):
    registry = tmp_path / "registry"
    mreg.init(str(registry)).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    big = tmp_path / "big.bin"
    big.write_bytes(os.urandom(1 << 20))
    mreg.open(str(registry)).register("M@v1", artifact_sources=[str(big)])
    _one_line(_mreg("-r", str(registry), "pull", "M@v1", "-o", str(tiny_mount / "out")), 7,
              "no space left on device while writing")


def test_a_read_only_file_system_is_exit_7(tiny_mount, tmp_path):
    registry = tiny_mount / "registry"
    mreg.init(str(registry)).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    subprocess.run(["mount", "-o", "remount,ro", str(tiny_mount)], check=True)
    (tmp_path / "w.bin").write_bytes(b"w")
    _one_line(_mreg("-r", str(registry), "register", "M@v1", "-a", str(tmp_path / "w.bin")), 7, "read-only file system")
    assert _mreg("-r", str(registry), "models").returncode == 0  # reading still works


@pytest.fixture
def unprivileged_registry(tmp_path):
    """A registry its files' modes say may be read but not written."""
    if os.geteuid() != 0 or shutil.which("setpriv") is None:
        pytest.skip("needs root and setpriv to drop the capabilities that override file modes")
    tmp_path.chmod(0o755)
    registry = tmp_path / "registry"
    created = mreg.init(str(registry))
    created.add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    (tmp_path / "w.bin").write_bytes(b"w")
    created.register("M@v1", artifact_sources=[str(tmp_path / "w.bin")])
    for path in [registry, *registry.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    return registry


def test_permission_denied_writing_is_exit_7(unprivileged_registry, tmp_path):
    done = _mreg("-r", str(unprivileged_registry), "promote", "M@v1", "--to", "experimentation", unprivileged=True)
    _one_line(done, 7, "permission denied while")


def test_permission_denied_reading_is_exit_7(unprivileged_registry):
    (unprivileged_registry / "models/M/versions/v1.yaml").chmod(0o000)
    _one_line(_mreg("-r", str(unprivileged_registry), "show", "M@v1", unprivileged=True), 7, "permission denied while")


def test_permission_denied_on_the_pull_directory_is_exit_7(unprivileged_registry, tmp_path):
    out = tmp_path / "locked"
    out.mkdir(mode=0o555)
    _one_line(_mreg("-r", str(unprivileged_registry), "pull", "M@v1", "-o", str(out), unprivileged=True), 7,
              "permission denied while")


def test_a_name_too_long_is_exit_2(tmp_path):
    registry = tmp_path / "registry"
    mreg.init(str(registry)).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    _one_line(_mreg("-r", str(registry), "register", "M@v1", "-f", str(tmp_path / ("x" * 300))), 2, "file name too long")


def test_init_under_a_file_is_exit_2(tmp_path):
    (tmp_path / "file").write_text("x")
    _one_line(_mreg("init", str(tmp_path / "file" / "registry")), 2, "not a directory")


def test_an_unreachable_s3_endpoint_for_an_external_artifact_is_exit_7(tmp_path, monkeypatch):
    pytest.importorskip("s3fs")
    registry = tmp_path / "registry"
    mreg.init(str(registry)).add_model(mreg.manifest.ModelSpec(id="M", name="m"))
    for name, value in {"AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "y",
                        "AWS_ENDPOINT_URL": "http://127.0.0.1:9"}.items():
        monkeypatch.setenv(name, value)
    _one_line(_mreg("-r", str(registry), "register", "M@v1", "-a", "s3://bucket/key.bin"), 7, "cannot reach")


def test_the_funnel_maps_an_unnamed_os_error(monkeypatch, tmp_path):
    """An OSError no layer named (here from listing a folder) is still one line and 7, not 1."""
    import errno

    from typer.testing import CliRunner

    from mreg.cli import app
    from mreg.store import local

    registry = tmp_path / "registry"
    mreg.init(str(registry))

    def broken(*args, **kwargs):
        raise OSError(errno.EIO, "Input/output error")

    for method in ("listing", "folders"):  # EIO cannot be caused on demand
        monkeypatch.setattr(local.LocalStorage, method, broken)
    result = CliRunner().invoke(app, ["--registry", str(registry), "models"])
    assert result.exit_code == 7 and result.stderr.strip() == "error: input/output error while accessing"


